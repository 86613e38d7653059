"""Callers (api/auth): users, API keys and the headers that sign them in."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from api.auth import tokens
from api.auth.models import ApiKey, User
from api.auth.passwords import hash_password
from api.auth.principal import hash_api_key
from api.auth.roles import ApiKeyScope, Role
from api.config import get_settings
from api.staff.models import Staff
from tests.kit.records import unique
from tests.kit.staff import make_staff

PASSWORD = "correct horse battery staple"
# Thirty seconds into a minute: an API key's rate window resets 30 seconds later (Retry-After: 30).
LIMITED_AT = datetime(2030, 1, 1, 12, 0, 30, tzinfo=UTC)


@dataclass
class Actor:
    """A caller as a test sends requests: its role, the headers that sign it in, and its records."""

    role: Role
    headers: dict[str, str]
    staff: Staff | None = None
    user: User | None = None
    key: ApiKey | None = None


def token_headers(user: User) -> dict[str, str]:
    """A bearer header for `user`, valid for 30 minutes."""
    s = get_settings()
    token = tokens.issue(
        user_id=user.id, epoch=user.token_epoch, secret=s.secret_key.get_secret_value(), minutes=30
    )
    return {"Authorization": f"Bearer {token}"}


def make_user(session: Session, staff: Staff, role: Role, password: str = PASSWORD) -> User:
    user = User(staff_id=staff.id, email=staff.email, password_hash=hash_password(password), role=role)
    session.add(user)
    session.commit()
    return user


def signed_in_as(session: Session, role: Role) -> dict[str, str]:
    """A bearer header for the first user with `role` (on the demo: its coordinator, staff or trustee)."""
    user = session.exec(select(User).where(User.role == role)).first()
    assert user is not None
    return token_headers(user)


def make_actor(session: Session, role: Role, *, coordinator: bool = False, **staff_fields: Any) -> Actor:
    """A new staff member (`staff_fields` for `make_staff`) with a user of `role`, signed in."""
    staff = make_staff(session, is_esafety_coordinator=coordinator, **staff_fields)
    user = make_user(session, staff, role)
    return Actor(role=role, headers=token_headers(user), staff=staff, user=user)


def make_api_key(
    session: Session, scopes: tuple[ApiKeyScope, ...] = (ApiKeyScope.read, ApiKeyScope.sync_write)
) -> Actor:
    """An integration's API key with `scopes`, and the header that presents it."""
    secret = "esk_" + secrets.token_urlsafe(32)
    key = ApiKey(name=unique("crm-"), prefix=secret[:8], key_hash=hash_api_key(secret), scopes=list(scopes))
    session.add(key)
    session.commit()
    return Actor(role=Role.integration, headers={"X-API-Key": secret}, key=key)


def limit_user_action(monkeypatch: pytest.MonkeyPatch, setting: str, per_minute: int) -> None:
    """Every user may take the action `setting` (`roster_uploads_per_minute` ...) limits `per_minute` times a
    minute, on a clock stopped at `LIMITED_AT`: a count that crosses a minute's end starts again, so a test
    on the running clock fails whenever its requests straddle one."""
    assert setting.endswith("_per_minute"), setting  # monkeypatch refuses a setting that does not exist
    monkeypatch.setattr(get_settings(), setting, per_minute)
    monkeypatch.setattr("api.ratelimit.utcnow", lambda: LIMITED_AT)


def limit_api_keys(monkeypatch: pytest.MonkeyPatch, per_minute: int) -> None:
    """Each API key may make `per_minute` requests a minute, on a clock stopped at `LIMITED_AT`."""
    monkeypatch.setattr(get_settings(), "api_key_rate_per_minute", per_minute)
    monkeypatch.setattr("api.auth.principal.utcnow", lambda: LIMITED_AT)
