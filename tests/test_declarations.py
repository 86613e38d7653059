"""Staff declarations of personal social media conduct: recorded for the latest policy version, read by their
own and by coordinators, and due again when a new version is published or when they grow old."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.auth.roles import Role
from tests.clock import FixedClock
from tests.kit.auth import Actor, make_actor, token_headers
from tests.kit.declarations import EVERY_STATEMENT_HELD
from tests.kit.requests import refused_field, request_body
from tests.policy_publish import publish_confirmed

V1 = Path(__file__).resolve().parent.parent / "api" / "policy" / "esafety-policy-v1.txt"
RULE = "STF-SOCIAL-MEDIA-DECLARATION"


def _url(actor: Actor) -> str:
    assert actor.staff is not None
    return f"/api/v1/staff/{actor.staff.id}/declarations"


body = request_body({"policy_version": 1, **EVERY_STATEMENT_HELD})


def _outcome(client: TestClient, reader: Actor, person: Actor) -> str:
    assert person.staff is not None
    r = client.get(f"/api/v1/staff/{person.staff.id}/compliance", headers=reader.headers)
    assert r.status_code == 200, r.text
    [f] = [f for f in r.json()["findings"] if f["rule_id"] == RULE]
    return str(f["outcome"])


def test_a_member_of_staff_declares_for_themself_and_reads_it_back(
    fixed_clock: FixedClock, client: TestClient, session: Session, staff_actor: Actor
) -> None:
    assert _outcome(client, staff_actor, staff_actor) == "fail"
    r = client.post(_url(staff_actor), json=body(), headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    assert r.json()["declared_on"] == str(fixed_clock.today)
    assert r.json()["policy_version"] == 1
    listed = client.get(_url(staff_actor), headers=staff_actor.headers).json()["items"]
    assert [d["id"] for d in listed] == [r.json()["id"]]
    assert _outcome(client, staff_actor, staff_actor) == "pass"
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "staff_declaration.create")).all()
    assert event.changes["profile_private"] == {"before": None, "after": True}


def test_another_member_of_staff_is_out_of_reach_but_a_coordinator_records_for_anyone(
    client: TestClient, session: Session, staff_actor: Actor, coordinator: Actor
) -> None:
    other = make_actor(session, Role.staff)
    assert client.get(_url(other), headers=staff_actor.headers).status_code == 404
    assert client.post(_url(other), json=body(), headers=staff_actor.headers).status_code == 404
    r = client.post(_url(other), json=body(), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert _outcome(client, coordinator, other) == "pass"


def test_a_statement_declared_untrue_is_kept_and_fails(
    client: TestClient, staff_actor: Actor, coordinator: Actor
) -> None:
    r = client.post(_url(staff_actor), json=body(no_young_friends=False), headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    assert _outcome(client, coordinator, staff_actor) == "fail"


def test_only_the_latest_version_and_a_day_that_could_be_are_accepted(
    fixed_clock: FixedClock, client: TestClient, staff_actor: Actor
) -> None:
    for change, field in (
        ({"policy_version": 2}, "policy_version"),
        ({"declared_on": "2099-01-01"}, "declared_on"),
    ):
        r = client.post(_url(staff_actor), json=body(**change), headers=staff_actor.headers)
        assert refused_field(r) == field


def test_publishing_a_new_version_makes_every_declaration_due(
    fixed_clock: FixedClock, client: TestClient, staff_actor: Actor, coordinator: Actor
) -> None:
    assert client.post(_url(staff_actor), json=body(), headers=staff_actor.headers).status_code == 201
    assert _outcome(client, coordinator, staff_actor) == "pass"
    text = V1.read_text().replace("All More Music Facebook groups", "Every More Music Facebook group")
    r = publish_confirmed(client, coordinator.headers, {"text": text, "effective_on": str(fixed_clock.today)})
    assert r.status_code == 201, r.text
    assert _outcome(client, coordinator, staff_actor) == "warn"
    # Declaring for version 1 is no longer possible; for version 2 it holds again.
    assert client.post(_url(staff_actor), json=body(), headers=staff_actor.headers).status_code == 422
    r = client.post(_url(staff_actor), json=body(policy_version=2), headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    assert _outcome(client, coordinator, staff_actor) == "pass"


def test_declaration_valid_days_is_a_policy_setting(
    fixed_clock: FixedClock, client: TestClient, staff_actor: Actor, coordinator: Actor
) -> None:
    r = client.post(_url(staff_actor), json=body(), headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    settings = client.get("/api/v1/policy-settings", headers=coordinator.headers).json()
    assert settings["declaration_valid_days"] == 365
    fixed_clock.advance(days=20)
    assert coordinator.user is not None
    assert staff_actor.staff is not None
    headers = token_headers(coordinator.user)
    settings = {k: v for k, v in settings.items() if k not in ("updated_at", "version")}
    r = client.put("/api/v1/policy-settings", json=settings | {"declaration_valid_days": 10}, headers=headers)
    assert r.status_code == 200, r.text
    report = client.get(f"/api/v1/staff/{staff_actor.staff.id}/compliance", headers=headers).json()
    [f] = [f for f in report["findings"] if f["rule_id"] == RULE]
    assert f["outcome"] == "warn"
    assert "more than 10 days" in f["message"]
    r = client.put("/api/v1/policy-settings", json=settings | {"declaration_valid_days": 0}, headers=headers)
    assert refused_field(r) == "declaration_valid_days"
