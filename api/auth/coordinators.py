"""The one rule every path that can end someone's access goes through: an active coordinator always remains.

Access ends when a user account is disabled or loses the coordinator role (`PATCH /users/{id}`), or when
its staff record's `left_on` comes to today or earlier (`PATCH /staff/{id}`, `POST /staff/{id}/leave`,
`PUT /staff/by-external-id/{id}`, `POST /sync/staff`). Without a coordinator nobody can manage accounts,
read the audit log or manage incidents, and no route can give the role back (issue 11: one CRM push set the
only coordinator's `left_on` to today and locked the organisation out).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

from sqlmodel import Session, col, or_, select

from api import clock
from api.auth.models import User
from api.auth.roles import Role
from api.errors import Conflict
from api.problems import ProblemCode
from api.staff.models import Staff


class LastCoordinator(Conflict):
    """409 `last_coordinator`: the change would leave no active coordinator. In a sync batch, the record's
    `rejected` result carries the same code."""

    code = ProblemCode.last_coordinator


def has_access(left_on: date | None, today: date) -> bool:
    """Whether a staff record with this leaving day still lets its account sign in today."""
    return left_on is None or left_on > today


def keep_one(session: Session, *, losing: Iterable[uuid.UUID]) -> None:
    """Refuse (409 `last_coordinator`) if the user accounts in `losing` are about to lose access and no other
    active coordinator would remain. Call it inside the writing transaction, before the write.

    Active coordinator: role `coordinator`, `is_active`, and a staff record with no `left_on` or one after
    today (`api/clock.py`), as sign-in checks. The query locks every active coordinator's account and staff
    rows (PostgreSQL, `SELECT ... FOR UPDATE`, in id order so two callers queue rather than deadlock): of
    two requests each ending one of the last two coordinators, the second waits for the first, re-reads, and
    is refused. SQLite serialises writers already (`BEGIN IMMEDIATE`, api/db.py)."""
    losing_ids = set(losing)
    if not losing_ids:
        return
    today = clock.today()
    query = (
        select(User.id)
        .join(Staff, col(Staff.id) == col(User.staff_id))
        .where(
            User.role == Role.coordinator,
            col(User.is_active).is_(True),
            or_(col(Staff.left_on).is_(None), col(Staff.left_on) > today),
        )
        .order_by(col(User.id))
        .with_for_update()
    )
    # The caller's pending change must not be flushed before the lock is taken (it would lock its own row
    # first, out of order), nor counted: the rows read here are the committed ones.
    with session.no_autoflush:
        active = set(session.exec(query).all())
    if active & losing_ids and not active - losing_ids:
        raise LastCoordinator(
            "This is the last active coordinator: there must always be one. Give another member of staff "
            "the coordinator role first."
        )


def keep_one_for_staff(
    session: Session, *, staff_id: uuid.UUID, left_before: date | None, left_on: date | None
) -> None:
    """`keep_one` for a staff record whose `left_on` changes: refused if the change ends today's access of the
    last active coordinator's account (a leaving day of today or earlier; a later one leaves time to appoint
    another)."""
    today = clock.today()
    if not has_access(left_before, today) or has_access(left_on, today):
        return
    with session.no_autoflush:
        accounts = session.exec(select(User.id).where(User.staff_id == staff_id)).all()
    keep_one(session, losing=accounts)
