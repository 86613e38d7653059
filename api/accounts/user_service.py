"""User accounts (sign-ins for staff records): the verbs a coordinator uses."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from api import clock, crud
from api.auth import coordinators
from api.auth.models import User, UserCreate, UserUpdate
from api.auth.passwords import hash_password
from api.auth.principal import Principal
from api.auth.roles import USER_ROLES, Role
from api.common import Page, PageParams, contains, in_force
from api.errors import Conflict, Unprocessable
from api.staff.models import Staff

UNIQUE = ("staff_id", "email")


def _check_role(role: Role) -> None:
    # `integration` is what an API key acts as; no person's account may hold it.
    if role not in USER_ROLES:
        raise Unprocessable.field("role", f"a user's role is one of {', '.join(USER_ROLES)}")


def get(*, session: Session, user_id: uuid.UUID) -> User:
    """One account, or 404."""
    return crud.get_or_404(session, User, user_id, "user")


def list_(
    *,
    session: Session,
    paging: PageParams,
    role: Role | None = None,
    is_active: bool | None = None,
    staff_id: uuid.UUID | None = None,
    q: str | None = None,
) -> Page[User]:
    """A filtered page of accounts, by email then id."""
    query = crud.where_equal(
        select(User), (User.role, role), (User.is_active, is_active), (User.staff_id, staff_id)
    )
    if q:
        query = query.where(contains(User.email, q))
    return crud.paged(session, query.order_by(col(User.email), col(User.id)), paging)


def create(*, session: Session, caller: Principal, data: UserCreate) -> User:
    """Give a member of staff a sign-in: one account per staff record and per email."""
    _check_role(data.role)
    staff = session.get(Staff, data.staff_id)
    if staff is None:
        raise Unprocessable.field("staff_id", f"No staff member with id {data.staff_id}")
    if not in_force(None, staff.left_on, clock.today()):
        raise Unprocessable.field("staff_id", f"{staff.full_name} left on {staff.left_on}")
    email = data.email.strip().lower()
    if session.exec(select(User.id).where(User.staff_id == staff.id)).first() is not None:
        raise Conflict("This member of staff already has an account", extra={"field": "staff_id"})
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise Conflict(f"{email} already has an account", extra={"field": "email"})
    user = User(staff_id=staff.id, email=email, password_hash=hash_password(data.password), role=data.role)
    # The checks above answer the usual case; the unique constraints answer a concurrent duplicate.
    return crud.save(session, user, actor=caller, action="user.create", unique_fields=UNIQUE)


def update(
    *, session: Session, caller: Principal, user: User, data: UserUpdate, expected_version: int | None = None
) -> User:
    """Change an account's role or active flag; either change ends every token the account holds."""
    crud.refuse_nulls(data, ("role", "is_active"))
    new_role = data.role if data.role is not None else user.role
    new_active = data.is_active if data.is_active is not None else user.is_active
    _check_role(new_role)
    was_coordinator = user.role is Role.coordinator and user.is_active
    stays_coordinator = new_role is Role.coordinator and new_active
    if was_coordinator and not stays_coordinator:
        if user.id == caller.id:
            raise Conflict(
                "You cannot disable or demote your own account: ask another coordinator",
                extra={"field": "role" if data.role is not None else "is_active"},
            )
        coordinators.keep_one(session, losing=[user.id])
    changed = new_role != user.role or new_active != user.is_active
    before = crud.apply(user, data)
    if changed:
        user.token_epoch += 1
    return crud.save(
        session, user, actor=caller, action="user.update", before=before, expected_version=expected_version
    )
