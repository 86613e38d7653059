"""Online groups (api/groups): the group, its risk assessments and its reviews."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlmodel import Session

from api import clock
from api.groups.models import (
    Group,
    GroupReview,
    JoinApproval,
    Platform,
    RiskAssessment,
    Visibility,
    seen_by_all_default,
)
from api.staff.models import Staff
from tests.kit.records import add, recorded, unique


def make_group(session: Session, **overrides: Any) -> Group:
    """An active, closed, admins-approve Facebook group for ages 11 to 18 that started 100 days ago. Whether
    every member sees every message is the platform's default, as the API gives it, unless overridden."""
    values: dict[str, Any] = {
        "name": f"Group {unique('')}",
        "platform": Platform.facebook_group,
        "project": "Youth Orchestra",
        "visibility": Visibility.closed,
        "join_approval": JoinApproval.admins_only,
        "min_age": 11,
        "max_age": 18,
        "started_on": clock.today() - timedelta(days=100),
    }
    platform = Platform(overrides.get("platform", values["platform"]))
    values["messages_seen_by_all"] = seen_by_all_default(platform)
    return add(session, Group, values, overrides)


def make_risk_assessment(
    session: Session, group: Group, assessor: Staff, assessed_on: date | None = None, **overrides: Any
) -> RiskAssessment:
    """A full risk assessment of `group` by `assessor`, a week before the group started unless dated."""
    values: dict[str, Any] = {
        "group_id": group.id,
        "assessed_on": assessed_on or group.started_on - timedelta(days=7),
        "assessed_by_id": assessor.id,
        "risks": "Contact from strangers",
        "mitigations": "Closed group, admins approve",
        "privacy_features_checked": True,
    }
    return add(session, RiskAssessment, recorded({**values, **overrides}, "assessed_on"), {})


def make_review(session: Session, group: Group, reviewer: Staff, reviewed_on: date) -> GroupReview:
    """A review of `group` by `reviewer` on `reviewed_on`."""
    values = {"group_id": group.id, "reviewed_on": reviewed_on, "reviewed_by_id": reviewer.id}
    return add(session, GroupReview, recorded(values, "reviewed_on"), {})
