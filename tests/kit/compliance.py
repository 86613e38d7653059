"""The compliance tests' records and situations (api/compliance): waivers; a group that passes every rule,
built from the record factories; many members or groups inserted in a few statements."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from api import clock
from api.auth.roles import Role
from api.compliance.models import Waiver
from api.consents.models import Consent, ConsentKind, GivenBy, Purpose
from api.groups.models import Group, Visibility
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor
from tests.kit.clock import FixedClock
from tests.kit.consents import make_consent
from tests.kit.declarations import make_declaration
from tests.kit.groups import make_group, make_review, make_risk_assessment
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.records import add, row, unique
from tests.kit.staff import make_staff


def group_fields(**overrides: Any) -> dict[str, Any]:
    """How the compliance tests' groups differ from `make_group`'s: they share images (so the image-use rule
    applies), take young adults up to 25, and started 60 days ago; then `overrides`. For
    `make_group(session, **group_fields(...))`."""
    fields = {"shares_images": True, "max_age": 25, "started_on": clock.today() - timedelta(days=60)}
    return {**fields, **overrides}


def _fifteen_year_old(session: Session) -> Participant:
    """A child who turned fifteen ten days ago and joined 400 days ago (long before the group started)."""
    today = clock.today()
    return make_participant(
        session,
        full_name=unique("Child "),
        date_of_birth=today.replace(year=today.year - 15) - timedelta(days=10),
        joined_on=today - timedelta(days=400),
    )


def make_compliant_group(session: Session, coordinator: Staff, **overrides: Any) -> Group:
    """A group that passes every rule: it shares images (so the image-use rule applies), takes ages 11 to 25
    and started 60 days ago; the coordinator and another admin, both declared; one participant with the
    three consents the rules read; assessed in advance and reviewed 10 days ago. `overrides` are the
    group's fields."""
    today = clock.today()
    group = make_group(session, **group_fields(**overrides))
    other = make_staff(session, uses_social_media_for_work=True)
    make_membership(session, group, staff=coordinator, role=MemberRole.admin)
    make_membership(session, group, staff=other, role=MemberRole.admin)
    for person in (coordinator, other):
        make_declaration(session, person)
    child = _fifteen_year_old(session)
    make_membership(session, group, participant=child)
    given_on = today - timedelta(days=300)
    make_consent(session, child, ConsentKind.esafety_agreement, given_on=given_on)
    images = [Purpose.social_media, Purpose.website]
    make_consent(session, child, ConsentKind.image_use, purposes=images, given_on=given_on)
    make_consent(session, child, ConsentKind.code_of_conduct, given_by=GivenBy.participant, given_on=given_on)
    make_risk_assessment(session, group, coordinator)
    make_review(session, group, coordinator, today - timedelta(days=10))
    return group


def bulk_members(session: Session, group: Group, n: int) -> None:
    """`n` participant members of `group`, each with the three consents the rules read, inserted in three
    statements (quick at 1,000)."""
    people = [
        row(
            full_name=f"Bulk Child {i}",
            date_of_birth=clock.today().replace(year=clock.today().year - 15),
            is_vulnerable_adult=False,
            joined_on=clock.today() - timedelta(days=400),
        )
        for i in range(n)
    ]
    session.execute(sa.insert(Participant), people)
    session.execute(
        sa.insert(Membership),
        [
            row(group_id=group.id, participant_id=p["id"], role="member", started_on=group.started_on)
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
                row(
                    participant_id=p["id"],
                    kind=kind,
                    purposes=purposes,
                    given_by=given_by,
                    given_by_name="Carer",
                    given_on=clock.today() - timedelta(days=100),
                )
            )
    session.execute(sa.insert(Consent), consents)
    session.commit()


def bulk_groups(session: Session, n: int, admins: tuple[Staff, Staff]) -> list[uuid.UUID]:
    """`n` groups, each with the two admins and one participant member, in a handful of statements; their
    ids."""
    groups = [
        row(
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
    session.execute(sa.insert(Group), groups)
    child = _fifteen_year_old(session)
    members = []
    for g in groups:
        members += [
            row(
                group_id=g["id"], staff_id=a.id, participant_id=None, role="admin", started_on=g["started_on"]
            )
            for a in admins
        ]
        members.append(
            row(
                group_id=g["id"],
                staff_id=None,
                participant_id=child.id,
                role="member",
                started_on=g["started_on"],
            )
        )
    session.execute(sa.insert(Membership), members)
    session.commit()
    return [g["id"] for g in groups]


def make_waiver(session: Session, group: Group, **overrides: Any) -> Waiver:
    """A coordinator's waiver of the review rule in `group` for the next 30 days."""
    values: dict[str, Any] = {
        "group_id": group.id,
        "rule_id": "GRP-REVIEWED",
        "reason": "Review booked",
        "expires_on": clock.today() + timedelta(days=30),
        "granted_by_label": "coordinator",
    }
    return add(session, Waiver, values, overrides)


WAIVED_TO_MIDNIGHT = "GRP-VISIBILITY-CLOSED"


def waived_to_midnight(fixed_clock: FixedClock, session: Session) -> tuple[Actor, Group]:
    """At 23:50 in London, a coordinator and a group that fails `WAIVED_TO_MIDNIGHT` (public) under a waiver
    that ends at midnight: its answer changes then with no write at all (the caches' day-rollover tests)."""
    fixed_clock.set(datetime(2026, 7, 2, 22, 50, tzinfo=UTC))
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff, visibility=Visibility.public)
    make_waiver(session, group, rule_id=WAIVED_TO_MIDNIGHT, expires_on=clock.today() + timedelta(days=1))
    return coordinator, group
