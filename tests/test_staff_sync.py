"""The CRM's view of staff: ETags, If-Match, and create-or-replace by external id."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from tests.kit.auth import Actor
from tests.kit.etags import read_tag
from tests.kit.requests import refused_field, request_body
from tests.kit.staff import make_staff

URL = "/api/v1/staff"


record = request_body(
    {
        "full_name": "Jo Whitfield",
        "email": "jo.whitfield@moremusic.org.uk",
        "employment_type": "volunteer",
        "started_on": "2025-01-06",
        "uses_social_media_for_work": True,
        "code_of_conduct_signed_on": "2025-01-06",
    }
)


def test_every_answer_carries_an_etag(client: TestClient, coordinator: Actor, session: Session) -> None:
    staff = make_staff(session)
    got = client.get(f"{URL}/{staff.id}", headers=coordinator.headers)
    assert got.headers["etag"] == read_tag(1, got)
    patched = client.patch(f"{URL}/{staff.id}", json={"job_title": "Lead"}, headers=coordinator.headers)
    assert patched.headers["etag"] == '"2"'


def test_if_match_refuses_a_stale_write(client: TestClient, coordinator: Actor, session: Session) -> None:
    staff = make_staff(session, job_title="Tutor")
    first = client.patch(
        f"{URL}/{staff.id}", json={"job_title": "Lead"}, headers={**coordinator.headers, "If-Match": '"1"'}
    )
    assert first.status_code == 200
    stale = client.patch(
        f"{URL}/{staff.id}", json={"job_title": "Other"}, headers={**coordinator.headers, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    assert client.get(f"{URL}/{staff.id}", headers=coordinator.headers).json()["job_title"] == "Lead"
    weak = client.patch(
        f"{URL}/{staff.id}", json={"job_title": "Third"}, headers={**coordinator.headers, "If-Match": 'W/"2"'}
    )
    # RFC 9110 §13.1.1: If-Match compares strongly, so a weak tag never matches (issue 17 pass 2).
    assert weak.status_code == 412
    assert "weak" in weak.json()["detail"]
    junk = client.patch(f"{URL}/{staff.id}", json={}, headers={**coordinator.headers, "If-Match": "junk"})
    assert junk.status_code == 412


def test_upsert_creates_then_updates_then_changes_nothing(
    client: TestClient, integration: Actor, session: Session
) -> None:
    url = f"{URL}/by-external-id/crm-77"
    created = client.put(url, json=record(), headers=integration.headers)
    assert created.status_code == 201, created.text
    assert created.json()["external_id"] == "crm-77"
    updated = client.put(url, json=record(job_title="Drum tutor"), headers=integration.headers)
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.json()["version"] == 2
    again = client.put(url, json=record(job_title="Drum tutor"), headers=integration.headers)
    assert again.status_code == 200
    assert again.json()["version"] == 2  # an identical push writes nothing
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.action.like("staff.%"))).all()  # type: ignore[attr-defined]
    assert sorted(actions) == ["staff.create", "staff.update"]
    assert actions.count("staff.update") == 1


def test_upsert_is_a_full_replacement(client: TestClient, integration: Actor) -> None:
    url = f"{URL}/by-external-id/crm-78"
    client.put(url, json=record(job_title="Drum tutor"), headers=integration.headers)
    replaced = client.put(url, json=record(), headers=integration.headers)
    assert replaced.json()["job_title"] is None


def test_upsert_with_leaving_date_ends_access(client: TestClient, integration: Actor) -> None:
    url = f"{URL}/by-external-id/crm-79"
    client.put(url, json=record(), headers=integration.headers)
    left = client.put(url, json=record(left_on="2025-02-01"), headers=integration.headers)
    assert left.json()["is_current"] is False


def test_upsert_refuses_a_different_external_id_in_the_body(client: TestClient, integration: Actor) -> None:
    r = client.put(
        f"{URL}/by-external-id/crm-80", json=record(external_id="crm-81"), headers=integration.headers
    )
    assert refused_field(r) == "external_id"


def test_upsert_honours_if_match(client: TestClient, integration: Actor) -> None:
    url = f"{URL}/by-external-id/crm-82"
    assert (
        client.put(url, json=record(), headers={**integration.headers, "If-Match": '"1"'}).status_code == 412
    )
    client.put(url, json=record(), headers=integration.headers)
    stale = client.put(url, json=record(job_title="X"), headers={**integration.headers, "If-Match": '"7"'})
    assert stale.status_code == 412
