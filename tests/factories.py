"""Plain helpers that make records directly in the test database, and signed-in callers."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from api.auth import tokens
from api.auth.models import ApiKey, User
from api.auth.passwords import hash_password
from api.auth.principal import hash_api_key
from api.auth.roles import ApiKeyScope, Role
from api.config import get_settings
from api.staff.models import EmploymentType, Staff

TODAY = date.today()
PASSWORD = "correct horse battery staple"


@dataclass
class Actor:
    role: Role
    headers: dict[str, str]
    staff: Staff | None = None
    user: User | None = None
    key: ApiKey | None = None


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_staff(session: Session, **overrides: Any) -> Staff:
    values: dict[str, Any] = {
        "full_name": f"Staff {_unique('')}",
        "email": f"{_unique('staff-')}@moremusic.org.uk",
        "employment_type": EmploymentType.employee,
        "started_on": TODAY - timedelta(days=400),
        "code_of_conduct_signed_on": TODAY - timedelta(days=300),
        "esafety_training_completed_on": TODAY - timedelta(days=100),
    }
    values.update(overrides)
    staff = Staff(**values)
    session.add(staff)
    session.commit()
    return staff


def token_headers(user: User) -> dict[str, str]:
    s = get_settings()
    token = tokens.issue(user_id=user.id, epoch=user.token_epoch, secret=s.secret_key, minutes=30)
    return {"Authorization": f"Bearer {token}"}


def make_user(session: Session, staff: Staff, role: Role, password: str = PASSWORD) -> User:
    user = User(staff_id=staff.id, email=staff.email, password_hash=hash_password(password), role=role)
    session.add(user)
    session.commit()
    return user


def make_actor(session: Session, role: Role, *, coordinator: bool = False, **staff_fields: Any) -> Actor:
    staff = make_staff(session, is_esafety_coordinator=coordinator, **staff_fields)
    user = make_user(session, staff, role)
    return Actor(role=role, headers=token_headers(user), staff=staff, user=user)


def make_api_key(
    session: Session, scopes: tuple[ApiKeyScope, ...] = (ApiKeyScope.read, ApiKeyScope.sync_write)
) -> Actor:
    secret = "esk_" + secrets.token_urlsafe(32)
    key = ApiKey(name=_unique("crm-"), prefix=secret[:8], key_hash=hash_api_key(secret), scopes=list(scopes))
    session.add(key)
    session.commit()
    return Actor(role=Role.integration, headers={"X-API-Key": secret}, key=key)


# --- incidents (helpers prefixed so they cannot clash with other domains' helpers) ---------------------

from api.groups.models import Group, JoinApproval, Platform, Visibility  # noqa: E402
from api.participants.models import Participant  # noqa: E402


def incidents_make_participant(session: Session, **overrides: Any) -> Participant:
    values: dict[str, Any] = {
        "full_name": f"Young Person {_unique('')}",
        "date_of_birth": TODAY - timedelta(days=14 * 365),
        "carer_name": "A Carer",
        "joined_on": TODAY - timedelta(days=200),
    }
    values.update(overrides)
    participant = Participant(**values)
    session.add(participant)
    session.commit()
    return participant


def incidents_make_group(session: Session, **overrides: Any) -> Group:
    values: dict[str, Any] = {
        "name": f"Group {_unique('')}",
        "platform": Platform.facebook_group,
        "visibility": Visibility.closed,
        "join_approval": JoinApproval.admins_only,
        "started_on": TODAY - timedelta(days=100),
    }
    values.update(overrides)
    group = Group(**values)
    session.add(group)
    session.commit()
    return group
