"""Issue 15, the whole kind: a record entered after the fact must not make a past breach look compliant, and
an evaluation `as_of` a past day sees only what had been recorded by the end of that day (knowledge time).
Each record here is entered today with a claimed date in the past (`created_at` now), as a backdated entry
is."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.consents.models import ConsentKind
from api.groups.models import Group
from api.memberships.models import MemberRole
from tests.clock import FixedClock
from tests.factories import (
    compliance_consent,
    compliance_group,
    compliance_participant,
    compliance_review,
    compliance_risk_assessment,
)
from tests.kit.auth import Actor
from tests.kit.declarations import make_declaration as compliance_declaration
from tests.kit.memberships import make_membership as compliance_member
from tests.kit.staff import make_staff


def _group_finding(
    client: TestClient, actor: Actor, group: Group, rule_id: str, as_of: date | None = None
) -> Any:
    url = f"/api/v1/groups/{group.id}/compliance" + (f"?as_of={as_of}" if as_of else "")
    r = client.get(url, headers=actor.headers)
    assert r.status_code == 200, r.text
    [f] = [f for f in r.json()["findings"] if f["rule_id"] == rule_id]
    return f


def _org_finding(client: TestClient, actor: Actor, rule_id: str, as_of: date | None = None) -> Any:
    r = client.get("/api/v1/compliance" + (f"?as_of={as_of}" if as_of else ""), headers=actor.headers)
    assert r.status_code == 200, r.text
    [f] = [f for f in r.json()["organisation"]["findings"] if f["rule_id"] == rule_id]
    return f


def _assessed_a_week_before_it_started(
    session: Session, coordinator: Actor, today: date, **recorded: Any
) -> Group:
    """A group started ten days before `today`, the coordinator its admin, with the coordinator's risk
    assessment dated a week before it started (entered on that day unless `recorded` says when)."""
    assert coordinator.staff is not None
    group = compliance_group(session, started_on=today - timedelta(days=10))
    compliance_member(session, group, staff=coordinator.staff, role=MemberRole.admin)
    compliance_risk_assessment(session, group, coordinator.staff, today - timedelta(days=17), **recorded)
    return group


def test_a_group_risk_assessment_recorded_after_the_start_is_not_in_advance(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    today = fixed_clock.today
    # Entered today, dated a week before the group started.
    claimed = today - timedelta(days=17)
    group = _assessed_a_week_before_it_started(session, coordinator, today, created_at=clock.now())
    f = _group_finding(client, coordinator, group, "GRP-RISK-ASSESSED")
    assert f["outcome"] == "fail"
    [evidence] = f["evidence"]
    # Both dates shown: the day it claims and the day it was recorded.
    assert f"risk assessment of {claimed} (recorded on {today})" in evidence["label"]
    assert "recorded after the group started" in evidence["detail"]


def test_a_group_risk_assessment_recorded_on_its_day_is_in_advance(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    # The factory's record is entered on the day it claims: the same assessment passes.
    group = _assessed_a_week_before_it_started(session, coordinator, fixed_clock.today)
    assert _group_finding(client, coordinator, group, "GRP-RISK-ASSESSED")["outcome"] == "pass"


def test_as_of_a_past_day_counts_only_reviews_recorded_by_then(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    today = fixed_clock.today
    group = compliance_group(session, started_on=today - timedelta(days=400))
    review = compliance_review(session, group, coordinator.staff, today - timedelta(days=10))
    review.created_at = review.updated_at = clock.now()  # entered today, dated ten days ago
    session.add(review)
    session.commit()
    assert _group_finding(client, coordinator, group, "GRP-PERIODIC-REVIEW")["outcome"] == "pass"
    past = _group_finding(client, coordinator, group, "GRP-PERIODIC-REVIEW", today - timedelta(days=5))
    assert past["outcome"] == "fail"
    assert "never reviewed" in past["message"]


def test_as_of_a_past_day_counts_only_declarations_recorded_by_then(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, compliant_group: Group
) -> None:
    today = fixed_clock.today
    late = make_staff(session, uses_social_media_for_work=True)
    compliance_member(session, compliant_group, staff=late, role=MemberRole.admin)
    compliance_declaration(session, late, declared_on=today - timedelta(days=30), created_at=clock.now())
    past = today - timedelta(days=5)
    assert _group_finding(client, coordinator, compliant_group, "GRP-STAFF-DECLARATIONS")["outcome"] == "pass"
    assert (
        _group_finding(client, coordinator, compliant_group, "GRP-STAFF-DECLARATIONS", past)["outcome"]
        == "fail"
    )
    url = f"/api/v1/staff/{late.id}/compliance"
    for as_of, outcome in ((today, "pass"), (past, "fail")):
        r = client.get(f"{url}?as_of={as_of}", headers=coordinator.headers)
        assert r.status_code == 200, r.text
        [f] = [f for f in r.json()["findings"] if f["rule_id"] == "STF-SOCIAL-MEDIA-DECLARATION"]
        assert f["outcome"] == outcome, (as_of, f)


def test_as_of_a_past_day_counts_only_consents_recorded_by_then(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, compliant_group: Group
) -> None:
    today = fixed_clock.today
    child = compliance_participant(session)
    compliance_member(session, compliant_group, participant=child, started_on=today - timedelta(days=100))
    # The agreement is entered today, dated 300 days ago: on a past day nobody had recorded it.
    compliance_consent(session, child, ConsentKind.esafety_agreement, created_at=clock.now())
    past = today - timedelta(days=5)
    assert _group_finding(client, coordinator, compliant_group, "GRP-ESAFETY-AGREEMENT")["outcome"] == "pass"
    assert (
        _group_finding(client, coordinator, compliant_group, "GRP-ESAFETY-AGREEMENT", past)["outcome"]
        == "fail"
    )


def test_as_of_a_past_day_counts_only_control_checks_recorded_by_then(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    today = fixed_clock.today
    controls = client.get("/api/v1/controls", headers=coordinator.headers).json()["items"]
    [control] = [c for c in controls if c["code"] == "CTL-SECURITY-REVIEW"]
    url = f"/api/v1/controls/{control['id']}"
    r = client.patch(url, json={"owner_id": str(coordinator.staff.id)}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    # Entered today, dated ten days ago.
    check = {"performed_on": str(today - timedelta(days=10)), "result": "ok", "evidence_ref": "IT-1"}
    assert client.post(f"{url}/checks", json=check, headers=coordinator.headers).status_code == 201
    assert _org_finding(client, coordinator, "ORG-SECURITY-REVIEW")["outcome"] == "pass"
    past = _org_finding(client, coordinator, "ORG-SECURITY-REVIEW", today - timedelta(days=5))
    assert past["outcome"] == "fail"
