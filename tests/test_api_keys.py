from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.auth.models import ApiKey
from api.auth.roles import ApiKeyScope, Role
from api.db import utcnow
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.clock import FixedClock
from tests.kit.requests import created_body

URL = "/api/v1/api-keys"
STAFF_URL = "/api/v1/staff"


def staff_body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "full_name": "Sam Okafor",
        "email": f"sam-{uuid.uuid4().hex[:6]}@moremusic.org.uk",
        "employment_type": "volunteer",
        "started_on": "2025-01-06",
    }
    data.update(overrides)
    return data


def create_key(client: TestClient, headers: dict[str, str], *scopes: str) -> dict[str, Any]:
    return created_body(client.post(URL, json={"name": "CRM sync", "scopes": list(scopes)}, headers=headers))


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    created = create_key(client, coordinator.headers, "sync:write", "read", "read")
    secret = created["key"]
    assert secret.startswith("esk_")
    assert len(secret) >= 4 + 43  # 32 random bytes, base64url
    assert created["prefix"] == secret[:12]
    assert created["scopes"] == ["read", "sync:write"]  # de-duplicated
    assert created["revoked_at"] is None
    row = session.get(ApiKey, uuid.UUID(created["id"]))
    assert row is not None
    assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert coordinator.user is not None
    assert row.created_by_id == coordinator.user.id
    # No column of the key's row holds the secret (the prefix is a short part of it by design).
    stored = json.dumps(row.model_dump(), default=str)
    assert secret not in stored
    assert secret[12:] not in stored
    # Nor does the audit trail, which does not keep the hash either.
    events = session.exec(select(AuditEvent).where(AuditEvent.entity_id == row.id)).all()
    assert [e.action for e in events] == ["api_key.create"]
    logged = json.dumps([e.model_dump() for e in events], default=str)
    assert secret[12:] not in logged
    assert row.key_hash not in logged
    # Never shown again: not in the list.
    listed = client.get(URL, headers=coordinator.headers).json()
    assert listed["total"] == 1
    assert "key" not in listed["items"][0]
    assert "key_hash" not in listed["items"][0]


def test_a_created_key_works_as_x_api_key(client: TestClient, coordinator: Actor) -> None:
    created = create_key(client, coordinator.headers, "read")
    assert client.get(STAFF_URL, headers={"X-API-Key": created["key"]}).status_code == 200


def test_a_read_key_cannot_write(client: TestClient, session: Session) -> None:
    reader = make_api_key(session, scopes=(ApiKeyScope.read,))
    assert client.get(STAFF_URL, headers=reader.headers).status_code == 200
    r = client.post(STAFF_URL, json=staff_body(), headers=reader.headers)
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"


def test_a_sync_write_key_writes_and_is_audited_as_itself(client: TestClient, session: Session) -> None:
    writer = make_api_key(session, scopes=(ApiKeyScope.sync_write,))
    assert writer.key is not None
    r = client.post(STAFF_URL, json=staff_body(), headers=writer.headers)
    assert r.status_code == 201, r.text
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "staff.create")).one()
    assert (event.actor_type, event.actor_id) == ("api_key", writer.key.id)
    assert event.actor_label == f"api key {writer.key.name}"
    # Writing does not grant reading: that is the `read` scope.
    assert client.get(STAFF_URL, headers=writer.headers).status_code == 403


def test_a_key_may_not_use_the_coordinators_routes(client: TestClient, integration: Actor) -> None:
    assert client.get(URL, headers=integration.headers).status_code == 403
    assert client.get("/api/v1/users", headers=integration.headers).status_code == 403


def test_revoked_key_is_401_and_revoking_twice_is_409(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    created = create_key(client, coordinator.headers, "read")
    headers = {"X-API-Key": created["key"]}
    assert client.get(STAFF_URL, headers=headers).status_code == 200
    r = client.post(f"{URL}/{created['id']}/revoke", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["revoked_at"] is not None
    refused = client.get(STAFF_URL, headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    again = client.post(f"{URL}/{created['id']}/revoke", headers=coordinator.headers)
    assert again.status_code == 409
    actions = [
        e.action
        for e in session.exec(select(AuditEvent).where(AuditEvent.entity_id == uuid.UUID(created["id"])))
    ]
    assert sorted(actions) == ["api_key.create", "api_key.revoke"]
    revoked = client.get(URL, params={"revoked": True}, headers=coordinator.headers).json()
    assert [k["id"] for k in revoked["items"]] == [created["id"]]
    assert client.get(URL, params={"revoked": False}, headers=coordinator.headers).json()["total"] == 0


def test_unknown_key_is_401_and_unknown_id_is_404(client: TestClient, coordinator: Actor) -> None:
    assert client.get(STAFF_URL, headers={"X-API-Key": "esk_not-a-real-key"}).status_code == 401
    assert client.post(f"{URL}/{uuid.uuid4()}/revoke", headers=coordinator.headers).status_code == 404


def test_last_used_at_is_recorded(client: TestClient, session: Session) -> None:
    actor = make_api_key(session, scopes=(ApiKeyScope.read,))
    assert actor.key is not None
    assert actor.key.last_used_at is None
    before = utcnow()
    assert client.get(STAFF_URL, headers=actor.headers).status_code == 200
    session.refresh(actor.key)
    assert actor.key.last_used_at is not None
    assert actor.key.last_used_at >= before - timedelta(seconds=1)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "CRM", "scopes": []}, "scopes"),
        ({"name": "CRM", "scopes": ["admin"]}, "scopes.0"),
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "CRM", "scopes": ["read"], "key": "esk_chosen"}, "key"),
    ],
)
def test_invalid_keys_name_the_field(
    client: TestClient, coordinator: Actor, session: Session, data: dict[str, Any], field: str
) -> None:
    r = client.post(URL, json=data, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert session.exec(select(ApiKey)).all() == []


# --- expiry, the creator leaving, confirm and rotate (issue 11) ------------------------------------------


def test_a_key_stops_at_its_expiry_which_must_be_in_the_future(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    past = {"name": "census", "scopes": ["read"], "expires_at": "2026-07-01T23:00:00Z"}
    r = client.post(URL, json=past, headers=coordinator.headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["expires_at"]
    naive = {**past, "expires_at": "2026-07-02T23:00:00"}  # no offset: which day would it be?
    assert client.post(URL, json=naive, headers=coordinator.headers).status_code == 422
    soon = {**past, "expires_at": "2026-07-02T00:30:00+00:00"}
    created = client.post(URL, json=soon, headers=coordinator.headers).json()
    assert created["expires_at"] == "2026-07-02T00:30:00Z"
    headers = {"X-API-Key": created["key"]}
    assert client.get(STAFF_URL, headers=headers).status_code == 200
    fixed_clock.advance(hours=1)
    r = client.get(STAFF_URL, headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "api_key_expired")


def test_a_key_shows_its_creator_and_stops_when_they_leave_until_confirmed(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    other = make_actor(session, Role.coordinator, coordinator=True)
    assert coordinator.user is not None
    assert coordinator.staff is not None
    assert other.user is not None
    created = create_key(client, coordinator.headers, "read")
    assert created["created_by_id"] == str(coordinator.user.id)
    assert created["confirmed_by_id"] is None
    headers = {"X-API-Key": created["key"]}
    assert client.get(STAFF_URL, headers=headers).status_code == 200

    coordinator.staff.left_on = fixed_clock.today
    session.add(coordinator.staff)
    session.commit()
    r = client.get(STAFF_URL, headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "api_key_unconfirmed")

    r = client.post(f"{URL}/{created['id']}/confirm", headers=other.headers)
    assert r.status_code == 200, r.text
    assert r.json()["confirmed_by_id"] == str(other.user.id)
    assert r.json()["confirmed_at"] is not None
    assert client.get(STAFF_URL, headers=headers).status_code == 200
    # Now the confirming coordinator answers for it: disabled, the key stops again.
    other.user.is_active = False
    session.add(other.user)
    session.commit()
    assert client.get(STAFF_URL, headers=headers).json()["code"] == "api_key_unconfirmed"
    actions = {
        e.action
        for e in session.exec(select(AuditEvent).where(AuditEvent.entity_id == uuid.UUID(created["id"])))
    }
    assert "api_key.confirm" in actions


def test_rotating_gives_a_new_secret_once_and_ends_the_old_one(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    other = make_actor(session, Role.coordinator, coordinator=True)
    assert coordinator.user is not None
    assert other.user is not None
    created = create_key(client, coordinator.headers, "read", "sync:write")
    coordinator.user.is_active = False  # its creator disabled: the key stops
    session.add(coordinator.user)
    session.commit()
    assert client.get(STAFF_URL, headers={"X-API-Key": created["key"]}).status_code == 401

    r = client.post(f"{URL}/{created['id']}/rotate", headers={**other.headers, "Idempotency-Key": "rot-1"})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    rotated = r.json()
    assert rotated["key"] != created["key"]
    assert rotated["key"].startswith("esk_")
    assert rotated["prefix"] == rotated["key"][:12]
    assert (rotated["name"], rotated["scopes"], rotated["id"]) == (
        created["name"],
        created["scopes"],
        created["id"],
    )
    assert rotated["confirmed_by_id"] == str(other.user.id)
    assert client.get(STAFF_URL, headers={"X-API-Key": created["key"]}).status_code == 401
    assert client.get(STAFF_URL, headers={"X-API-Key": rotated["key"]}).status_code == 200
    # The secret is in that one answer only: a retry with the same Idempotency-Key rotates again.
    again = client.post(
        f"{URL}/{created['id']}/rotate", headers={**other.headers, "Idempotency-Key": "rot-1"}
    )
    assert "idempotent-replayed" not in again.headers
    assert again.json()["key"] != rotated["key"]
    row = session.get(ApiKey, uuid.UUID(created["id"]))
    assert row is not None
    assert row.key_hash == hashlib.sha256(again.json()["key"].encode()).hexdigest()


def test_a_revoked_key_cannot_be_confirmed_or_rotated(client: TestClient, coordinator: Actor) -> None:
    created = create_key(client, coordinator.headers, "read")
    assert client.post(f"{URL}/{created['id']}/revoke", headers=coordinator.headers).status_code == 200
    for action in ("confirm", "rotate"):
        assert client.post(f"{URL}/{created['id']}/{action}", headers=coordinator.headers).status_code == 409
        assert client.post(f"{URL}/{uuid.uuid4()}/{action}", headers=coordinator.headers).status_code == 404


def test_last_used_at_is_written_at_most_once_a_minute(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    actor = make_api_key(session, scopes=(ApiKeyScope.read,))
    assert actor.key is not None
    assert client.get(STAFF_URL, headers=actor.headers).status_code == 200
    session.refresh(actor.key)
    first = actor.key.last_used_at
    assert first == fixed_clock.now()
    fixed_clock.advance(seconds=30)
    assert client.get(STAFF_URL, headers=actor.headers).status_code == 200
    session.refresh(actor.key)
    assert actor.key.last_used_at == first
    fixed_clock.advance(seconds=31)
    assert client.get(STAFF_URL, headers=actor.headers).status_code == 200
    session.refresh(actor.key)
    assert actor.key.last_used_at == fixed_clock.now()


def test_an_expired_key_is_rotated_only_with_a_new_expiry_and_never_confirmed(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    body = {"name": "census", "scopes": ["read"], "expires_at": "2026-07-01T23:35:00Z"}
    created = client.post(URL, json=body, headers=coordinator.headers).json()
    fixed_clock.advance(minutes=10)  # past its expiry (and within the token's lifetime)
    rotate, confirm = f"{URL}/{created['id']}/rotate", f"{URL}/{created['id']}/confirm"
    # Confirming, or rotating without a new expiry, would answer 200 with a key that still cannot work.
    for r in (
        client.post(confirm, headers=coordinator.headers),
        client.post(rotate, headers=coordinator.headers),
        client.post(rotate, json={}, headers=coordinator.headers),
    ):
        assert (r.status_code, r.json().get("code")) == (409, "api_key_expired"), r.text
    r = client.post(rotate, json={"expires_at": "2026-07-01T23:38:00Z"}, headers=coordinator.headers)
    assert r.status_code == 422  # a new expiry in the past is no expiry at all
    assert [e["field"] for e in r.json()["errors"]] == ["expires_at"]
    old_secret = {"X-API-Key": created["key"]}
    assert client.get(STAFF_URL, headers=old_secret).json()["code"] == "api_key_expired"  # nothing changed
    r = client.post(rotate, json={"expires_at": "2027-03-31T17:00:00+01:00"}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["expires_at"] == "2027-03-31T16:00:00Z"
    assert client.get(STAFF_URL, headers={"X-API-Key": r.json()["key"]}).status_code == 200
    # Rotated again with `null`, it no longer expires; without a body, the expiry stays.
    r = client.post(rotate, json={"expires_at": None}, headers=coordinator.headers)
    assert (r.status_code, r.json()["expires_at"]) == (200, None)
    r = client.post(rotate, headers=coordinator.headers)
    assert (r.status_code, r.json()["expires_at"]) == (200, None)
    assert client.post(confirm, headers=coordinator.headers).status_code == 200
