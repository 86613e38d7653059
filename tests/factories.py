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
from api.consents.models import Consent, ConsentKind, GivenBy, Purpose
from api.groups.models import Group, JoinApproval, Platform, Visibility
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
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


def make_group(session: Session, **overrides: Any) -> Group:
    """An active, closed, admins-approve Facebook group that started 100 days ago."""
    values: dict[str, Any] = {
        "name": f"Group {_unique('')}",
        "platform": Platform.facebook_group,
        "project": "Youth Orchestra",
        "visibility": Visibility.closed,
        "join_approval": JoinApproval.admins_only,
        "min_age": 11,
        "max_age": 18,
        "started_on": TODAY - timedelta(days=100),
    }
    values.update(overrides)
    group = Group(**values)
    session.add(group)
    session.commit()
    return group


def make_participant(session: Session, **overrides: Any) -> Participant:
    values: dict[str, Any] = {
        "full_name": f"Participant {_unique('')}",
        "date_of_birth": TODAY - timedelta(days=15 * 365),
        "carer_name": f"Carer {_unique('')}",
        "carer_email": f"{_unique('carer-')}@example.org",
        "joined_on": TODAY - timedelta(days=200),
    }
    values.update(overrides)
    participant = Participant(**values)
    session.add(participant)
    session.commit()
    return participant


def make_membership(
    session: Session,
    group: Group,
    *,
    staff: Staff | None = None,
    participant: Participant | None = None,
    **overrides: Any,
) -> Membership:
    """Exactly one of `staff` or `participant`, as the table requires."""
    values: dict[str, Any] = {
        "group_id": group.id,
        "staff_id": staff.id if staff else None,
        "participant_id": participant.id if participant else None,
        "role": MemberRole.member,
        "started_on": TODAY - timedelta(days=100),
    }
    values.update(overrides)
    membership = Membership(**values)
    session.add(membership)
    session.commit()
    return membership


# --- consents: participants, groups and memberships made directly with the models --------------------------


def consents_make_participant(session: Session, **overrides: Any) -> Participant:
    values: dict[str, Any] = {
        "full_name": f"Participant {_unique('')}",
        "date_of_birth": date(2010, 5, 17),
        "carer_name": "A Carer",
        "joined_on": TODAY - timedelta(days=200),
    }
    values.update(overrides)
    participant = Participant(**values)
    session.add(participant)
    session.commit()
    return participant


def consents_make_group(session: Session, **overrides: Any) -> Group:
    values: dict[str, Any] = {
        "name": _unique("Group "),
        "platform": Platform.facebook_group,
        "visibility": Visibility.closed,
        "join_approval": JoinApproval.admins_only,
        "started_on": TODAY - timedelta(days=300),
    }
    values.update(overrides)
    group = Group(**values)
    session.add(group)
    session.commit()
    return group


def consents_make_membership(
    session: Session,
    group: Group,
    *,
    staff: Staff | None = None,
    participant: Participant | None = None,
    **overrides: Any,
) -> Membership:
    values: dict[str, Any] = {
        "group_id": group.id,
        "staff_id": staff.id if staff else None,
        "participant_id": participant.id if participant else None,
        "role": MemberRole.member,
        "started_on": TODAY - timedelta(days=100),
    }
    values.update(overrides)
    membership = Membership(**values)
    session.add(membership)
    session.commit()
    return membership


def consents_make_consent(session: Session, participant: Participant, **overrides: Any) -> Consent:
    values: dict[str, Any] = {
        "participant_id": participant.id,
        "kind": ConsentKind.image_use,
        "purposes": [Purpose.website],
        "given_by": GivenBy.parent_carer,
        "given_by_name": "A Carer",
        "given_on": date(2024, 1, 10),
    }
    values.update(overrides)
    consent = Consent(**values)
    session.add(consent)
    session.commit()
    return consent


# --- incidents (helpers prefixed so they cannot clash with other domains' helpers) ---------------------


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
