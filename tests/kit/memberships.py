"""Memberships (api/memberships): a staff member or a participant in a group, from a day, to a day; a new
group a signed-in member of staff is in."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from api.groups.models import Group
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.staff.models import Staff
from tests.kit.auth import Actor
from tests.kit.groups import make_group
from tests.kit.records import add


def make_membership(
    session: Session,
    group: Group,
    *,
    staff: Staff | None = None,
    participant: Participant | None = None,
    role: MemberRole = MemberRole.member,
    started_on: date | None = None,
    ended_on: date | None = None,
    **overrides: Any,
) -> Membership:
    """Exactly one of `staff` or `participant` (as the table requires) in `group`, from the day the group
    started unless `started_on` says otherwise, with no end unless `ended_on`."""
    values: dict[str, Any] = {
        "group_id": group.id,
        "staff_id": staff.id if staff else None,
        "participant_id": participant.id if participant else None,
        "role": role,
        "started_on": started_on or group.started_on,
        "ended_on": ended_on,
    }
    return add(session, Membership, values, overrides)


def make_group_joined_by(
    session: Session, actor: Actor, role: MemberRole = MemberRole.member, **membership_fields: Any
) -> Group:
    """A new group (`make_group`) with the signed-in `actor`'s staff record in it as `role`
    (`membership_fields` for `make_membership`); fails unless the actor has a staff record."""
    assert actor.staff is not None
    group = make_group(session)
    make_membership(session, group, staff=actor.staff, role=role, **membership_fields)
    return group
