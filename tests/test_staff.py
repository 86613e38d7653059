from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from tests.kit.audit import patched_and_audited
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.requests import refused_field, request_body
from tests.kit.staff import make_staff

URL = "/api/v1/staff"


body = request_body(
    {
        "full_name": "Asha Patel",
        "email": "Asha.Patel@moremusic.org.uk",
        "employment_type": "sessional",
        "job_title": "Music leader",
        "started_on": "2024-09-01",
        "uses_social_media_for_work": True,
        "code_of_conduct_signed_on": "2024-09-02",
        "external_id": "crm-1001",
    }
)


def test_create_read_and_audit(client: TestClient, coordinator: Actor, session: Session) -> None:
    r = client.post(URL, json=body(), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["email"] == "asha.patel@moremusic.org.uk"  # stored lower-case, so uniqueness is real
    assert created["is_current"] is True
    assert created["version"] == 1
    assert created["created_at"].endswith("Z") or "+00:00" in created["created_at"]
    got = client.get(f"{URL}/{created['id']}", headers=coordinator.headers).json()
    assert got == created
    events = session.exec(select(AuditEvent).where(AuditEvent.entity_id == uuid.UUID(created["id"]))).all()
    assert [e.action for e in events] == ["staff.create"]
    assert events[0].actor_id == coordinator.user.id  # type: ignore[union-attr]


def test_duplicate_email_is_409_naming_the_field(client: TestClient, coordinator: Actor) -> None:
    assert client.post(URL, json=body(), headers=coordinator.headers).status_code == 201
    r = client.post(
        URL, json=body(external_id="crm-2", email="ASHA.PATEL@moremusic.org.uk"), headers=coordinator.headers
    )
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "conflict"
    assert r.json()["field"] == "email"


def test_invalid_input_names_each_field(client: TestClient, coordinator: Actor) -> None:
    r = client.post(
        URL,
        json=body(email="not-an-email", employment_type="pirate", surprise=1),
        headers=coordinator.headers,
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"email", "employment_type", "surprise"}


def test_left_before_started_is_422_naming_left_on(client: TestClient, coordinator: Actor) -> None:
    r = client.post(URL, json=body(left_on="2024-01-01"), headers=coordinator.headers)
    assert refused_field(r) == "left_on"


def test_unknown_id_is_404(client: TestClient, coordinator: Actor) -> None:
    r = client.get(f"{URL}/00000000-0000-0000-0000-000000000000", headers=coordinator.headers)
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    assert client.get(f"{URL}/not-a-uuid", headers=coordinator.headers).status_code == 422


def test_update_bumps_version_and_audits_the_diff(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    staff = make_staff(session, job_title="Volunteer")
    patched_and_audited(
        client, session, coordinator, f"{URL}/{staff.id}", "staff.update", job_title=("Volunteer", "Lead")
    )
    assert (
        client.patch(f"{URL}/{staff.id}", json={"full_name": None}, headers=coordinator.headers).status_code
        == 422
    )


def test_leave_keeps_the_record(client: TestClient, coordinator: Actor, session: Session) -> None:
    staff = make_staff(session)
    r = client.post(f"{URL}/{staff.id}/leave", json={"left_on": str(TODAY)}, headers=coordinator.headers)
    assert r.status_code == 200
    assert r.json()["is_current"] is False  # access ends on the day they leave
    departed = client.get(URL, params={"current": False}, headers=coordinator.headers).json()
    assert [s["id"] for s in departed["items"]] == [str(staff.id)]
    assert client.get(f"{URL}/{staff.id}", headers=coordinator.headers).status_code == 200


def test_list_filters_and_pages(client: TestClient, coordinator: Actor, session: Session) -> None:
    for i in range(5):
        make_staff(session, full_name=f"Volunteer {i}", employment_type="volunteer")
    make_staff(
        session, full_name="Gone", left_on=TODAY - timedelta(days=1), started_on=TODAY - timedelta(days=30)
    )
    r = client.get(
        URL, params={"employment_type": "volunteer", "limit": 2, "offset": 2}, headers=coordinator.headers
    )
    page = r.json()
    assert page["total"] == 5
    assert page["limit"] == 2
    assert page["offset"] == 2
    assert [s["full_name"] for s in page["items"]] == ["Volunteer 2", "Volunteer 3"]
    current = client.get(URL, params={"current": True, "q": "gone"}, headers=coordinator.headers).json()
    assert current["total"] == 0
    assert client.get(URL, params={"limit": 201}, headers=coordinator.headers).status_code == 422


def test_unauthenticated_is_401(client: TestClient) -> None:
    r = client.get(URL)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_an_update_that_changes_nothing_writes_nothing(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    staff = make_staff(session, job_title="Tutor")
    for patch in ({}, {"job_title": "Tutor"}):
        r = client.patch(f"{URL}/{staff.id}", json=patch, headers=coordinator.headers)
        assert r.status_code == 200
        assert r.json()["version"] == 1
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "staff.update")).all() == []
    stale = client.patch(f"{URL}/{staff.id}", json={}, headers={**coordinator.headers, "If-Match": '"9"'})
    assert stale.status_code == 412


def test_search_matches_wildcard_characters_literally(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    make_staff(session, full_name="Ana 100% Percussion")
    make_staff(session, full_name="Ana 1000 Percussion")
    found = client.get(URL, params={"q": "100%"}, headers=coordinator.headers).json()
    assert [s["full_name"] for s in found["items"]] == ["Ana 100% Percussion"]
    assert client.get(URL, params={"q": "a_a"}, headers=coordinator.headers).json()["total"] == 0
