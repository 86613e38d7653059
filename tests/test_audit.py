from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.db import utcnow
from tests.kit.audit import make_audit_event
from tests.kit.auth import Actor
from tests.kit.staff import make_staff
from tests.test_permission_matrix import served_routes

URL = "/api/v1/audit-events"


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


def test_writes_are_listed_newest_first_with_the_actor_and_the_diff(
    client: TestClient, coordinator: Actor
) -> None:
    r = client.post(
        "/api/v1/staff",
        json={
            "full_name": "Kai",
            "email": "kai@moremusic.org.uk",
            "employment_type": "student",
            "started_on": "2025-02-03",
        },
        headers=coordinator.headers,
    )
    staff_id = r.json()["id"]
    client.patch(f"/api/v1/staff/{staff_id}", json={"job_title": "Intern"}, headers=coordinator.headers)
    page = client.get(URL, params={"entity_id": staff_id}, headers=coordinator.headers).json()
    assert [e["action"] for e in page["items"]] == ["staff.update", "staff.create"]
    update = page["items"][0]
    assert coordinator.user is not None
    assert update["actor_type"] == "user"
    assert update["actor_id"] == str(coordinator.user.id)
    assert update["actor_label"] == coordinator.user.email
    assert update["entity_type"] == "staff"
    assert update["changes"] == {"job_title": {"before": None, "after": "Intern"}}


def test_filters(client: TestClient, coordinator: Actor, session: Session) -> None:
    now = utcnow()
    actor, entity = uuid.uuid4(), uuid.uuid4()
    old = make_audit_event(
        session, occurred_at=now - timedelta(days=10), actor_id=actor, entity_id=entity, action="staff.create"
    )
    mid = make_audit_event(
        session,
        occurred_at=now - timedelta(days=5),
        actor_id=actor,
        entity_type="consent",
        action="consent.create",
    )
    new = make_audit_event(
        session, occurred_at=now - timedelta(days=1), entity_id=entity, action="staff.update"
    )
    h = coordinator.headers
    assert ids(client.get(URL, params={"actor_id": str(actor)}, headers=h)) == [str(mid.id), str(old.id)]
    assert ids(client.get(URL, params={"entity_id": str(entity)}, headers=h)) == [str(new.id), str(old.id)]
    assert ids(client.get(URL, params={"entity_type": "consent"}, headers=h)) == [str(mid.id)]
    assert ids(client.get(URL, params={"action": "staff.update"}, headers=h)) == [str(new.id)]
    window = {"since": mid.occurred_at.isoformat(), "until": new.occurred_at.isoformat()}
    assert ids(client.get(URL, params=window, headers=h)) == [str(mid.id)]  # since inclusive, until exclusive
    both = {"actor_id": str(actor), "since": (now - timedelta(days=7)).isoformat()}
    assert ids(client.get(URL, params=both, headers=h)) == [str(mid.id)]


def test_paging_keeps_the_total(client: TestClient, coordinator: Actor, session: Session) -> None:
    now = utcnow()
    made = [
        make_audit_event(session, occurred_at=now - timedelta(minutes=i), action="test.paged")
        for i in range(5)
    ]
    params: dict[str, Any] = {"action": "test.paged", "limit": 2, "offset": 2}
    page = client.get(URL, params=params, headers=coordinator.headers).json()
    assert page["total"] == 5
    assert [e["id"] for e in page["items"]] == [str(made[2].id), str(made[3].id)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2025-01-01T00:00:00"}, "since"),  # no offset: ambiguous, refused rather than guessed
        ({"until": "yesterday"}, "until"),
        ({"since": "2025-02-01T00:00:00Z", "until": "2025-01-01T00:00:00Z"}, "until"),
        ({"entity_id": "not-a-uuid"}, "entity_id"),
        ({"limit": 500}, "limit"),
    ],
)
def test_bad_filters_name_the_field(
    client: TestClient, coordinator: Actor, params: dict[str, Any], field: str
) -> None:
    r = client.get(URL, params=params, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_no_route_changes_or_deletes_an_event(app: FastAPI) -> None:
    audit_routes = [(m, p) for m, p in served_routes(app) if p.startswith(URL)]
    assert audit_routes == [("GET", URL)]


def test_personal_fields_are_not_copied_into_the_log(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    staff = make_staff(session, full_name="Before Name")
    client.patch(f"/api/v1/staff/{staff.id}", json={"full_name": "After Name"}, headers=coordinator.headers)
    event = client.get(URL, params={"entity_id": str(staff.id)}, headers=coordinator.headers).json()["items"][
        0
    ]
    assert "Before Name" not in str(event)
    assert "After Name" not in str(event)
    assert event["changes"] == {"full_name": "<personal: changed>"}
