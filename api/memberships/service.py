"""Memberships: the verbs. Routes call these; nothing else writes membership rows.

Coordinators manage every group's memberships; a member of staff reads those of the groups they are in and
manages those of the groups they admin. A membership mirrors the real online group, so it is never ended
as a side effect of someone leaving: the compliance rules must see who is still in a group.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlmodel import Session, col, or_, select

from api import clock, crud, events
from api.auth.reach import Reach
from api.common import Page, PageParams, check_order
from api.errors import Conflict, Forbidden, Unprocessable
from api.groups.models import Group, GroupStatus
from api.memberships.in_force import current_on
from api.memberships.models import (
    MemberRole,
    Membership,
    MembershipCreate,
    MembershipEnd,
    MembershipUpdate,
)
from api.participants.models import Participant
from api.staff.models import Staff


def _check_may_manage(session: Session, reach: Reach, group_id: uuid.UUID) -> None:
    """Coordinators manage any group; staff only the groups they currently admin ("only admins can approve
    new members to the group"). The caller already reaches the group (or the membership in it), so a group
    they may see but not manage is a 403."""
    if not reach.holds(session, reach.managed_groups, group_id):
        raise Forbidden("Only the group's current admins (or a coordinator) manage its memberships")


def _facts_changed(membership: Membership) -> events.GroupFactsChanged:
    return events.GroupFactsChanged.of([membership.group_id])


def get(*, session: Session, reach: Reach, membership_id: uuid.UUID) -> Membership:
    """One membership the caller may read, or 404 (the same whether it exists or is out of reach)."""
    within = reach.memberships(Membership.group_id)
    return crud.get_within(session, Membership, membership_id, within, "membership")


def list_(
    *,
    session: Session,
    reach: Reach,
    paging: PageParams,
    group_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    participant_id: uuid.UUID | None = None,
    current: bool | None = None,
    role: MemberRole | None = None,
) -> Page[Membership]:
    """A filtered page of the memberships the caller may read, by start date then id."""
    query = crud.where_equal(
        select(Membership).where(reach.memberships(Membership.group_id)),
        (Membership.group_id, group_id),
        (Membership.staff_id, staff_id),
        (Membership.participant_id, participant_id),
        (Membership.role, role),
    )
    if current is True:
        query = query.where(current_on(clock.today()))
    elif current is False:
        query = query.where(~current_on(clock.today()))
    query = query.order_by(col(Membership.started_on), col(Membership.id))
    return crud.paged(session, query, paging)


def _already_in_group(field: str) -> Conflict:
    return Conflict(
        f"This person is already in the group (one membership at a time); end it first ({field})",
        extra={"field": field},
    )


def _overlapping(session: Session, data: MembershipCreate) -> uuid.UUID | None:
    """A membership of the same person in the same group that the new one would overlap."""
    person = (
        Membership.staff_id == data.staff_id
        if data.staff_id is not None
        else Membership.participant_id == data.participant_id
    )
    # The new one is open-ended from started_on, so it overlaps any not ended by then (even a later one).
    return session.exec(
        select(Membership.id).where(
            Membership.group_id == data.group_id,
            person,
            or_(col(Membership.ended_on).is_(None), col(Membership.ended_on) > data.started_on),
        )
    ).first()


def create(*, session: Session, reach: Reach, data: MembershipCreate) -> Membership:
    """Put a member of staff or a participant in a group.

    Ids in the body are looked up within the caller's reach: an unknown id and one out of reach are the
    same 422 naming the field. Nobody widens their own reach: a group admin adds staff, but putting a child
    in a group is the coordinator's act (403 for an admin, who can see the child but not place them)."""
    group = session.exec(select(Group).where(Group.id == data.group_id, reach.groups(Group.id))).first()
    if group is None:
        raise Unprocessable.field("group_id", f"No group with id {data.group_id}")
    _check_may_manage(session, reach, data.group_id)
    if group.status != GroupStatus.active:
        raise Conflict(f"The group is {group.status}: it takes no new members", extra={"field": "group_id"})

    person: Staff | Participant | None
    person_id: uuid.UUID | None
    if data.staff_id is not None:
        field, person_id = "staff_id", data.staff_id
        person = session.exec(select(Staff).where(Staff.id == data.staff_id, reach.staff(Staff.id))).first()
    else:
        field, person_id = "participant_id", data.participant_id
        person = session.exec(
            select(Participant).where(
                Participant.id == data.participant_id, reach.participants(Participant.id)
            )
        ).first()
    if person is None:
        raise Unprocessable.field(field, f"No {field.removesuffix('_id')} with id {person_id}")
    if isinstance(person, Participant) and not reach.holds(session, reach.participant_writes, person.id):
        # Putting a child in a group decides which adults see the child's record: that takes write reach
        # over the child (the coordinator's), not only over the group. Otherwise an admin could copy every
        # child they reach into a group of their own and keep them after leaving the groups they shared.
        raise Forbidden("Only a coordinator adds a young person to a group: it decides which adults see them")
    if person.left_on is not None and person.left_on <= data.started_on:
        raise Unprocessable.field(
            field, f"They left on {person.left_on}, on or before started_on ({data.started_on})"
        )

    if _overlapping(session, data) is not None:
        raise _already_in_group(field)

    membership = Membership.model_validate(data)
    try:
        membership = crud.save(
            session, membership, actor=reach.caller, action="membership.create", unique_fields=(field,)
        )
    except Conflict as exc:
        # Two requests raced past the check above; the partial unique index stopped the second.
        raise _already_in_group(field) from exc
    events.publish(session, _facts_changed(membership))
    return membership


def update(
    *,
    session: Session,
    reach: Reach,
    membership: Membership,
    data: MembershipUpdate,
    expected_version: int | None = None,
) -> Membership:
    """Change the member's role."""
    _check_may_manage(session, reach, membership.group_id)
    crud.refuse_nulls(data, ("role",))
    return _change(session, reach, membership, data, "membership.update", expected_version)


def end(
    *,
    session: Session,
    reach: Reach,
    membership: Membership,
    ended_on: date,
    end_reason: str | None,
    expected_version: int | None = None,
) -> Membership:
    """End a membership on `ended_on` (the first day they are no longer in the group)."""
    _check_may_manage(session, reach, membership.group_id)
    if membership.ended_on is not None:
        raise Conflict(f"This membership already ended on {membership.ended_on}", extra={"field": "ended_on"})
    check_order(membership.started_on, ended_on, start_field="started_on", end_field="ended_on")
    patch = MembershipEnd(ended_on=ended_on, end_reason=end_reason)
    return _change(session, reach, membership, patch, "membership.end", expected_version)


def _change(
    session: Session,
    reach: Reach,
    membership: Membership,
    patch: MembershipUpdate | MembershipEnd,
    action: str,
    expected_version: int | None,
) -> Membership:
    """`patch` applied and saved as `action` (an audited compare-and-set on the version: 412 on a stale
    If-Match), then the membership's group announced: who is in it, or in what role, is a compliance fact."""
    before = crud.apply(membership, patch)
    return crud.save(
        session,
        membership,
        actor=reach.caller,
        action=action,
        before=before,
        expected_version=expected_version,
        announce=_facts_changed(membership),
    )
