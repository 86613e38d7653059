"""Plain helpers that make records directly in the test database, and signed-in callers."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from api import clock
from api.auth import tokens
from api.auth.models import ApiKey, User
from api.auth.passwords import hash_password
from api.auth.principal import hash_api_key
from api.auth.roles import ApiKeyScope, Role
from api.config import get_settings
from api.consents.models import Consent, ConsentKind, GivenBy, Purpose
from api.declarations.models import StaffDeclaration
from api.groups.models import Group, JoinApproval, Platform, Visibility, seen_by_all_default
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.policy.versions import PolicyVersion
from api.staff.models import EmploymentType, Staff

# Other tests' fixed dates; the helpers below read the clock when called, so `fixed_clock` moves them.
TODAY = clock.today()
PASSWORD = "correct horse battery staple"


@dataclass
class Actor:
    role: Role
    headers: dict[str, str]
    staff: Staff | None = None
    user: User | None = None
    key: ApiKey | None = None


R = TypeVar("R", bound=SQLModel)


def _add(session: Session, model: type[R], defaults: dict[str, Any], overrides: dict[str, Any]) -> R:
    """Make one record from a helper's defaults and the test's overrides, and commit it. A group's
    messages_seen_by_all is its platform's default, as the API gives it, unless the test says otherwise."""
    values = {**defaults, **overrides}
    if model is Group and "messages_seen_by_all" not in values:
        values["messages_seen_by_all"] = seen_by_all_default(Platform(values["platform"]))
    record = model(**values)
    session.add(record)
    session.commit()
    return record


def _recorded(values: dict[str, Any], claimed: str) -> dict[str, Any]:
    """`values` with the record stamped as entered on the day it claims (mid-afternoon, never after now),
    unless the test says when: an evaluation as of a past day counts only what was recorded by then, so a
    helper's record dated in the past must have been recorded then too to keep its meaning."""
    if "created_at" in values:
        return values
    at: datetime = min(clock.now(), clock.start_of(values[claimed]) + timedelta(hours=15))
    return {**values, "created_at": at, "updated_at": at}


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def make_staff(session: Session, **overrides: Any) -> Staff:
    values: dict[str, Any] = {
        "full_name": f"Staff {_unique('')}",
        "email": f"{_unique('staff-')}@moremusic.org.uk",
        "employment_type": EmploymentType.employee,
        "started_on": clock.today() - timedelta(days=400),
        "code_of_conduct_signed_on": clock.today() - timedelta(days=300),
        "esafety_training_completed_on": clock.today() - timedelta(days=100),
    }
    return _add(session, Staff, values, overrides)


def token_headers(user: User) -> dict[str, str]:
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
        "started_on": clock.today() - timedelta(days=100),
    }
    return _add(session, Group, values, overrides)


def make_participant(session: Session, **overrides: Any) -> Participant:
    values: dict[str, Any] = {
        "full_name": f"Participant {_unique('')}",
        "date_of_birth": clock.today() - timedelta(days=15 * 365),
        "carer_name": f"Carer {_unique('')}",
        "carer_email": f"{_unique('carer-')}@example.org",
        "joined_on": clock.today() - timedelta(days=200),
    }
    return _add(session, Participant, values, overrides)


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
        "started_on": clock.today() - timedelta(days=100),
    }
    return _add(session, Membership, values, overrides)


# --- consents: participants, groups and memberships made directly with the models --------------------------


def consents_make_participant(session: Session, **overrides: Any) -> Participant:
    values: dict[str, Any] = {
        "full_name": f"Participant {_unique('')}",
        "date_of_birth": date(2010, 5, 17),
        "carer_name": "A Carer",
        "joined_on": clock.today() - timedelta(days=200),
    }
    return _add(session, Participant, values, overrides)


def consents_make_group(session: Session, **overrides: Any) -> Group:
    values: dict[str, Any] = {
        "name": _unique("Group "),
        "platform": Platform.facebook_group,
        "visibility": Visibility.closed,
        "join_approval": JoinApproval.admins_only,
        "started_on": clock.today() - timedelta(days=300),
    }
    return _add(session, Group, values, overrides)


consents_make_membership = make_membership


def consents_make_consent(session: Session, participant: Participant, **overrides: Any) -> Consent:
    values: dict[str, Any] = {
        "participant_id": participant.id,
        "kind": ConsentKind.image_use,
        "purposes": [Purpose.website],
        "given_by": GivenBy.parent_carer,
        "given_by_name": "A Carer",
        "given_on": date(2024, 1, 10),
    }
    return _add(session, Consent, _recorded({**values, **overrides}, "given_on"), {})


# --- incidents (helpers prefixed so they cannot clash with other domains' helpers) ---------------------


def incidents_make_participant(session: Session, **overrides: Any) -> Participant:
    values: dict[str, Any] = {
        "full_name": f"Young Person {_unique('')}",
        "date_of_birth": clock.today() - timedelta(days=14 * 365),
        "carer_name": "A Carer",
        "joined_on": clock.today() - timedelta(days=200),
    }
    return _add(session, Participant, values, overrides)


def incidents_make_group(session: Session, **overrides: Any) -> Group:
    values: dict[str, Any] = {
        "name": f"Group {_unique('')}",
        "platform": Platform.facebook_group,
        "visibility": Visibility.closed,
        "join_approval": JoinApproval.admins_only,
        "started_on": clock.today() - timedelta(days=100),
    }
    return _add(session, Group, values, overrides)


# --- compliance -------------------------------------------------------------------------------------------
# Records for the compliance tests, made directly with the models (other domains' routes are not needed).

from datetime import datetime as _datetime  # noqa: E402

import sqlalchemy as _sa  # noqa: E402

from api.groups.models import GroupReview, RiskAssessment  # noqa: E402
from api.incidents.models import Category, Incident, IncidentStatus, Severity  # noqa: E402


def compliance_group(session: Session, **overrides: Any) -> Group:
    values: dict[str, Any] = {
        "name": _unique("Group "),
        "platform": Platform.facebook_group,
        "visibility": Visibility.closed,
        "join_approval": JoinApproval.admins_only,
        "min_age": 11,
        "max_age": 25,
        "shares_images": True,
        "started_on": clock.today() - timedelta(days=60),
    }
    return _add(session, Group, values, overrides)


def compliance_participant(session: Session, **overrides: Any) -> Participant:
    values: dict[str, Any] = {
        "full_name": _unique("Child "),
        "date_of_birth": clock.today().replace(year=clock.today().year - 15) - timedelta(days=10),
        "carer_name": "A Carer",
        "carer_email": "carer@example.org",
        "joined_on": clock.today() - timedelta(days=400),
    }
    return _add(session, Participant, values, overrides)


def compliance_member(
    session: Session,
    group: Group,
    *,
    staff: Staff | None = None,
    participant: Participant | None = None,
    role: MemberRole = MemberRole.member,
    started_on: date | None = None,
    ended_on: date | None = None,
) -> Membership:
    membership = Membership(
        group_id=group.id,
        staff_id=staff.id if staff else None,
        participant_id=participant.id if participant else None,
        role=role,
        started_on=started_on or group.started_on,
        ended_on=ended_on,
    )
    session.add(membership)
    session.commit()
    return membership


def compliance_consent(
    session: Session, participant: Participant, kind: ConsentKind, **overrides: Any
) -> Consent:
    values: dict[str, Any] = {
        "participant_id": participant.id,
        "kind": kind,
        "purposes": [Purpose.social_media, Purpose.website] if kind is ConsentKind.image_use else [],
        "given_by": GivenBy.parent_carer,
        "given_by_name": "A Carer",
        "given_on": clock.today() - timedelta(days=300),
    }
    return _add(session, Consent, _recorded({**values, **overrides}, "given_on"), {})


def compliance_risk_assessment(
    session: Session, group: Group, assessor: Staff, assessed_on: date | None = None, **overrides: Any
) -> RiskAssessment:
    values: dict[str, Any] = {
        "group_id": group.id,
        "assessed_on": assessed_on or group.started_on - timedelta(days=7),
        "assessed_by_id": assessor.id,
        "risks": "Contact from strangers",
        "mitigations": "Closed group, admins approve",
        "privacy_features_checked": True,
    }
    return _add(session, RiskAssessment, _recorded({**values, **overrides}, "assessed_on"), {})


def compliance_review(session: Session, group: Group, reviewer: Staff, reviewed_on: date) -> GroupReview:
    values = {"group_id": group.id, "reviewed_on": reviewed_on, "reviewed_by_id": reviewer.id}
    return _add(session, GroupReview, _recorded(values, "reviewed_on"), {})


def compliance_incident(
    session: Session,
    group: Group,
    reporter: Staff,
    *,
    severity: Severity = Severity.high,
    created_at: _datetime | None = None,
    closed_at: _datetime | None = None,
) -> Incident:
    when = created_at or clock.now() - timedelta(days=2)
    incident = Incident(
        category=Category.cyberbullying,
        severity=severity,
        occurred_at=when,
        group_id=group.id,
        summary="Name-calling in the group chat",
        reported_by_id=reporter.id,
        status=IncidentStatus.closed if closed_at else IncidentStatus.investigating,
        closed_at=closed_at,
        created_at=when,
        updated_at=when,
    )
    session.add(incident)
    session.commit()
    return incident


def compliance_declaration(session: Session, staff: Staff, **overrides: Any) -> StaffDeclaration:
    """A declaration for the latest published policy version, every statement true, made 30 days ago."""
    latest = session.exec(select(PolicyVersion).order_by(col(PolicyVersion.number).desc())).first()
    assert latest is not None
    values: dict[str, Any] = {
        "staff_id": staff.id,
        "policy_version_id": latest.id,
        "policy_version": latest.number,
        "declared_on": clock.today() - timedelta(days=30),
        "read_policy": True,
        "profile_private": True,
        "no_young_friends": True,
        "no_personal_messages": True,
        "no_personal_follows": True,
        "recorded_by_label": "test",
    }
    return _add(session, StaffDeclaration, _recorded({**values, **overrides}, "declared_on"), {})


def compliance_compliant_group(session: Session, coordinator: Staff, **overrides: Any) -> Group:
    """A group that passes every rule: the coordinator and another admin, one participant with consents,
    assessed in advance and recently reviewed."""
    group = compliance_group(session, **overrides)
    other = make_staff(session, uses_social_media_for_work=True)
    compliance_member(session, group, staff=coordinator, role=MemberRole.admin)
    compliance_member(session, group, staff=other, role=MemberRole.admin)
    for person in (coordinator, other):
        compliance_declaration(session, person)
    child = compliance_participant(session)
    compliance_member(session, group, participant=child)
    compliance_consent(session, child, ConsentKind.esafety_agreement)
    compliance_consent(session, child, ConsentKind.image_use)
    compliance_consent(session, child, ConsentKind.code_of_conduct, given_by=GivenBy.participant)
    compliance_risk_assessment(session, group, coordinator)
    compliance_review(session, group, coordinator, clock.today() - timedelta(days=10))
    return group


def _row(**values: Any) -> dict[str, Any]:
    now = clock.now()
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, **values}


def compliance_bulk_members(session: Session, group: Group, n: int) -> None:
    """`n` participant members, each with the three consents the rules read, inserted in three statements
    (quick at 1,000)."""
    people = [
        _row(
            full_name=f"Bulk Child {i}",
            date_of_birth=clock.today().replace(year=clock.today().year - 15),
            is_vulnerable_adult=False,
            joined_on=clock.today() - timedelta(days=400),
        )
        for i in range(n)
    ]
    session.execute(_sa.insert(Participant), people)
    session.execute(
        _sa.insert(Membership),
        [
            _row(group_id=group.id, participant_id=p["id"], role="member", started_on=group.started_on)
            for p in people
        ],
    )
    consents = []
    for p in people:
        for kind, purposes, given_by in (
            ("esafety_agreement", [], "parent_carer"),
            ("image_use", ["social_media"], "parent_carer"),
            ("code_of_conduct", [], "participant"),
        ):
            consents.append(
                _row(
                    participant_id=p["id"],
                    kind=kind,
                    purposes=purposes,
                    given_by=given_by,
                    given_by_name="Carer",
                    given_on=clock.today() - timedelta(days=100),
                )
            )
    session.execute(_sa.insert(Consent), consents)
    session.commit()


def compliance_bulk_groups(session: Session, n: int, admins: tuple[Staff, Staff]) -> list[uuid.UUID]:
    """`n` groups, each with the two admins and one participant member, in a handful of statements."""
    groups = [
        _row(
            name=f"Bulk Group {i:04d}",
            platform="whatsapp" if i % 2 else "facebook_group",
            visibility="public" if i % 3 == 0 else "closed",
            join_approval="admins_only",
            shares_images=False,
            messages_seen_by_all=True,
            started_on=clock.today() - timedelta(days=30),
            status="active",
        )
        for i in range(n)
    ]
    session.execute(_sa.insert(Group), groups)
    child = compliance_participant(session)
    members = []
    for g in groups:
        members += [
            _row(
                group_id=g["id"], staff_id=a.id, participant_id=None, role="admin", started_on=g["started_on"]
            )
            for a in admins
        ]
        members.append(
            _row(
                group_id=g["id"],
                staff_id=None,
                participant_id=child.id,
                role="member",
                started_on=g["started_on"],
            )
        )
    session.execute(_sa.insert(Membership), members)
    session.commit()
    return [g["id"] for g in groups]
