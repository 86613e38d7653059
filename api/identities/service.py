"""Platform identities: the verbs. A person's identities are read with the person's reach and written with
write reach over the person (a member of staff records their own; a coordinator or the CRM anyone's).

An identity belongs to one person: a value is compared (by match key) with every verified identity and
every contact field on record (a member of staff's official and personal email and phone, a young person's
own and their carer's). A coordinator or the CRM (who may read everyone) is told of a clash: 409 naming the
field. A member of staff's own claim is stored *unverified* whether or not it clashes, and the answer is the
same either way, so the service tells nobody whether a handle, address or number belongs to someone they may
not read; an unverified identity matches no roster entry and is shown only to its claimant and to those who
verify it (the coordinators), who see the clash when they do (`verify`).
"""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import clock, crud
from api.audit import service as audit
from api.auth.reach import Reach, Record
from api.common import Page, PageParams
from api.db import utcnow
from api.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.identities import normalise
from api.identities.models import IdentityCreate, PlatformIdentity
from api.participants.models import Participant
from api.problems import ProblemCode
from api.staff.models import Staff

# What the audit log says of an identity: whose, which kind, on which platform; never the handle itself.
_AUDITED = ("staff_id", "participant_id", "platform", "kind", "ended_on", "verified_at")


def verifies(reach: Reach) -> bool:
    """Whether the caller records identities as fact and verifies others' claims: one who reads and changes
    every person's record (a coordinator; the CRM's key, which writes only). Anyone else's claim waits."""
    return reach.writes_every(Record.staff) and reach.writes_every(Record.participant)


def _readable(reach: Reach) -> sa.ColumnElement[bool]:
    """The identities the caller may see: a person's with the person's own reach (a young person's only to
    those who may read the young person, `Record.participant`; a member of staff's to those who read the
    staff directory, `Record.staff`); an unverified claim only to its claimant and to those who verify it."""
    person = sa.or_(
        sa.and_(col(PlatformIdentity.staff_id).is_not(None), reach.staff(PlatformIdentity.staff_id)),
        sa.and_(
            col(PlatformIdentity.participant_id).is_not(None),
            reach.participants(PlatformIdentity.participant_id),
        ),
    )
    if verifies(reach):
        return person
    own = (
        col(PlatformIdentity.staff_id) == reach.caller.staff_id
        if reach.caller.staff_id is not None
        else sa.false()
    )
    return sa.and_(person, sa.or_(col(PlatformIdentity.verified_at).is_not(None), own))


def holders(
    session: Session, kind: normalise.IdentityKind, key: str, platform: object | None
) -> set[uuid.UUID]:
    """Everyone who holds the match key `key` of `kind` (the ids of members of staff and young people): a
    verified open identity of that kind (a handle on the same `platform`), and for an email or phone, every
    contact field on record, normalised as matching normalises it (`api.identities.normalise`). One query
    per kind of record; the contact fields are read whole because their keys are computed, not stored."""
    same_platform = _same_platform(platform)
    found: set[uuid.UUID] = set()
    for staff_id, participant_id in session.execute(
        sa.select(col(PlatformIdentity.staff_id), col(PlatformIdentity.participant_id)).where(
            col(PlatformIdentity.match_key) == key,
            col(PlatformIdentity.kind) == kind,
            same_platform,
            col(PlatformIdentity.ended_on).is_(None),
            col(PlatformIdentity.verified_at).is_not(None),
        )
    ):
        found.add(staff_id or participant_id)
    if kind is normalise.IdentityKind.handle:
        return found
    of = normalise.email_key if kind is normalise.IdentityKind.email else normalise.phone_key
    columns = (
        (col(Staff.email), col(Staff.personal_email))
        if kind is normalise.IdentityKind.email
        else (col(Staff.personal_phone),)
    )
    child_columns = (
        (col(Participant.personal_email), col(Participant.carer_email))
        if kind is normalise.IdentityKind.email
        else (col(Participant.personal_phone), col(Participant.carer_phone))
    )
    for model_id, fields in ((col(Staff.id), columns), (col(Participant.id), child_columns)):
        rows = session.execute(sa.select(model_id, *fields).where(sa.or_(*(f.is_not(None) for f in fields))))
        found.update(r[0] for r in rows if any(v and of(v) == key for v in r[1:]))
    return found


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
    """Record how a person appears on a platform: verified when a coordinator or the CRM records it, else
    (a member of staff's own) an unverified claim, answered alike whether or not it clashes.

    Errors: 422 naming `staff_id`/`participant_id` for a person unknown or out of the caller's reach; 403
    for one they may read but not change (`check_person`); 422 naming `value` for a value with nothing to
    match on; 409 (field `value`) when the person already has it open, or, for a caller who verifies, when
    someone else holds it (`holders`)."""
    field, person_id = _person_field(data)
    check_person(session=session, reach=reach, field=field, person_id=person_id)
    key = normalise.key(data.kind, data.value)
    if key is None:
        raise Unprocessable.field("value", f"Nothing to match on in this {data.kind}")
    identity = PlatformIdentity(**data.model_dump(), match_key=key)
    if own_open(session, identity) is not None:
        raise Conflict("This person already has this identity recorded", extra={"field": "value"})
    if verifies(reach):
        refuse_clash(session, identity)
    store(session, reach, identity)
    if commit:
        session.commit()
        session.refresh(identity)
    return identity


def own_open(session: Session, identity: PlatformIdentity) -> PlatformIdentity | None:
    """The identity's person's open identity with the same match key (verified or a claim), if any."""
    return session.exec(
        select(PlatformIdentity).where(
            PlatformIdentity.match_key == identity.match_key,
            PlatformIdentity.kind == identity.kind,
            _same_platform(identity.platform),
            col(PlatformIdentity.ended_on).is_(None),
            PlatformIdentity.staff_id == identity.staff_id
            if identity.staff_id is not None
            else PlatformIdentity.participant_id == identity.participant_id,
        )
    ).first()


def store(session: Session, reach: Reach, identity: PlatformIdentity) -> None:
    """Add a new identity, audited: verified when the caller verifies (who must have refused a clash
    first, `refuse_clash`), else an unverified claim, stored alike whether or not its value clashes (see the
    module's docstring). Not committed."""
    if verifies(reach):
        identity.verified_by_id = reach.caller.id
    else:
        identity.verified_at = None
    session.add(identity)
    audit.record(
        session,
        actor=reach.caller,
        action="identity.create",
        entity=identity,
        changes={k: {"before": None, "after": audit.snapshot(identity)[k]} for k in _AUDITED},
    )


def _same_platform(platform: object | None) -> sa.ColumnElement[bool]:
    if platform is None:
        return col(PlatformIdentity.platform).is_(None)
    return col(PlatformIdentity.platform) == platform


def refuse_clash(session: Session, identity: PlatformIdentity, field: str = "value") -> None:
    """409 naming `field` when anyone but the identity's person holds its match key."""
    person = identity.staff_id or identity.participant_id
    if holders(session, identity.kind, identity.match_key, identity.platform) - {person}:
        raise Conflict(
            "This identity is already recorded for someone else, as an identity or a contact detail (end "
            "it or correct it there first)",
            extra={"field": field},
        )


def verify(
    *, session: Session, reach: Reach, identity: PlatformIdentity, expected_version: int | None
) -> PlatformIdentity:
    """A coordinator checks a member of staff's claim: from now on it matches roster entries and is shown
    as theirs. Errors: 404 for a caller who does not verify (as for an unknown identity); 409 naming
    `value` when someone else holds it, `verified_at` when already verified or `ended_on` once ended."""
    if not verifies(reach):
        raise NotFound(f"No identity with id {identity.id}")
    # A stale If-Match first, before any check that answers from the stored identity (as every write does).
    crud.check_version(identity, expected_version)
    if identity.verified_at is not None:
        raise Conflict("This identity is already verified", extra={"field": "verified_at"})
    if identity.ended_on is not None:
        raise Conflict(f"This identity ended on {identity.ended_on}", extra={"field": "ended_on"})
    refuse_clash(session, identity)
    before = audit.snapshot(identity)
    identity.verified_at, identity.verified_by_id = utcnow(), reach.caller.id
    return crud.save(
        session,
        identity,
        actor=reach.caller,
        action="identity.verify",
        before=before,
        expected_version=expected_version,
    )


def end(
    *,
    session: Session,
    reach: Reach,
    identity: PlatformIdentity,
    ended_on: date,
    expected_version: int | None,
) -> PlatformIdentity:
    """End an identity from `ended_on`. Errors: 409 if it has already ended; 422 naming `ended_on` for a
    day before it was recorded (the organisation's day of `created_at`: it cannot end before it began) or
    after today (an identity ends when it is seen to have ended, as a membership does); 412 on a stale
    If-Match, before any of these (the 422 quotes the day it was recorded)."""
    crud.check_version(identity, expected_version)
    if identity.ended_on is not None:
        raise Conflict(f"This identity already ended on {identity.ended_on}", extra={"field": "ended_on"})
    began = clock.day_of(identity.created_at)
    if not began <= ended_on <= clock.today():
        raise Unprocessable.field(
            "ended_on", f"ended_on must be between the day it was recorded ({began}) and today"
        )
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
