"""Memberships: the verbs. Routes call these; nothing else writes membership rows.

Coordinators manage every group's memberships; a member of staff reads those of the groups they are in and
manages those of the groups they admin. A membership mirrors the real online group, so it is never ended
as a side effect of someone leaving: the compliance rules must see who is still in a group.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, false, true
from sqlmodel import Session, col, or_, select

from api import clock, crud
from api.auth.principal import Principal
from api.auth.roles import Role
from api.common import check_order
from api.compliance import watch
from api.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.groups.models import Group, GroupStatus
from api.memberships.models import (
    MemberRole,
    Membership,
    MembershipCreate,
    MembershipEnd,
    MembershipUpdate,
)
from api.memberships.scope import current_on, groups_admined_by, groups_of_staff
from api.participants.models import Participant
from api.staff.models import Staff


def visible_to(actor: Principal) -> ColumnElement[bool]:
    """The memberships `actor` may read, as a WHERE clause; denied unless a role is named here."""
    if actor.role is Role.coordinator:
        return true()
    if actor.role is Role.staff and actor.staff_id is not None:
        return col(Membership.group_id).in_(groups_of_staff(actor.staff_id))
    return false()


def _check_may_manage(session: Session, actor: Principal, group_id: uuid.UUID) -> None:
    """Coordinators manage any group; staff only the groups they currently admin.

    A group the member of staff is not in is a 404, so group ids cannot be probed; one they are in but do not
    admin is a 403 (they can see it, but not change it).
    """
    if actor.role is Role.coordinator:
        return
    if actor.role is not Role.staff or actor.staff_id is None:
        raise Forbidden("Only coordinators and group admins manage memberships")
    if session.exec(groups_of_staff(actor.staff_id).where(Membership.group_id == group_id)).first() is None:
        raise NotFound(f"No group with id {group_id}")
    if session.exec(groups_admined_by(actor.staff_id).where(Membership.group_id == group_id)).first() is None:
        raise Forbidden("Only the group's current admins (or a coordinator) manage its memberships")


def get(*, session: Session, actor: Principal, membership_id: uuid.UUID) -> Membership:
    """One membership the caller may read, or 404 (the same whether it exists or is out of reach)."""
    found = session.exec(select(Membership).where(Membership.id == membership_id, visible_to(actor))).first()
    if found is None:
        raise NotFound(f"No membership with id {membership_id}")
    return found


def list_(
    *,
    session: Session,
    actor: Principal,
    limit: int,
    offset: int,
    group_id: uuid.UUID | None = None,
    staff_id: uuid.UUID | None = None,
    participant_id: uuid.UUID | None = None,
    current: bool | None = None,
    role: MemberRole | None = None,
) -> tuple[list[Membership], int]:
    """A filtered page of the memberships the caller may read, by start date then id."""
    query = select(Membership).where(visible_to(actor))
    if group_id is not None:
        query = query.where(Membership.group_id == group_id)
    if staff_id is not None:
        query = query.where(Membership.staff_id == staff_id)
    if participant_id is not None:
        query = query.where(Membership.participant_id == participant_id)
    if current is True:
        query = query.where(current_on(clock.today()))
    elif current is False:
        query = query.where(~current_on(clock.today()))
    if role is not None:
        query = query.where(Membership.role == role)
    query = query.order_by(col(Membership.started_on), col(Membership.id))
    return crud.page(session, query, limit=limit, offset=offset)


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


def create(*, session: Session, actor: Principal, data: MembershipCreate) -> Membership:
    """Put a member of staff or a participant in a group."""
    _check_may_manage(session, actor, data.group_id)
    group = session.get(Group, data.group_id)
    if group is None:
        raise Unprocessable.field("group_id", f"No group with id {data.group_id}")
    if group.status != GroupStatus.active:
        raise Conflict(f"The group is {group.status}: it takes no new members", extra={"field": "group_id"})

    person: Staff | Participant | None
    person_id: uuid.UUID | None
    if data.staff_id is not None:
        field, person_id = "staff_id", data.staff_id
        person = session.get(Staff, data.staff_id)
    else:
        field, person_id = "participant_id", data.participant_id
        person = session.get(Participant, data.participant_id)
    if person is None:
        raise Unprocessable.field(field, f"No {field.removesuffix('_id')} with id {person_id}")
    if person.left_on is not None and person.left_on <= data.started_on:
        raise Unprocessable.field(
            field, f"They left on {person.left_on}, on or before started_on ({data.started_on})"
        )

    if _overlapping(session, data) is not None:
        raise _already_in_group(field)

    membership = Membership.model_validate(data)
    try:
        membership = crud.save(
            session, membership, actor=actor, action="membership.create", unique_fields=(field,)
        )
    except Conflict as exc:
        # Two requests raced past the check above; the partial unique index stopped the second.
        raise _already_in_group(field) from exc
    watch.after_write(session, [membership.group_id])
    return membership


def update(
    *,
    session: Session,
    actor: Principal,
    membership: Membership,
    data: MembershipUpdate,
    expected_version: int | None = None,
) -> Membership:
    """Change the member's role."""
    _check_may_manage(session, actor, membership.group_id)
    if "role" in data.model_fields_set and data.role is None:
        raise Unprocessable.field("role", "role cannot be null")
    before = crud.apply(membership, data)
    membership = crud.save(
        session,
        membership,
        actor=actor,
        action="membership.update",
        before=before,
        expected_version=expected_version,
    )
    watch.after_write(session, [membership.group_id])
    return membership


def end(
    *,
    session: Session,
    actor: Principal,
    membership: Membership,
    ended_on: date,
    end_reason: str | None,
    expected_version: int | None = None,
) -> Membership:
    """End a membership on `ended_on` (the first day they are no longer in the group)."""
    _check_may_manage(session, actor, membership.group_id)
    if membership.ended_on is not None:
        raise Conflict(f"This membership already ended on {membership.ended_on}", extra={"field": "ended_on"})
    check_order(membership.started_on, ended_on, start_field="started_on", end_field="ended_on")
    before = crud.apply(membership, MembershipEnd(ended_on=ended_on, end_reason=end_reason))
    membership = crud.save(
        session,
        membership,
        actor=actor,
        action="membership.end",
        before=before,
        expected_version=expected_version,
    )
    watch.after_write(session, [membership.group_id])
    return membership
