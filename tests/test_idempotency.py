from __future__ import annotations

import json
from datetime import timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.db import utcnow
from api.idempotency.middleware import fingerprint_of
from api.idempotency.store import IdempotencyKey
from api.incidents.models import Incident
from api.staff.models import Staff
from api.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.webhooks.signing import new_secret
from tests.kit.auth import PASSWORD, Actor, token_headers
from tests.kit.clock import FixedClock
from tests.kit.requests import request_body
from tests.kit.staff import STAFF_BODY

URL = "/api/v1/staff"


body = request_body(STAFF_BODY, external_id="crm-1001")


def keyed(actor: Actor, key: str) -> dict[str, str]:
    return {**actor.headers, "Idempotency-Key": key}


def owner(actor: Actor) -> str:
    return f"user:{actor.user.id}" if actor.user is not None else f"api_key:{actor.key.id}"  # type: ignore[union-attr]


def answered_afresh(r: Response, status: int) -> None:
    """Fails unless `r` answers `status` from this request's own run (or refusal), not a stored answer."""
    assert r.status_code == status, r.text
    assert "idempotent-replayed" not in r.headers


def answered_from_store(r: Response, status: int) -> None:
    """Fails unless `r` is an earlier request's stored answer under the same key, replayed with `status`."""
    assert r.status_code == status, r.text
    assert r.headers["idempotent-replayed"] == "true"


def _row(session: Session, actor: Actor, key: str) -> IdempotencyKey | None:
    return session.exec(
        select(IdempotencyKey).where(IdempotencyKey.owner == owner(actor), IdempotencyKey.key == key)
    ).first()


def stored_after_one_post(client: TestClient, session: Session, actor: Actor, key: str) -> IdempotencyKey:
    """The stored row of `key` after `actor`'s first POST with it, which fails unless it created a record."""
    assert client.post(URL, json=body(), headers=keyed(actor, key)).status_code == 201
    row = _row(session, actor, key)
    assert row is not None
    return row


def test_a_retried_post_creates_one_record_and_replays_the_first_answer(
    client: TestClient, integration: Actor, session: Session
) -> None:
    first = client.post(URL, json=body(), headers=keyed(integration, "retry-1"))
    answered_afresh(first, 201)

    again = client.post(URL, json=body(), headers=keyed(integration, "retry-1"))
    answered_from_store(again, 201)
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
    answered_afresh(client.post(URL, json=body(), headers=keyed(coordinator, "k-4")), 201)


def test_keys_are_per_caller_and_the_credential_is_not_stored(
    client: TestClient, coordinator: Actor, integration: Actor, session: Session
) -> None:
    a = client.post(URL, json=body(), headers=keyed(coordinator, "shared"))
    b = client.post(
        URL, json=body(email="b@moremusic.org.uk", external_id="crm-2"), headers=keyed(integration, "shared")
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    rows = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == "shared")).all()
    # Owned by the principals, never by (a hash of) the credentials' bytes.
    assert sorted(r.owner for r in rows) == sorted([owner(coordinator), owner(integration)])


def test_a_retry_while_the_first_runs_is_409_and_a_dead_lock_is_taken_over(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    row = stored_after_one_post(client, session, coordinator, "k-5")
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
    row = stored_after_one_post(client, session, coordinator, "k-6")
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    r = client.post(
        URL, json=body(email="c@moremusic.org.uk", external_id="crm-3"), headers=keyed(coordinator, "k-6")
    )
    answered_afresh(r, 201)
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


# --- after authentication (issue 11) -------------------------------------------------------------------


def test_a_revoked_key_gets_401_not_its_stored_answer(
    client: TestClient, integration: Actor, session: Session
) -> None:
    assert client.post(URL, json=body(), headers=keyed(integration, "r-1")).status_code == 201
    assert integration.key is not None
    integration.key.revoked_at = utcnow()
    session.add(integration.key)
    session.commit()
    answered_afresh(client.post(URL, json=body(), headers=keyed(integration, "r-1")), 401)


def test_an_expired_or_unconfirmed_key_gets_401_not_its_stored_answer(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    created = client.post(
        "/api/v1/api-keys",
        json={"name": "crm", "scopes": ["read", "sync:write"]},
        headers=coordinator.headers,
    ).json()
    headers = {"X-API-Key": created["key"], "Idempotency-Key": "r-2"}
    assert client.post(URL, json=body(), headers=headers).status_code == 201
    assert coordinator.user is not None
    coordinator.user.is_active = False  # the key's creator is disabled: the key stops until confirmed
    session.add(coordinator.user)
    session.commit()
    r = client.post(URL, json=body(), headers=headers)
    answered_afresh(r, 401)
    assert r.json()["code"] == "api_key_unconfirmed"


def test_a_disabled_users_token_gets_401_not_the_stored_answer(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    assert client.post(URL, json=body(), headers=keyed(coordinator, "d-1")).status_code == 201
    assert coordinator.user is not None
    coordinator.user.is_active = False
    session.add(coordinator.user)
    session.commit()
    answered_afresh(client.post(URL, json=body(), headers=keyed(coordinator, "d-1")), 401)


def test_the_same_user_with_a_fresh_token_gets_the_first_answer(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    first = client.post(URL, json=body(), headers=keyed(coordinator, "f-1"))
    assert first.status_code == 201
    assert coordinator.user is not None
    fixed_clock.advance(minutes=1)  # a token issued later: other bytes, the same person
    fresh = token_headers(coordinator.user)
    assert fresh != coordinator.headers
    again = client.post(URL, json=body(), headers={**fresh, "Idempotency-Key": "f-1"})
    answered_from_store(again, 201)
    assert again.content == first.content
    assert len(session.exec(select(Staff).where(Staff.email == "asha.patel@moremusic.org.uk")).all()) == 1


def test_the_same_json_with_keys_reordered_or_respaced_replays(
    client: TestClient, integration: Actor, session: Session
) -> None:
    data = body()
    first = client.post(
        URL,
        content=json.dumps(data),
        headers={**keyed(integration, "o-1"), "Content-Type": "application/json"},
    )
    assert first.status_code == 201
    reordered = json.dumps(dict(reversed(list(data.items()))), indent=2)
    again = client.post(
        URL, content=reordered, headers={**keyed(integration, "o-1"), "Content-Type": "application/json"}
    )
    answered_from_store(again, 201)
    assert len(session.exec(select(Staff).where(Staff.email == "asha.patel@moremusic.org.uk")).all()) == 1
    # A different value is still a different request.
    changed = json.dumps({**data, "full_name": "Asha Patel-Jones"})
    r = client.post(
        URL, content=changed, headers={**keyed(integration, "o-1"), "Content-Type": "application/json"}
    )
    assert r.json()["code"] == "idempotency_key_reused"


def test_the_fingerprint_is_canonical_for_json_and_exact_otherwise() -> None:
    scope = {"method": "POST", "path": URL, "query_string": b""}
    assert fingerprint_of(scope, b'{"a": 1, "b": [1, 2]}') == fingerprint_of(scope, b'{"b":[1,2],"a":1}')
    assert fingerprint_of(scope, b'{"b": [2, 1], "a": 1}') != fingerprint_of(scope, b'{"b":[1,2],"a":1}')
    assert fingerprint_of(scope, b"name,email\na,b\n") != fingerprint_of(scope, b"name,email\na,b \n")
    assert fingerprint_of(scope, b"{}") != fingerprint_of({**scope, "path": "/api/v1/webhooks"}, b"{}")


def test_a_coordinator_signing_in_again_retries_an_incident_once_with_one_webhook(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    """The issue's case: the token expired, she signs in again and retries the same report with the same
    key. One incident, one `incident.reported` delivery, and the first answer back."""
    session.add(
        WebhookEndpoint(url="https://crm.example.org/hooks", events=list(WebhookEvent), secret=new_secret())
    )
    session.commit()
    report = {
        "category": "cyberbullying",
        "severity": "medium",
        "occurred_at": "2026-07-01T18:00:00Z",
        "summary": "Unkind messages in the band chat",
    }
    first = client.post("/api/v1/incidents", json=report, headers=keyed(coordinator, "inc-1"))
    assert first.status_code == 201, first.text
    assert coordinator.user is not None
    fixed_clock.advance(minutes=31)  # the first token has expired
    assert client.get("/api/v1/auth/me", headers=coordinator.headers).status_code == 401
    fresh = client.post(
        "/api/v1/auth/token", data={"username": coordinator.user.email, "password": PASSWORD}
    ).json()["access_token"]
    again = client.post(
        "/api/v1/incidents",
        json=dict(reversed(list(report.items()))),
        headers={"Authorization": f"Bearer {fresh}", "Idempotency-Key": "inc-1"},
    )
    answered_from_store(again, 201)
    assert again.json() == first.json()
    assert len(session.exec(select(Incident)).all()) == 1
    deliveries = session.exec(select(WebhookDelivery)).all()
    assert [d.event_type for d in deliveries] == [WebhookEvent.incident_reported]
