"""An API key created with `require_if_match` changes an existing record only with If-Match (issue 18):
without it a 428 in problem-details shape that writes nothing; other keys and users are unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.auth.models import ApiKey
from api.consents.models import Consent
from api.staff.models import Staff
from tests.kit.auth import Actor, make_api_key
from tests.kit.staff import STAFF_BODY, make_staff

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


CHILD = {"full_name": "Nia Strict", "date_of_birth": "2010-02-03", "joined_on": "2024-09-01"}
CONSENT = {
    "participant_external_id": "CRM-STRICT-P",
    "kind": "image_use",
    "purposes": ["website"],
    "given_by": "parent_carer",
    "given_by_name": "Ngozi Strict",
    "given_on": "2024-09-01",
    "evidence_ref": "FORM-1",
}


def test_if_match_star_is_not_an_entity_tag_for_such_a_key(client: TestClient, session: Session) -> None:
    key = _strict(session, make_api_key(session))
    staff = make_staff(session)
    url = f"{API}/staff/{staff.id}"
    r = client.patch(url, json={"job_title": "Lead"}, headers={**key.headers, "If-Match": "*"})
    assert r.status_code == 428, r.text
    assert r.json()["code"] == "precondition_required"
    assert "*" in r.json()["detail"]
    put = client.put(
        f"{API}/staff/by-external-id/CRM-S", json=STAFF_BODY, headers={**key.headers, "If-Match": " * "}
    )
    assert put.status_code == 428
    session.refresh(staff)
    assert staff.version == 1
    # Any other caller's `*` still matches any version.
    plain = make_api_key(session)
    assert (
        client.patch(url, json={"job_title": "Lead"}, headers={**plain.headers, "If-Match": "*"}).status_code
        == 200
    )


def test_a_put_by_external_id_only_creates_without_if_match(client: TestClient, session: Session) -> None:
    key = _strict(session, make_api_key(session))
    withdrawn = {**CONSENT, "withdrawn_on": "2025-01-01"}
    for url, body, changed in (
        (f"{API}/staff/by-external-id/CRM-STRICT-S", STAFF_BODY, {**STAFF_BODY, "job_title": "Lead"}),
        (f"{API}/participants/by-external-id/CRM-STRICT-P", CHILD, {**CHILD, "carer_name": "Ade"}),
        # A consent's withdrawal by PUT is a change of the consent recorded.
        (f"{API}/consents/by-external-id/CRM-STRICT-C", CONSENT, withdrawn),
    ):
        created = client.put(url, json=body, headers=key.headers)
        assert created.status_code == 201, created.text
        for sent in (changed, body):  # a replacement, and the same record again
            r = client.put(url, json=sent, headers=key.headers)
            assert r.status_code == 428, (url, r.text)
            assert r.json()["code"] == "precondition_required"
        stale = client.put(url, json=changed, headers={**key.headers, "If-Match": '"9"'})
        assert stale.status_code == 412
        r = client.put(url, json=changed, headers={**key.headers, "If-Match": created.headers["etag"]})
        assert r.status_code == 200, (url, r.text)
        assert r.headers["etag"] == '"2"'


@pytest.mark.parametrize("mode", ["replace", "merge"])
def test_bulk_sync_rejects_each_change_of_an_existing_record_for_such_a_key(
    client: TestClient, session: Session, mode: str
) -> None:
    key = _strict(session, make_api_key(session))
    plain = make_api_key(session)
    batches: dict[str, tuple[dict[str, Any], dict[str, Any], str, dict[str, Any]]] = {
        "staff": (
            {"external_id": "S-1", **STAFF_BODY},
            {"job_title": "Lead"},
            "S-2",
            {"email": "s2@example.org"},
        ),
        "participants": ({"external_id": "CRM-STRICT-P", **CHILD}, {"carer_name": "Ade"}, "P-2", {}),
        "consents": (
            {"external_id": "C-1", **CONSENT},
            {"withdrawn_on": "2025-01-01"},
            "C-2",
            {"given_on": "2024-09-02", "evidence_ref": "FORM-2"},
        ),
    }
    client.put(f"{API}/participants/by-external-id/CRM-STRICT-P", json=CHILD, headers=plain.headers)
    for kind, (existing, change, new_id, new_diff) in batches.items():
        r = client.post(f"{API}/sync/{kind}", json={"records": [existing]}, headers=plain.headers)
        assert r.json()["results"][0]["status"] in ("created", "unchanged"), r.text
        records = [{**existing, **change}, {**existing, **new_diff, "external_id": new_id}]
        r = client.post(f"{API}/sync/{kind}", json={"mode": mode, "records": records}, headers=key.headers)
        assert r.status_code == 200, r.text
        changed, created = r.json()["results"]
        assert (changed["status"], changed["code"]) == ("rejected", "precondition_required"), (kind, changed)
        assert created["status"] == "created", (kind, created)
    session.expire_all()
    assert session.exec(select(Staff).where(Staff.external_id == "S-1")).one().job_title != "Lead"
    assert session.exec(select(Consent).where(Consent.external_id == "C-1")).one().withdrawn_on is None
