"""An API key created with `require_if_match` changes an existing record only with If-Match (issue 18):
without it a 428 in problem-details shape that writes nothing; other keys and users are unchanged."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.auth.models import ApiKey
from tests.kit.auth import Actor, make_api_key
from tests.kit.staff import make_staff

API = "/api/v1"


def _strict(session: Session, key: Actor) -> Actor:
    row = session.get(ApiKey, key.key.id)  # type: ignore[union-attr]
    assert row is not None
    row.require_if_match = True
    session.add(row)
    session.commit()
    return key


def test_created_with_the_option(client: TestClient, coordinator: Actor) -> None:
    body = {"name": "Strict CRM", "scopes": ["read", "sync:write"], "require_if_match": True}
    r = client.post(f"{API}/api-keys", json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["require_if_match"] is True
    assert client.get(f"{API}/api-keys", headers=coordinator.headers).json()["items"][0]["require_if_match"]
    plain = client.post(
        f"{API}/api-keys", json={"name": "Plain", "scopes": ["read"]}, headers=coordinator.headers
    )
    assert plain.json()["require_if_match"] is False


def test_a_change_without_if_match_is_428(client: TestClient, session: Session) -> None:
    key = _strict(session, make_api_key(session))
    staff = make_staff(session)
    url = f"{API}/staff/{staff.id}"
    for method, path, body in (
        ("PATCH", url, {"job_title": "Lead"}),
        ("POST", f"{url}/leave", {"left_on": "2026-01-01"}),
    ):
        r = client.request(method, path, json=body, headers=key.headers)
        assert r.status_code == 428, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "precondition_required"
    session.refresh(staff)
    assert staff.version == 1
    assert staff.job_title != "Lead"
    r = client.patch(url, json={"job_title": "Lead"}, headers={**key.headers, "If-Match": '"1"'})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'


def test_creation_and_other_callers_need_no_if_match(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    key = _strict(session, make_api_key(session))
    body = {"full_name": "Nia Strict", "date_of_birth": "2010-02-03", "joined_on": "2024-09-01"}
    created = client.post(f"{API}/participants", json=body, headers=key.headers)
    assert created.status_code == 201, created.text
    pushed = client.put(f"{API}/participants/by-external-id/CRM-STRICT-1", json=body, headers=key.headers)
    assert pushed.status_code == 201, pushed.text
    plain = make_api_key(session)
    staff = make_staff(session)
    for caller in (plain, coordinator):
        r = client.patch(f"{API}/staff/{staff.id}", json={"job_title": "Lead"}, headers=caller.headers)
        assert r.status_code == 200, r.text
