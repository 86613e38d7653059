"""Issue 15 finding 9: of several records on one day, the one recorded last is the latest. Every rule that
reads "the latest" of a kind (a technology's decision, a control's last check, a group's last risk
assessment) takes its facts in recording order and, on a tie of days, the last recorded."""

from __future__ import annotations

import uuid

import pytest

from api.compliance.controls import control_result
from api.compliance.rules import grp_risk_privacy_features, org_technology_assessed
from api.compliance.rules.base import Outcome
from api.compliance.snapshot import (
    CheckFacts,
    ControlFacts,
    OrgSnapshot,
    RiskAssessmentFacts,
    TechnologyAssessmentFacts,
    TechnologyFacts,
    Thresholds,
)
from tests.compliance import builders as b

DAY = b.AS_OF - b.days(20)


@pytest.mark.parametrize(
    ("first", "then", "outcome"),
    [("approved", "rejected", Outcome.fail), ("rejected", "approved", Outcome.pass_)],
)
def test_two_assessments_of_a_technology_on_one_day_the_last_recorded_decides(
    first: str, then: str, outcome: Outcome
) -> None:
    assessments = (
        TechnologyAssessmentFacts(uuid.uuid4(), DAY, first, DAY),
        TechnologyAssessmentFacts(uuid.uuid4(), DAY, then, DAY),
    )
    tech = TechnologyFacts(uuid.uuid4(), "Discord", DAY, None, assessments)
    result = org_technology_assessed.check(OrgSnapshot(b.AS_OF, Thresholds(), technologies=(tech,)))
    assert result.outcome is outcome


@pytest.mark.parametrize(
    ("first", "then", "outcome"), [(False, True, Outcome.fail), (True, False, Outcome.pass_)]
)
def test_two_checks_of_a_control_on_one_day_the_last_recorded_is_its_state(
    first: bool, then: bool, outcome: Outcome
) -> None:
    # (issues found, follow-up recorded): an "ok" then issues with no follow-up the same day fails.
    checks = (CheckFacts(uuid.uuid4(), DAY, first, False), CheckFacts(uuid.uuid4(), DAY, then, False))
    control = ControlFacts(uuid.uuid4(), "CTL-X", "X", b.COORDINATOR, 90, 7, checks)
    snapshot = OrgSnapshot(b.AS_OF, Thresholds(), controls=(control,))
    assert control_result(snapshot, "CTL-X").outcome is outcome


@pytest.mark.parametrize(
    ("first", "then", "outcome"), [(True, False, Outcome.warn), (False, True, Outcome.pass_)]
)
def test_two_risk_assessments_of_a_group_on_one_day_the_last_recorded_counts(
    first: bool, then: bool, outcome: Outcome
) -> None:
    risks = (
        RiskAssessmentFacts(uuid.uuid4(), b.STARTED, b.COORDINATOR, True, first),
        RiskAssessmentFacts(uuid.uuid4(), b.STARTED, b.COORDINATOR, True, then),
    )
    result = grp_risk_privacy_features.check(b.group_snapshot(risk_assessments=risks))
    assert result.outcome is outcome
    assert result.evidence[0].id == risks[1].id
