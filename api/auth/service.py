"""Sign-in, accounts and API keys: the verbs."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlmodel import Session, col, func, select

from api.audit import service as audit
from api.auth import tokens
from api.auth.models import LoginAttempt, User
from api.auth.passwords import dummy_hash, hash_password, verify_password
from api.auth.roles import Role
from api.common import in_force
from api.config import get_settings
from api.db import utcnow
from api.errors import Conflict, TooManyRequests, Unauthorized, Unprocessable
from api.staff.models import EmploymentType, Staff

MIN_PASSWORD_LENGTH = 12


def _throttle(session: Session, login: str) -> None:
    s = get_settings()
    since = utcnow() - timedelta(minutes=s.login_window_minutes)
    failures = session.exec(
        select(func.count(), func.min(LoginAttempt.attempted_at)).where(
            LoginAttempt.login == login,
            col(LoginAttempt.succeeded).is_(False),
            LoginAttempt.attempted_at >= since,
        )
    ).one()
    count, oldest = failures
    if count >= s.login_max_failures and oldest is not None:
        retry = int((oldest + timedelta(minutes=s.login_window_minutes) - utcnow()).total_seconds()) + 1
        raise TooManyRequests(
            "Too many failed sign-ins for this account; try again later",
            headers={"Retry-After": str(max(retry, 1))},
        )


def sign_in(*, session: Session, email: str, password: str) -> tuple[str, int]:
    """Check a password and issue an access token; every attempt is recorded and audited."""
    login = email.strip().lower()
    _throttle(session, login)
    row = session.exec(
        select(User, Staff).join(Staff, col(Staff.id) == col(User.staff_id)).where(User.email == login)
    ).first()
    # An unknown email still costs one hash check, so timing does not reveal which accounts exist.
    ok = verify_password(password, row[0].password_hash if row else dummy_hash())
    user, staff = row if row else (None, None)
    allowed = bool(ok and user and staff and user.is_active and in_force(None, staff.left_on, date.today()))
    session.add(LoginAttempt(login=login, succeeded=allowed))
    audit.record(
        session,
        actor=None,
        actor_label=login,
        action="auth.sign_in" if allowed else "auth.sign_in_failed",
        entity_type="user_account",
        changes={},
    )
    if not allowed or user is None:
        session.commit()
        raise Unauthorized("Incorrect email or password")
    user.last_login_at = utcnow()
    session.add(user)
    session.commit()
    minutes = get_settings().access_token_minutes
    token = tokens.issue(
        user_id=user.id, epoch=user.token_epoch, secret=get_settings().secret_key, minutes=minutes
    )
    return token, minutes * 60


def get_user(*, session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def create_user_for_email(
    *, session: Session, email: str, role: Role, password: str, full_name: str | None = None
) -> User:
    """Bootstrap a sign-in for a staff email, creating the staff record if needed (the first coordinator)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable.field("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    login = email.strip().lower()
    staff = session.exec(select(Staff).where(Staff.email == login)).first()
    if staff is None:
        if not full_name:
            raise Unprocessable.field("name", "no staff record has this email: give --name to create one")
        staff = Staff(
            full_name=full_name,
            email=login,
            employment_type=EmploymentType.employee,
            started_on=date.today(),
            is_esafety_coordinator=role is Role.coordinator,
        )
        session.add(staff)
        session.flush()
    if session.exec(select(User).where(User.email == login)).first() is not None:
        raise Conflict(f"{login} already has an account")
    user = User(staff_id=staff.id, email=login, password_hash=hash_password(password), role=role)
    session.add(user)
    audit.record(session, actor=None, actor_label="esafety create-user", action="user.create", entity=user)
    session.commit()
    return user
