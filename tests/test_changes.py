from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.audit.models import AuditEvent
from api.auth.roles import ApiKeyScope
from api.changes.models import ChangeAction
from api.changes.service import classify
from api.config import get_settings
from api.db import utcnow
from api.webhooks.models import WebhookEvent
from tests.kit.audit import make_audit_event
from tests.kit.auth import PASSWORD, Actor, make_api_key
from tests.kit.clock import TODAY
from tests.kit.requests import refused_field

URL = "/api/v1/changes"
STAFF = "/api/v1/staff"


@pytest.fixture
def no_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "changes_settle_seconds", 0.0)


def new_staff(client: TestClient, actor: Actor, n: int) -> str:
    body = {
        "full_name": f"Person {n}",
        "email": f"person{n}@moremusic.org.uk",
        "employment_type": "volunteer",
        "started_on": "2024-01-01",
    }
    r = client.post(STAFF, json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def read_all(client: TestClient, actor: Actor, since: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    while True:
        r = client.get(URL, params={"since": since, "limit": limit}, headers=actor.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= limit
        items.extend(page["items"])
        since = page["next_cursor"]
        if not page["has_more"]:
            return items, since


@pytest.mark.usefixtures("no_settle")
def test_resumes_from_a_cursor_without_gaps_or_repeats(client: TestClient, coordinator: Actor) -> None:
    expected: list[tuple[str, str]] = []
    ids = [new_staff(client, coordinator, n) for n in range(5)]
    expected += [(i, "created") for i in ids]
    first, cursor = read_all(client, coordinator, 0, limit=2)
    assert [(c["entity_id"], c["action"]) for c in first] == expected

    # More writes while the consumer is away: it resumes where it stopped, across several pages.
    client.patch(f"{STAFF}/{ids[0]}", json={"job_title": "Leader"}, headers=coordinator.headers)
    client.post(f"{STAFF}/{ids[1]}/leave", json={"left_on": str(TODAY)}, headers=coordinator.headers)
    client.patch(f"{STAFF}/{ids[2]}", json={"left_on": str(TODAY)}, headers=coordinator.headers)
    more = [new_staff(client, coordinator, n) for n in range(5, 8)]
    later, cursor2 = read_all(client, coordinator, cursor, limit=2)
    assert [(c["entity_id"], c["action"]) for c in later] == [
        (ids[0], "updated"),
        (ids[1], "ended"),
        (ids[2], "ended"),
        *[(i, "created") for i in more],
    ]
    cursors = [c["cursor"] for c in first + later]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == len(cursors)
    # Nothing new: the same cursor comes back and the page is empty.
    r = client.get(URL, params={"since": cursor2}, headers=coordinator.headers).json()
    assert r == {"items": [], "next_cursor": cursor2, "has_more": False}


@pytest.mark.usefixtures("no_settle")
def test_a_change_carries_ids_only(client: TestClient, coordinator: Actor) -> None:
    new_staff(client, coordinator, 1)
    r = client.get(URL, headers=coordinator.headers)
    (change,) = r.json()["items"]
    assert set(change) == {"cursor", "entity_type", "entity_id", "action", "occurred_at"}
    assert change["entity_type"] == "staff"
    assert "Person 1" not in r.text
    assert "person1@" not in r.text


@pytest.mark.usefixtures("no_settle")
def test_sign_ins_and_webhooks_are_not_changes(client: TestClient, coordinator: Actor) -> None:
    assert coordinator.staff is not None
    signed = client.post(
        "/api/v1/auth/token", data={"username": coordinator.staff.email, "password": PASSWORD}
    )
    assert signed.status_code == 200
    hook = {"url": "http://127.0.0.1:9/hook", "events": [WebhookEvent.incident_reported.value]}
    assert client.post("/api/v1/webhooks", json=hook, headers=coordinator.headers).status_code == 201
    assert client.get(URL, headers=coordinator.headers).json()["items"] == []


def _event(session: Session, entity_type: str, *, age: timedelta, action: str = "x.create") -> AuditEvent:
    return make_audit_event(
        session, action=action, entity_type=entity_type, entity_id=uuid.uuid4(), occurred_at=utcnow() - age
    )


def test_only_settled_events_are_served_and_the_feed_stops_at_the_first_unsettled(
    client: TestClient, coordinator: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A settle delay far longer than any pause in the test, so a slow machine cannot settle the new event.
    monkeypatch.setattr(get_settings(), "changes_settle_seconds", 600.0)
    old = _event(session, "staff", age=timedelta(minutes=20))
    _event(session, "staff", age=timedelta(seconds=0))
    # Made earlier but numbered later, as when two transactions commit out of order.
    _event(session, "staff", age=timedelta(minutes=20))
    page = client.get(URL, headers=coordinator.headers).json()
    assert [c["entity_id"] for c in page["items"]] == [str(old.entity_id)]
    assert page["next_cursor"] == old.seq
    assert page["has_more"] is False


@pytest.mark.usefixtures("no_settle")
def test_a_key_sees_only_the_resources_it_may_read(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    staff = _event(session, "staff", age=timedelta(0))
    incident = _event(session, "incident", age=timedelta(0))
    reader = make_api_key(session, scopes=(ApiKeyScope.read,))
    seen = [c["entity_id"] for c in client.get(URL, headers=reader.headers).json()["items"]]
    assert seen == [str(staff.entity_id)]
    seen = [c["entity_id"] for c in client.get(URL, headers=coordinator.headers).json()["items"]]
    assert seen == [str(staff.entity_id), str(incident.entity_id)]
    writer_only = make_api_key(session, scopes=(ApiKeyScope.sync_write,))
    assert client.get(URL, headers=writer_only.headers).status_code == 403


def test_bad_parameters_are_422_naming_them(client: TestClient, coordinator: Actor) -> None:
    for params, field in (({"since": -1}, "since"), ({"limit": 0}, "limit"), ({"limit": 1001}, "limit")):
        r = client.get(URL, params=params, headers=coordinator.headers)
        assert refused_field(r) == field


def test_classify() -> None:
    assert classify("incident.report", {}) is ChangeAction.created
    assert classify("consent.withdraw", {}) is ChangeAction.ended
    assert (
        classify("staff.update", {"left_on": {"before": None, "after": "2026-01-01"}}) is ChangeAction.ended
    )
    assert classify("staff.update", {"left_on": {"before": "2026-01-01", "after": "2026-02-01"}}) is (
        ChangeAction.updated
    )
    assert classify("membership.update", {"role": {"before": "member", "after": "admin"}}) is (
        ChangeAction.updated
    )


def test_events_written_together_get_distinct_increasing_cursors(session: Session) -> None:
    # One flush of several events (a batch) must not give them the same number.
    events = [
        AuditEvent(actor_type="system", action="staff.create", entity_type="staff", entity_id=uuid.uuid4())
        for _ in range(4)
    ]
    session.add_all(events)
    session.commit()
    for e in events:
        session.refresh(e)
    seqs = [e.seq for e in events]
    assert None not in seqs
    assert len(set(seqs)) == 4
