from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.db import utcnow
from api.idempotency import IdempotencyKey, hash_credential
from api.staff.models import Staff
from tests.factories import Actor

URL = "/api/v1/staff"


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "full_name": "Asha Patel",
        "email": "asha.patel@moremusic.org.uk",
        "employment_type": "sessional",
        "started_on": "2024-09-01",
        "external_id": "crm-1001",
    }
    data.update(overrides)
    return data


def keyed(actor: Actor, key: str) -> dict[str, str]:
    return {**actor.headers, "Idempotency-Key": key}


def _row(session: Session, actor: Actor, key: str) -> IdempotencyKey | None:
    name, value = next(iter(actor.headers.items()))
    scope = {"headers": [(name.lower().encode(), value.encode())]}
    return session.exec(
        select(IdempotencyKey).where(
            IdempotencyKey.credential_hash == hash_credential(scope), IdempotencyKey.key == key
        )
    ).first()


def test_a_retried_post_creates_one_record_and_replays_the_first_answer(
    client: TestClient, integration: Actor, session: Session
) -> None:
    first = client.post(URL, json=body(), headers=keyed(integration, "retry-1"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    again = client.post(URL, json=body(), headers=keyed(integration, "retry-1"))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]

    staff = session.exec(select(Staff).where(Staff.email == "asha.patel@moremusic.org.uk")).all()
    assert len(staff) == 1
    created = session.exec(select(AuditEvent).where(AuditEvent.action == "staff.create")).all()
    assert len(created) == 1  # the route did not run a second time


def test_the_same_key_with_a_different_body_is_422(client: TestClient, coordinator: Actor) -> None:
    assert client.post(URL, json=body(), headers=keyed(coordinator, "k-2")).status_code == 201
    r = client.post(URL, json=body(job_title="Lead"), headers=keyed(coordinator, "k-2"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "idempotency_key_reused"
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"


def test_the_same_key_on_another_path_is_422(client: TestClient, coordinator: Actor) -> None:
    assert client.post(URL, json=body(), headers=keyed(coordinator, "k-3")).status_code == 201
    r = client.post("/api/v1/webhooks", json=body(), headers=keyed(coordinator, "k-3"))
    assert r.json()["code"] == "idempotency_key_reused"


def test_a_malformed_key_is_422_naming_the_header(client: TestClient, coordinator: Actor) -> None:
    for bad in ("", "x" * 256):
        r = client.post(URL, json=body(), headers=keyed(coordinator, bad))
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert client.post(URL, json=body(), headers=keyed(coordinator, "x" * 255)).status_code == 201


def test_a_failed_request_is_not_stored_and_may_be_retried(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    r = client.post(URL, json=body(email="not-an-email"), headers=keyed(coordinator, "k-4"))
    assert r.status_code == 422
    assert _row(session, coordinator, "k-4") is None
    # The failure wrote nothing, so the corrected request may reuse the key.
    r = client.post(URL, json=body(), headers=keyed(coordinator, "k-4"))
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers


def test_keys_are_per_caller_and_the_credential_is_not_stored(
    client: TestClient, coordinator: Actor, integration: Actor, session: Session
) -> None:
    a = client.post(URL, json=body(), headers=keyed(coordinator, "shared"))
    b = client.post(
        URL, json=body(email="b@moremusic.org.uk", external_id="crm-2"), headers=keyed(integration, "shared")
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    secret = integration.headers["X-API-Key"]
    rows = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == "shared")).all()
    assert len(rows) == 2
    assert all(secret not in r.credential_hash and len(r.credential_hash) == 64 for r in rows)


def test_a_retry_while_the_first_runs_is_409_and_a_dead_lock_is_taken_over(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    assert client.post(URL, json=body(), headers=keyed(coordinator, "k-5")).status_code == 201
    row = _row(session, coordinator, "k-5")
    assert row is not None
    # As if the first request were still running: no stored answer yet.
    row.response_status, row.response_body, row.locked_at = None, None, utcnow()
    session.add(row)
    session.commit()
    r = client.post(URL, json=body(), headers=keyed(coordinator, "k-5"))
    assert r.status_code == 409
    assert r.json()["code"] == "idempotency_key_in_use"

    # A lock much older than any request can run is a crashed worker's: the retry runs the route again.
    row.locked_at = utcnow() - timedelta(hours=1)
    session.add(row)
    session.commit()
    r = client.post(URL, json=body(), headers=keyed(coordinator, "k-5"))
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"  # the route ran: the email is taken by the first request


def test_expired_keys_are_purged_and_the_key_reused(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    assert client.post(URL, json=body(), headers=keyed(coordinator, "k-6")).status_code == 201
    row = _row(session, coordinator, "k-6")
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    r = client.post(
        URL, json=body(email="c@moremusic.org.uk", external_id="crm-3"), headers=keyed(coordinator, "k-6")
    )
    assert r.status_code == 201
    assert "idempotent-replayed" not in r.headers
    assert session.exec(select(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= utcnow())).all() == []


def test_an_answer_holding_a_secret_is_never_stored(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    r = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["incident.reported"]},
        headers=keyed(coordinator, "k-7"),
    )
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
    assert _row(session, coordinator, "k-7") is None


def test_a_new_api_key_is_never_stored(client: TestClient, coordinator: Actor, session: Session) -> None:
    r = client.post(
        "/api/v1/api-keys", json={"name": "crm", "scopes": ["read"]}, headers=keyed(coordinator, "k-8")
    )
    assert r.status_code == 201
    assert r.headers["cache-control"] == "no-store"
    assert _row(session, coordinator, "k-8") is None


def test_without_the_header_nothing_changes(client: TestClient, coordinator: Actor, session: Session) -> None:
    assert client.post(URL, json=body(), headers=coordinator.headers).status_code == 201
    assert client.post(URL, json=body(), headers=coordinator.headers).status_code == 409
    assert session.exec(select(IdempotencyKey)).all() == []


def test_every_post_declares_the_idempotency_key_header() -> None:
    """Generated clients can send the key: the spec names it, optional, on every POST under /api/v1."""
    from api.main import create_app

    spec = create_app().openapi()
    posts = {path: ops["post"] for path, ops in spec["paths"].items() if "post" in ops}
    assert posts
    for path, post in posts.items():
        declared = [p for p in post.get("parameters", []) if p["name"] == "Idempotency-Key"]
        assert path.startswith("/api/v1/")
        assert len(declared) == 1, path
        assert declared[0]["in"] == "header"
        assert declared[0]["required"] is False
