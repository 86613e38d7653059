"""The one rule every path that can end someone's access goes through: an active coordinator always remains.

Access ends when a user account is disabled or loses the coordinator role (`PATCH /users/{id}`), or when
its staff record's `left_on` comes to today or earlier (`PATCH /staff/{id}`, `POST /staff/{id}/leave`,
`PUT /staff/by-external-id/{id}`, `POST /sync/staff`). Without a coordinator nobody can manage accounts,
read the audit log or manage incidents, and no route can give the role back (issue 11: one CRM push set the
only coordinator's `left_on` to today and locked the organisation out).

The policy's e-safety coordinator (a staff record's `is_esafety_coordinator`, rule ORG-COORDINATOR-APPOINTED)
is kept the same way, by `keep_esafety_coordinator`: every write of a staff record (PATCH, leave, the CRM's
PUT and PATCH by external id, bulk sync) that would leave no current one is refused, so a whole-record push
that leaves the flag out cannot clear it on the only one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, or_, select

from api import clock
from api.auth.models import User
from api.auth.roles import Role
from api.common import in_force
from api.errors import Conflict, FieldError
from api.problems import ProblemCode
from api.staff.models import Staff

_CODE = ProblemCode.last_coordinator.value


class LastCoordinator(Conflict):
    """409 `last_coordinator`: the change would leave no active coordinator. In a sync batch, the record's
    `rejected` result carries the same code."""

    code = ProblemCode.last_coordinator


def has_access(left_on: date | None, today: date) -> bool:
    """Whether a staff record with this leaving day still lets its account sign in today."""
    return left_on is None or left_on > today


# The PostgreSQL advisory lock (a number of our own) that writers which may end a coordinator queue for.
_GUARD = 0x65534146


def _queue(session: Session) -> None:
    """Wait, until this transaction ends, for any other writer inside a coordinator guard (PostgreSQL;
    SQLite's BEGIN IMMEDIATE already queues every writer). One lock rather than the coordinators' rows: the
    writer already holds the row of the record it changes (`Records.change`, the pushes' `crud.locked`), so
    locking the others' rows too would deadlock two writers each ending one of the last two. Each statement
    after it reads what was committed before it was granted (READ COMMITTED)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_GUARD)))


def keep_one(session: Session, *, losing: Iterable[uuid.UUID]) -> None:
    """Refuse (409 `last_coordinator`) if the user accounts in `losing` are about to lose access and no other
    active coordinator would remain. Call it inside the writing transaction, before the write.

    Active coordinator: role `coordinator`, `is_active`, and a staff record with no `left_on` or one after
    today (`api/clock.py`), as sign-in checks. Callers queue for the guard (`_queue`): of two requests each
    ending one of the last two coordinators, the second waits for the first to commit, reads what it left,
    and is refused. SQLite serialises writers already (`BEGIN IMMEDIATE`, api/db.py)."""
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
    )
    # The caller's pending change must not be flushed before the guard is entered, nor counted: the rows
    # read here are the committed ones.
    with session.no_autoflush:
        _queue(session)
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


def keep_esafety_coordinator(
    session: Session, *, staff_id: uuid.UUID, was: bool, started_on: date, left_on: date | None, flag: bool
) -> None:
    """Refuse (409 `last_coordinator`, naming `is_esafety_coordinator`, or `left_on` when it is the leaving
    day that ends it) a change to the staff record `staff_id` that leaves it no longer a current e-safety
    coordinator (`flag` set, started by today, not left: `api.common.in_force`), when it was one (`was`,
    as stored) and no other current one remains; the error names `started_on` when a start moved past today
    ends it. An organisation that has none is not refused a change
    that appoints none. Queues as `keep_one` does, so of two writers each clearing one of the last two, the
    second is refused."""
    today = clock.today()
    if not was or (flag and in_force(started_on, left_on, today)):
        return
    query = (
        select(Staff.id)
        .where(
            col(Staff.is_esafety_coordinator).is_(True),
            col(Staff.started_on) <= today,
            or_(col(Staff.left_on).is_(None), col(Staff.left_on) > today),
        )
        .order_by(col(Staff.id))
    )
    with session.no_autoflush:
        _queue(session)
        current = set(session.exec(query).all())
    if staff_id in current and not current - {staff_id}:
        # The field whose value ends it: the flag, else a start moved past today, else the leaving day.
        field = "is_esafety_coordinator" if not flag else "started_on" if started_on > today else "left_on"
        raise LastCoordinator(
            "This is the organisation's only current e-safety coordinator, and the policy requires one: "
            f"this change would end that ({field}). Make another member of staff the e-safety coordinator "
            "first; a whole record (PUT) must send is_esafety_coordinator: true to keep it.",
            errors=[
                FieldError(field=field, message="would leave no current e-safety coordinator", type=_CODE)
            ],
        )
