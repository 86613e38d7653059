from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.staff.models import Staff
from tests.factories import Actor

URL = "/api/v1/sync/staff"


def person(n: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": f"crm-{n}",
        "full_name": f"Person {n}",
        "email": f"person{n}@moremusic.org.uk",
        "employment_type": "sessional",
        "started_on": "2025-03-01",
    }
    data.update(overrides)
    return data


def test_the_same_batch_twice_is_unchanged_the_second_time(client: TestClient, integration: Actor) -> None:
    batch = {"records": [person(i) for i in range(5)]}
    first = client.post(URL, json=batch, headers=integration.headers).json()
    assert [r["status"] for r in first["results"]] == ["created"] * 5
    second = client.post(URL, json=batch, headers=integration.headers).json()
    assert [r["status"] for r in second["results"]] == ["unchanged"] * 5
    assert second["counts"] == {"created": 0, "updated": 0, "unchanged": 5, "rejected": 0}
    assert [r["id"] for r in second["results"]] == [r["id"] for r in first["results"]]


def test_one_invalid_record_is_explained_and_the_rest_are_stored(
    client: TestClient, integration: Actor, session: Session
) -> None:
    records = [person(1), person(2, email="not-an-email", started_on="someday"), person(3)]
    body = client.post(URL, json={"records": records}, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == ["created", "rejected", "created"]
    rejected = body["results"][1]
    assert rejected["index"] == 1
    assert rejected["external_id"] == "crm-2"
    assert {e["field"] for e in rejected["errors"]} == {"email", "started_on"}
    stored = session.exec(select(Staff.external_id).order_by(Staff.external_id)).all()
    assert "crm-2" not in stored
    assert {"crm-1", "crm-3"} <= set(stored)


def test_a_clash_rejects_only_that_record(client: TestClient, integration: Actor, session: Session) -> None:
    client.post(URL, json={"records": [person(1)]}, headers=integration.headers)
    records = [person(2, email="person1@moremusic.org.uk"), person(3), person(4, left_on="2020-01-01")]
    body = client.post(URL, json={"records": records}, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == ["rejected", "created", "rejected"]
    assert body["results"][0]["code"] == "conflict"
    assert body["results"][2]["errors"][0]["field"] == "left_on"
    count = session.exec(select(func.count()).select_from(Staff).where(Staff.external_id == "crm-2")).one()
    assert count == 0


def test_updates_are_reported_in_input_order(client: TestClient, integration: Actor) -> None:
    client.post(URL, json={"records": [person(1), person(2)]}, headers=integration.headers)
    records = [person(3), person(2, job_title="Tutor"), person(1), person(2, full_name="dup")]
    body = client.post(URL, json={"records": records}, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == ["created", "updated", "unchanged", "rejected"]
    assert body["results"][3]["detail"] == "external_id: appears earlier in this batch"


def test_missing_external_id_and_oversized_batches(client: TestClient, integration: Actor) -> None:
    no_id = person(1)
    del no_id["external_id"]
    body = client.post(URL, json={"records": [no_id]}, headers=integration.headers).json()
    assert body["results"][0]["errors"][0]["field"] == "external_id"
    too_many = {"records": [person(i) for i in range(1001)]}
    r = client.post(URL, json=too_many, headers=integration.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "records"


def test_a_read_only_key_cannot_sync(client: TestClient, session: Session) -> None:
    from api.auth.roles import ApiKeyScope
    from tests.factories import make_api_key

    reader = make_api_key(session, scopes=(ApiKeyScope.read,))
    assert client.post(URL, json={"records": [person(1)]}, headers=reader.headers).status_code == 403
