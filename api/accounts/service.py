"""Sign-in, accounts and API keys: the verbs."""

from __future__ import annotations

from typing import Any

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy import Row
from sqlmodel import Session, col, select

from api import clock, crud
from api.audit import service as audit
from api.auth import throttle, tokens
from api.auth.models import User
from api.auth.passwords import dummy_hash, hash_password, verify_password
from api.auth.principal import SIGNED_IN, Principal, user_principal
from api.auth.roles import USER_ROLES, Role
from api.common import in_force
from api.config import get_settings
from api.db import utcnow
from api.errors import Conflict, NotFound, Unauthorized, Unprocessable
from api.staff.models import EmploymentType, Staff

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # as in the input models
MAX_EMAIL_LENGTH = 254
# The audit label of a failed sign-in that matched no account. What was typed is never kept: it is often a
# password typed into the wrong field, and the audit log is append-only (it could never be removed).
UNKNOWN_ACCOUNT = "unknown account"


def sign_in(*, session: Session, email: str, password: str, client: str) -> tuple[str, int]:
    """Check a password and issue an access token; every password check is counted first (throttle.take:
    429 over the limits) and audited. `client` is the caller's address (throttle.client_address)."""
    login = email.strip().lower()
    # No account can have a longer email, and the attempt row could not hold it (a 500 on PostgreSQL).
    if len(login) > MAX_EMAIL_LENGTH:
        raise Unprocessable.field("username", f"at most {MAX_EMAIL_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Unprocessable.field("password", f"at most {MAX_PASSWORD_LENGTH} characters")
    taken = throttle.take(session, login=login, client=client, now=utcnow())
    row = session.exec(
        select(User, Staff).join(Staff, col(Staff.id) == col(User.staff_id)).where(User.email == login)
    ).first()
    # End the read before the slow hash check: a sign-in's transaction may write, so on SQLite it holds the
    # write lock (api/db.py), and every other writer would wait for the hash as well.
    session.commit()
    # An unknown email still costs one hash check, so timing does not reveal which accounts exist.
    ok = verify_password(password, row[0].password_hash if row else dummy_hash())
    user, staff = row if row else (None, None)
    allowed = bool(ok and user and staff and user.is_active and in_force(None, staff.left_on, clock.today()))
    if not allowed or user is None:
        # The reason is for the coordinator reading the audit log; the caller only ever learns "incorrect".
        reason = "wrong_password" if not ok else "disabled" if user and not user.is_active else "departed"
        audit.record(
            session,
            actor=None,
            actor_label=user.email if user else UNKNOWN_ACCOUNT,
            action="auth.sign_in_failed",
            entity=user,
            entity_type="user_account",
            changes={"reason": reason} if user else {},
        )
        session.commit()
        raise Unauthorized("Incorrect email or password")
    throttle.give_back(session, taken)
    user.last_login_at = utcnow()
    session.add(user)
    audit.record(session, actor=user_principal(user), action="auth.sign_in", entity=user, changes={})
    session.commit()
    return issue_token(user)


def issue_token(user: User) -> tuple[str, int]:
    """A fresh access token for `user` at their current epoch, and its lifetime in seconds."""
    s = get_settings()
    token = tokens.issue(
        user_id=user.id,
        epoch=user.token_epoch,
        secret=s.secret_key.get_secret_value(),
        minutes=s.access_token_minutes,
    )
    return token, s.access_token_minutes * 60


def change_password(
    *, session: Session, caller: Principal, current_password: str, new_password: str, client: str
) -> tuple[str, int]:
    """Change the caller's own password; every token issued before stops working at once."""
    user = get_own(session=session, caller=caller)
    # A stolen token must not become a way round the sign-in lockout: the same counters guard this check,
    # taken and committed before it, as in sign_in (no write lock held through the hashing).
    taken = throttle.take(session, login=user.email, client=client, now=utcnow())
    if not verify_password(current_password, user.password_hash):
        audit.record(session, actor=caller, action="auth.password_change_failed", entity=user, changes={})
        session.commit()
        raise Unprocessable.field("current_password", "This is not your current password")
    throttle.give_back(session, taken)
    session.commit()
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable.field("new_password", f"at least {MIN_PASSWORD_LENGTH} characters")
    if new_password == current_password:
        raise Unprocessable.field("new_password", "The new password must differ from the current one")
    before = audit.snapshot(user)
    user.password_hash = hash_password(new_password)
    user.token_epoch += 1
    crud.save(session, user, actor=caller, action="auth.password_change", before=before)
    return issue_token(user)


def revoke_tokens(*, session: Session, caller: Principal) -> None:
    """Sign the caller out everywhere: every access token issued to their account so far stops working at
    once (401 "Token revoked"), as after a password change; audited. Commits."""
    user = get_own(session=session, caller=caller)
    before = audit.snapshot(user)
    user.token_epoch += 1
    crud.save(session, user, actor=caller, action="auth.sign_out", before=before)


def signed_in(*, session: Session, caller: Principal) -> Row[Any] | None:
    """The caller's account as signing in read it in this session (`principal.SIGNED_IN_ACCOUNT`'s row: the
    fields of `UserPublic`, and more), else None (an API key). No statement."""
    account = session.info.get(SIGNED_IN)
    return account if isinstance(account, Row) and account.id == caller.id else None


def get_own(*, session: Session, caller: Principal) -> User:
    """The caller's own account, or 404."""
    user = session.get(User, caller.id)
    if user is None:
        raise NotFound("No such user")
    return user


def create_user_for_email(
    *, session: Session, email: str, role: Role, password: str, full_name: str | None = None
) -> User:
    """Bootstrap a sign-in for a staff email, creating the staff record if needed (the first coordinator)."""
    if role not in USER_ROLES:
        raise Unprocessable.field("role", f"a user's role is one of {', '.join(USER_ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable.field("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    login = email.strip().lower()
    try:
        TypeAdapter(EmailStr).validate_python(login)
    except ValidationError as exc:
        raise Unprocessable.field("email", f"{email!r} is not an email address") from exc
    staff = session.exec(select(Staff).where(Staff.email == login)).first()
    if staff is None:
        if not full_name:
            raise Unprocessable.field("name", "no staff record has this email: give --name to create one")
        staff = Staff(
            full_name=full_name,
            email=login,
            employment_type=EmploymentType.employee,
            started_on=clock.today(),
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
