"""The controls register and the technology register, through the API and into the organisation report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.auth.roles import Role
from api.controls.overdue import announce_overdue
from api.webhooks.models import WebhookDelivery, WebhookEvent
from tests.clock import FixedClock
from tests.kit.auth import Actor, make_actor
from tests.kit.requests import refused_field
from tests.kit.webhooks import subscribe

SEEDED = ["CTL-PHYSICAL-SECURITY", "CTL-POLICY-DISPLAYED", "CTL-SECURITY-REVIEW"]


def _org_outcome(client: TestClient, actor: Actor, rule_id: str) -> str:
    r = client.get("/api/v1/compliance", headers=actor.headers)
    assert r.status_code == 200, r.text
    [f] = [f for f in r.json()["organisation"]["findings"] if f["rule_id"] == rule_id]
    return str(f["outcome"])


def _control(client: TestClient, actor: Actor, code: str) -> dict[str, Any]:
    controls: list[dict[str, Any]] = client.get("/api/v1/controls", headers=actor.headers).json()["items"]
    return next(c for c in controls if c["code"] == code)


def test_the_policy_s_controls_are_seeded_without_an_owner(client: TestClient, trustee: Actor) -> None:
    controls = client.get("/api/v1/controls", headers=trustee.headers).json()["items"]
    assert [c["code"] for c in controls] == SEEDED
    assert all(c["owner_id"] is None for c in controls)
    assert _org_outcome(client, trustee, "ORG-SECURITY-REVIEW") == "fail"


def test_an_owner_checks_a_control_and_the_rule_follows(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    assert staff_actor.staff is not None
    control = _control(client, coordinator, "CTL-SECURITY-REVIEW")
    url = f"/api/v1/controls/{control['id']}"
    r = client.patch(url, json={"owner_id": str(staff_actor.staff.id)}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert _org_outcome(client, coordinator, "ORG-SECURITY-REVIEW") == "fail"  # never checked

    check = {"performed_on": str(fixed_clock.today), "result": "issues_found", "evidence_ref": "IT-1"}
    r = client.post(f"{url}/checks", json=check, headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    assert r.json()["performed_by_id"] == str(staff_actor.staff.id)
    assert _org_outcome(client, coordinator, "ORG-SECURITY-REVIEW") == "fail"  # issues, no follow-up

    fixed_clock.advance(seconds=1)  # recorded after the first: of one day's checks the last recorded counts
    followed = check | {"follow_up": "Laptop 3 encrypted the same day."}
    assert client.post(f"{url}/checks", json=followed, headers=staff_actor.headers).status_code == 201
    assert _org_outcome(client, coordinator, "ORG-SECURITY-REVIEW") == "pass"
    assert [
        c["result"] for c in client.get(f"{url}/checks", headers=coordinator.headers).json()["items"]
    ] == [
        "issues_found",
        "issues_found",
    ]
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "control_check.create")).all()
    assert len(events) == 2
    assert all("Laptop" not in str(e.changes) for e in events)


def test_a_control_s_owner_must_be_current_staff_and_checks_are_signed_as_oneself(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    gone = make_actor(session, Role.staff, left_on=fixed_clock.today - timedelta(days=1))
    assert gone.staff is not None
    assert coordinator.staff is not None
    control = _control(client, coordinator, "CTL-PHYSICAL-SECURITY")
    url = f"/api/v1/controls/{control['id']}"
    r = client.patch(url, json={"owner_id": str(gone.staff.id)}, headers=coordinator.headers)
    assert refused_field(r) == "owner_id"
    check = {
        "performed_on": str(fixed_clock.today),
        "result": "ok",
        "performed_by_id": str(coordinator.staff.id),
    }
    assert client.post(f"{url}/checks", json=check, headers=staff_actor.headers).status_code == 403
    future = check | {"performed_on": str(fixed_clock.today + timedelta(days=1))}
    r = client.post(f"{url}/checks", json=future, headers=coordinator.headers)
    assert refused_field(r) == "performed_on"


def test_a_technology_in_use_needs_an_assessment_made_before_it(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, staff_actor: Actor
) -> None:
    today = fixed_clock.today
    assert _org_outcome(client, coordinator, "ORG-TECHNOLOGY-ASSESSED") == "not_applicable"
    body = {"name": "Padlet", "purpose": "Shared boards", "first_used_on": str(today - timedelta(days=10))}
    r = client.post("/api/v1/technologies", json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    url = f"/api/v1/technologies/{r.json()['id']}/assessments"
    assert _org_outcome(client, coordinator, "ORG-TECHNOLOGY-ASSESSED") == "fail"
    late = {
        "assessed_on": str(today),
        "risks": "Public links",
        "mitigations": "Org only",
        "decision": "approved",
    }
    assert client.post(url, json=late, headers=staff_actor.headers).status_code == 201
    assert _org_outcome(client, coordinator, "ORG-TECHNOLOGY-ASSESSED") == "fail"  # after first use
    # Dated before the first use but recorded today: written up after the fact, it does not count.
    early = late | {"assessed_on": str(today - timedelta(days=20))}
    assert client.post(url, json=early, headers=staff_actor.headers).status_code == 201
    assert _org_outcome(client, coordinator, "ORG-TECHNOLOGY-ASSESSED") == "fail"
    assert client.get(url, headers=coordinator.headers).json()["total"] == 2


def test_an_overdue_control_is_announced_once_per_due_date(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    subscribe(session, WebhookEvent.control_overdue)
    control = _control(client, coordinator, "CTL-SECURITY-REVIEW")
    long_ago = {"performed_on": str(fixed_clock.today - timedelta(days=200)), "result": "ok"}
    url = f"/api/v1/controls/{control['id']}/checks"
    assert client.post(url, json=long_ago, headers=coordinator.headers).status_code == 201
    assert announce_overdue(session) == 1
    assert announce_overdue(session) == 0  # the same due date: already announced
    [delivery] = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.event_type == WebhookEvent.control_overdue)
    ).all()
    assert f'"control_id":"{control["id"]}"' in delivery.body
    assert '"days_overdue":20' in delivery.body
    assert "security" not in delivery.body.lower()


def test_only_the_owner_or_a_coordinator_records_a_check(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    # Found by a breaker: any member of staff could record an "ok" check and so clear a failed control.
    owner = make_actor(session, Role.staff)
    assert owner.staff is not None
    control = _control(client, coordinator, "CTL-PHYSICAL-SECURITY")
    url = f"/api/v1/controls/{control['id']}"
    assert client.patch(url, json={"owner_id": str(owner.staff.id)}, headers=coordinator.headers).is_success
    found = {"performed_on": str(fixed_clock.today), "result": "issues_found"}
    assert client.post(f"{url}/checks", json=found, headers=owner.headers).status_code == 201
    assert _org_outcome(client, coordinator, "ORG-PHYSICAL-SECURITY") == "fail"

    ok = {"performed_on": str(fixed_clock.today), "result": "ok"}
    r = client.post(f"{url}/checks", json=ok, headers=staff_actor.headers)
    assert r.status_code == 403, r.text
    assert _org_outcome(client, coordinator, "ORG-PHYSICAL-SECURITY") == "fail"
    fixed_clock.advance(seconds=1)  # recorded after the first: of one day's checks the last recorded counts
    assert client.post(f"{url}/checks", json=ok, headers=coordinator.headers).status_code == 201
    assert _org_outcome(client, coordinator, "ORG-PHYSICAL-SECURITY") == "pass"


@pytest.mark.parametrize("blank", [" \t ", "\u200b", "\ufeff \u200d"])
def test_a_blank_follow_up_is_refused(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, blank: str
) -> None:
    control = _control(client, coordinator, "CTL-SECURITY-REVIEW")
    check = {"performed_on": str(fixed_clock.today), "result": "issues_found", "follow_up": blank}
    r = client.post(f"/api/v1/controls/{control['id']}/checks", json=check, headers=coordinator.headers)
    assert refused_field(r) == "follow_up"
