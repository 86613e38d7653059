"""Moved to tests/kit: kept for the tests that still import the old names from here until they move to the
kit. Add nothing here; new helpers go in the kit (see tests/kit/__init__.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from api import clock
from api.consents.models import Consent, ConsentKind, Purpose
from api.groups.models import Group, GroupReview, RiskAssessment
from api.participants.models import Participant
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor, make_api_key, signed_in_as, token_headers
from tests.kit.clock import TODAY
from tests.kit.compliance import bulk_groups as compliance_bulk_groups
from tests.kit.compliance import group_fields
from tests.kit.compliance import make_compliant_group as compliance_compliant_group
from tests.kit.consents import make_consent
from tests.kit.declarations import make_declaration as compliance_declaration
from tests.kit.groups import make_group, make_review, make_risk_assessment
from tests.kit.memberships import make_membership
from tests.kit.memberships import make_membership as compliance_member
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff


def compliance_group(session: Session, **overrides: Any) -> Group:
    """`make_group` as the compliance tests had it: sharing images, ages 11 to 25, started 60 days ago."""
    return make_group(session, **group_fields(**overrides))


def compliance_participant(session: Session, **overrides: Any) -> Participant:
    """`make_participant` as the compliance tests had it: fifteen ten days ago, joined 400 days ago."""
    today = clock.today()
    values: dict[str, Any] = {
        "date_of_birth": today.replace(year=today.year - 15) - timedelta(days=10),
        "joined_on": today - timedelta(days=400),
    }
    return make_participant(session, **{**values, **overrides})


def compliance_consent(
    session: Session, participant: Participant, kind: ConsentKind, **overrides: Any
) -> Consent:
    """`make_consent` as the compliance tests had it: images for social media and the website, given 300
    days ago."""
    values: dict[str, Any] = {
        "purposes": [Purpose.social_media, Purpose.website] if kind is ConsentKind.image_use else [],
        "given_on": clock.today() - timedelta(days=300),
    }
    return make_consent(session, participant, kind, **{**values, **overrides})


def compliance_risk_assessment(
    session: Session, group: Group, assessor: Staff, assessed_on: date | None = None, **overrides: Any
) -> RiskAssessment:
    return make_risk_assessment(session, group, assessor, assessed_on, **overrides)


def compliance_review(session: Session, group: Group, reviewer: Staff, reviewed_on: date) -> GroupReview:
    return make_review(session, group, reviewer, reviewed_on)


__all__ = [
    "TODAY",
    "Actor",
    "compliance_bulk_groups",
    "compliance_compliant_group",
    "compliance_consent",
    "compliance_declaration",
    "compliance_group",
    "compliance_member",
    "compliance_participant",
    "compliance_review",
    "compliance_risk_assessment",
    "make_actor",
    "make_api_key",
    "make_group",
    "make_membership",
    "make_participant",
    "make_staff",
    "signed_in_as",
    "token_headers",
]
