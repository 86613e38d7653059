"""Participants: the verbs. Routes call these; nothing else writes participant rows.

Who may see which child is decided by the caller's `Reach` (api/auth/reach.py), applied in each query.
"""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial

from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from api import clock, crud
from api.auth.reach import Reach
from api.common import Page, PageParams, check_order, contains
from api.errors import Unprocessable
from api.memberships.in_force import current_on
from api.memberships.models import Membership
from api.participants.models import Participant, ParticipantCreate, ParticipantUpdate
from api.pushes import Pushes, PushMode

UNIQUE = ("external_id",)
REQUIRED = ("full_name", "date_of_birth", "is_vulnerable_adult", "joined_on")


def _validate(*, date_of_birth: date, joined_on: date, left_on: date | None) -> None:
    if date_of_birth > clock.today():
        raise Unprocessable.field("date_of_birth", f"date_of_birth ({date_of_birth}) is in the future")
    check_order(date_of_birth, joined_on, start_field="date_of_birth", end_field="joined_on")
    check_order(joined_on, left_on, start_field="joined_on", end_field="left_on")


def _validate_patched(participant: Participant, data: ParticipantUpdate) -> None:
    # Checked before the record is touched, so a refused change leaves nothing half-applied in the session.
    merged = {**participant.model_dump(), **data.model_dump(exclude_unset=True)}
    _validate(date_of_birth=merged["date_of_birth"], joined_on=merged["joined_on"], left_on=merged["left_on"])


def get(*, session: Session, reach: Reach, participant_id: uuid.UUID, to_write: bool = False) -> Participant:
    """One participant the caller may see (or, `to_write`, change), or 404: the same answer whether it
    exists or is out of reach."""
    within = reach.participant_writes if to_write else reach.participants
    return crud.get_within(session, Participant, participant_id, within(Participant.id), "participant")


def list_(
    *,
    session: Session,
    reach: Reach,
    paging: PageParams,
    current: bool | None = None,
    external_id: str | None = None,
    q: str | None = None,
    group_id: uuid.UUID | None = None,
) -> Page[Participant]:
    """A filtered page of the participants the caller may see, by name then id."""
    query: SelectOfScalar[Participant] = select(Participant).where(reach.participants(Participant.id))
    today = clock.today()
    is_current = (col(Participant.joined_on) <= today) & or_(
        col(Participant.left_on).is_(None), col(Participant.left_on) > today
    )
    if current is True:
        query = query.where(is_current)
    elif current is False:
        query = query.where(~is_current)
    if external_id is not None:
        query = query.where(Participant.external_id == external_id)
    if q:
        query = query.where(contains(Participant.full_name, q))
    if group_id is not None:
        members = select(col(Membership.participant_id)).where(
            Membership.group_id == group_id,
            col(Membership.participant_id).is_not(None),
            current_on(today),
            # A group out of reach lists no one, exactly as an unknown group does.
            reach.groups(Membership.group_id),
        )
        query = query.where(col(Participant.id).in_(members))
    query = query.order_by(col(Participant.full_name), col(Participant.id))
    return crud.paged(session, query, paging)


def create(*, session: Session, reach: Reach, data: ParticipantCreate) -> Participant:
    """Add a participant."""
    _validate(date_of_birth=data.date_of_birth, joined_on=data.joined_on, left_on=data.left_on)
    participant = Participant.model_validate(data)
    return crud.save(
        session, participant, actor=reach.caller, action="participant.create", unique_fields=UNIQUE
    )


def update(
    *,
    session: Session,
    reach: Reach,
    participant: Participant,
    data: ParticipantUpdate,
    expected_version: int | None = None,
) -> Participant:
    """Change the fields sent."""
    crud.refuse_nulls(data, REQUIRED)
    return _change(session, reach, participant, data, "participant.update", expected_version)


def leave(
    *,
    session: Session,
    reach: Reach,
    participant: Participant,
    left_on: date,
    expected_version: int | None = None,
) -> Participant:
    """Record the day a participant stops taking part. The record is kept, and so are their memberships:
    those mirror the real online groups, where a departed participant may still be (which the compliance
    rules must see)."""
    patch = ParticipantUpdate(left_on=left_on)
    return _change(session, reach, participant, patch, "participant.leave", expected_version)


def _change(
    session: Session,
    reach: Reach,
    participant: Participant,
    patch: ParticipantUpdate,
    action: str,
    expected_version: int | None,
) -> Participant:
    """`patch` checked against the merged record (dates in order), applied and saved as `action`: an
    audited compare-and-set on the version (412 on a stale If-Match), 409 on a clash of `external_id`."""
    _validate_patched(participant, patch)
    before = crud.apply(participant, patch)
    return crud.save(
        session,
        participant,
        actor=reach.caller,
        action=action,
        before=before,
        unique_fields=UNIQUE,
        expected_version=expected_version,
    )


# The CRM's push by external id (`PUT` and `PATCH /participants/by-external-id/{id}`, bulk sync's two modes):
# the record with the id within the caller's write reach (none there: created, or a 409 on the id), created
# by `create` and changed as `update` changes it (dates in order: born, joined, left).
pushes = Pushes(
    table=Participant,
    creates=ParticipantCreate,
    updates=ParticipantUpdate,
    create=lambda session, reach, data: create(session=session, reach=reach, data=data),
    update=lambda session, reach, participant, patch, version: update(
        session=session, reach=reach, participant=participant, data=patch, expected_version=version
    ),
    within=lambda reach: reach.participant_writes(Participant.id),
)
# PUT and bulk sync's `replace` push the whole record; PATCH and `merge` the fields sent.
upsert_by_external_id = partial(pushes.push, mode=PushMode.replace)
merge_by_external_id = partial(pushes.push, mode=PushMode.merge)
