"""Platform identities: the verbs. A person's identities are read with the person's reach and written with
write reach over the person (a member of staff records their own; a coordinator or the CRM anyone's)."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import crud
from api.audit import service as audit
from api.auth.reach import Reach
from api.common import Page, PageParams
from api.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.identities import normalise
from api.identities.models import IdentityCreate, PlatformIdentity
from api.participants.models import Participant
from api.problems import ProblemCode
from api.staff.models import Staff

# What the audit log says of an identity: whose, which kind, on which platform; never the handle itself.
_AUDITED = ("staff_id", "participant_id", "platform", "kind", "ended_on")


def _readable(reach: Reach) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(col(PlatformIdentity.staff_id).is_not(None), reach.staff(PlatformIdentity.staff_id)),
        sa.and_(
            col(PlatformIdentity.participant_id).is_not(None),
            reach.participants(PlatformIdentity.participant_id),
        ),
    )


def _writable(
    session: Session, reach: Reach, staff_id: uuid.UUID | None, participant_id: uuid.UUID | None
) -> bool:
    if staff_id is not None:
        return reach.writes_staff_record(staff_id)
    assert participant_id is not None
    return reach.holds(session, reach.participant_writes, participant_id)


def list_(
    *,
    session: Session,
    reach: Reach,
    paging: PageParams,
    staff_id: uuid.UUID | None = None,
    participant_id: uuid.UUID | None = None,
    current: bool | None = None,
) -> Page[PlatformIdentity]:
    """The identities of the people the caller may read, by creation then id."""
    query = select(PlatformIdentity).where(_readable(reach))
    if staff_id is not None:
        query = query.where(PlatformIdentity.staff_id == staff_id)
    if participant_id is not None:
        query = query.where(PlatformIdentity.participant_id == participant_id)
    if current is True:
        query = query.where(col(PlatformIdentity.ended_on).is_(None))
    elif current is False:
        query = query.where(col(PlatformIdentity.ended_on).is_not(None))
    query = query.order_by(col(PlatformIdentity.created_at), col(PlatformIdentity.id))
    return crud.paged(session, query, paging)


def get_writable(*, session: Session, reach: Reach, identity_id: uuid.UUID) -> PlatformIdentity:
    """One identity the caller may change, or 404 (the same whether it exists or is out of reach)."""
    identity = session.get(PlatformIdentity, identity_id)
    if identity is None or not _writable(session, reach, identity.staff_id, identity.participant_id):
        raise NotFound(f"No identity with id {identity_id}")
    return identity


def _person_field(data: IdentityCreate) -> tuple[str, uuid.UUID]:
    if data.staff_id is not None:
        return "staff_id", data.staff_id
    assert data.participant_id is not None
    return "participant_id", data.participant_id


def check_person(*, session: Session, reach: Reach, field: str, person_id: uuid.UUID) -> None:
    """Whether the caller may record an identity on this person (`field` is `staff_id` or
    `participant_id`): a member of staff their own record only unless they manage staff, a young person
    within their write reach. Also the rule for a roster entry resolved as `identified`, which records one.

    Errors: 422 naming `field` for a person unknown or out of the caller's reach (said alike); 403
    `not_your_record` for one they may read but not change, saying whom to ask."""
    exists = (
        session.get(Staff, person_id) if field == "staff_id" else session.get(Participant, person_id)
    ) is not None
    staff_id = person_id if field == "staff_id" else None
    if not exists or not _writable(session, reach, staff_id, None if staff_id else person_id):
        readable = exists and (
            reach.holds(session, reach.staff, person_id)
            if field == "staff_id"
            else reach.holds(session, reach.participants, person_id)
        )
        if readable:
            whose = "your own staff record" if field == "staff_id" else "young people you may change"
            raise Forbidden(
                f"You may not change this person's details ({field}): you record identities on {whose} "
                "only; ask a coordinator to record this one",
                code=ProblemCode.not_your_record,
            )
        raise Unprocessable.field(field, f"No {field.removesuffix('_id')} with id {person_id}")


def record(*, session: Session, reach: Reach, data: IdentityCreate, commit: bool = True) -> PlatformIdentity:
    """Record how a person appears on a platform.

    Errors: 422 naming `staff_id`/`participant_id` for a person unknown or out of the caller's reach; 403
    for one they may read but not change (`check_person`); 422 naming `value` for a value with nothing to
    match on; 409 (field `value`) when an open identity of another person already has the same match key."""
    field, person_id = _person_field(data)
    check_person(session=session, reach=reach, field=field, person_id=person_id)
    identity = PlatformIdentity(**data.model_dump(), match_key="")
    key = normalise.key(data.kind, data.value)
    if key is None:
        raise Unprocessable.field("value", f"Nothing to match on in this {data.kind}")
    identity.match_key = key
    clash = session.exec(
        select(PlatformIdentity).where(
            PlatformIdentity.match_key == key,
            PlatformIdentity.kind == data.kind,
            PlatformIdentity.platform == data.platform
            if data.platform is not None
            else col(PlatformIdentity.platform).is_(None),
            col(PlatformIdentity.ended_on).is_(None),
        )
    ).first()
    if clash is not None:
        raise Conflict(
            "This identity is already recorded for someone (end it there first)", extra={"field": "value"}
        )
    session.add(identity)
    audit.record(
        session,
        actor=reach.caller,
        action="identity.create",
        entity=identity,
        changes={k: {"before": None, "after": audit.snapshot(identity)[k]} for k in _AUDITED},
    )
    if commit:
        session.commit()
        session.refresh(identity)
    return identity


def end(
    *,
    session: Session,
    reach: Reach,
    identity: PlatformIdentity,
    ended_on: date,
    expected_version: int | None,
) -> PlatformIdentity:
    """End an identity from `ended_on` (409 if it has already ended)."""
    if identity.ended_on is not None:
        raise Conflict(f"This identity already ended on {identity.ended_on}", extra={"field": "ended_on"})
    before = audit.snapshot(identity)
    identity.ended_on = ended_on
    return crud.save(
        session,
        identity,
        actor=reach.caller,
        action="identity.end",
        before=before,
        expected_version=expected_version,
    )
