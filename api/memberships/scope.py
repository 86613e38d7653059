"""Row-level reach as SQL subqueries, so list endpoints filter in the database and `total` stays right."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from api import clock
from api.memberships.models import MemberRole, Membership


def current_on(on: date) -> ColumnElement[bool]:
    """Membership in force on `on` (end dates are exclusive)."""
    return and_(
        col(Membership.started_on) <= on,
        or_(col(Membership.ended_on).is_(None), col(Membership.ended_on) > on),
    )


def groups_of_staff(staff_id: uuid.UUID, on: date | None = None) -> SelectOfScalar[uuid.UUID]:
    """Ids of the groups a member of staff is currently in (any role)."""
    return select(Membership.group_id).where(Membership.staff_id == staff_id, current_on(on or clock.today()))


def groups_admined_by(staff_id: uuid.UUID, on: date | None = None) -> SelectOfScalar[uuid.UUID]:
    """Ids of the groups a member of staff currently admins."""
    return select(Membership.group_id).where(
        Membership.staff_id == staff_id,
        Membership.role == MemberRole.admin,
        current_on(on or clock.today()),
    )


def participants_reachable_by(
    staff_id: uuid.UUID, on: date | None = None
) -> SelectOfScalar[uuid.UUID | None]:
    """Ids of the participants currently in a group that the member of staff is currently in."""
    day = on or clock.today()
    return select(col(Membership.participant_id)).where(
        col(Membership.participant_id).is_not(None),
        col(Membership.group_id).in_(groups_of_staff(staff_id, day)),
        current_on(day),
    )
