"""Optimistic concurrency on every record: each single-record answer carries the record's ETag, and a write
sent with a stale If-Match is a 412 that writes nothing (no new version, no audit entry, no side effect)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.audit.models import AuditEvent
from api.auth.roles import Role
from api.groups.models import Group
from tests.kit.auth import Actor, make_user
from tests.kit.clock import TODAY
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff

API = "/api/v1"


def at(etag: str) -> dict[str, str]:
    return {"If-Match": etag}


def audit_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def stale_is_refused(
    client: TestClient,
    session: Session,
    actor: Actor,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    etag: str,
) -> None:
    """The write with a stale ETag answers 412 and leaves no trace."""
    events = audit_count(session)
    r = client.request(method, url, json=body, headers={**actor.headers, **at(etag)})
    assert r.status_code == 412, r.text
    assert r.json()["code"] == "precondition_failed"
    assert "etag" not in {k.lower() for k in r.headers}
    assert audit_count(session) == events


def test_participants(client: TestClient, coordinator: Actor, session: Session) -> None:
    created = client.post(
        f"{API}/participants",
        json={"full_name": "Sam Okafor", "date_of_birth": "2011-03-04", "joined_on": "2024-09-01"},
        headers=coordinator.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    url = f"{API}/participants/{created.json()['id']}"
    assert client.get(url, headers=coordinator.headers).headers["etag"] == '"1"'
    moved = client.patch(url, json={"carer_name": "A Carer"}, headers={**coordinator.headers, **at('"1"')})
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == '"2"'
    stale_is_refused(client, session, coordinator, "PATCH", url, {"carer_name": "Someone"}, '"1"')
    stale_is_refused(client, session, coordinator, "POST", f"{url}/leave", {"left_on": str(TODAY)}, '"1"')
    after = client.get(url, headers=coordinator.headers).json()
    assert (after["version"], after["left_on"]) == (2, None)
    left = client.post(
        f"{url}/leave", json={"left_on": str(TODAY)}, headers={**coordinator.headers, **at('"2"')}
    )
    assert left.status_code == 200, left.text
    assert left.headers["etag"] == '"3"'


def test_groups(client: TestClient, coordinator: Actor, session: Session) -> None:
    created = client.post(
        f"{API}/groups",
        json={
            "name": "Brass band chat",
            "platform": "whatsapp",
            "visibility": "closed",
            "join_approval": "admins_only",
            "shares_images": False,
            "started_on": str(TODAY - timedelta(days=10)),
        },
        headers=coordinator.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    url = f"{API}/groups/{created.json()['id']}"
    group = session.get(Group, uuid.UUID(created.json()["id"]))
    assert group is not None
    member = make_membership(session, group, staff=make_staff(session))
    moved = client.patch(url, json={"project": "Brass"}, headers={**coordinator.headers, **at('"1"')})
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == '"2"'
    stale_is_refused(client, session, coordinator, "PATCH", url, {"project": "Strings"}, '"1"')
    stale_is_refused(
        client, session, coordinator, "POST", f"{url}/archive", {"archived_on": str(TODAY)}, '"1"'
    )
    after = client.get(url, headers=coordinator.headers)
    assert after.headers["etag"] == '"2"'
    assert (after.json()["project"], after.json()["status"]) == ("Brass", "active")
    session.refresh(member)
    assert member.ended_on is None  # the refused archive ended no membership
    archived = client.post(
        f"{url}/archive", json={"archived_on": str(TODAY)}, headers={**coordinator.headers, **at('"2"')}
    )
    assert archived.status_code == 200, archived.text
    assert archived.headers["etag"] == '"3"'


def test_group_records_carry_their_etag(client: TestClient, coordinator: Actor, session: Session) -> None:
    group = make_group(session)
    assert coordinator.staff is not None
    review = client.post(
        f"{API}/groups/{group.id}/reviews",
        json={"reviewed_on": str(TODAY), "reviewed_by_id": str(coordinator.staff.id)},
        headers=coordinator.headers,
    )
    assert review.status_code == 201, review.text
    assert review.headers["etag"] == '"1"'


def test_memberships(client: TestClient, coordinator: Actor, session: Session) -> None:
    group, staff = make_group(session), make_staff(session)
    created = client.post(
        f"{API}/memberships",
        json={
            "group_id": str(group.id),
            "staff_id": str(staff.id),
            "role": "member",
            "started_on": str(TODAY),
        },
        headers=coordinator.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    url = f"{API}/memberships/{created.json()['id']}"
    assert client.get(url, headers=coordinator.headers).headers["etag"] == '"1"'
    moved = client.patch(url, json={"role": "admin"}, headers={**coordinator.headers, **at('"1"')})
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == '"2"'
    stale_is_refused(client, session, coordinator, "PATCH", url, {"role": "member"}, '"1"')
    stale_is_refused(client, session, coordinator, "POST", f"{url}/end", {"ended_on": str(TODAY)}, '"1"')
    after = client.get(url, headers=coordinator.headers).json()
    assert (after["role"], after["ended_on"], after["version"]) == ("admin", None, 2)


def test_consents(client: TestClient, coordinator: Actor, session: Session) -> None:
    participant = make_participant(session)
    created = client.post(
        f"{API}/consents",
        json={
            "participant_id": str(participant.id),
            "kind": "image_use",
            "purposes": ["website"],
            "given_by": "parent_carer",
            "given_by_name": "A Carer",
            "given_on": "2024-01-10",
        },
        headers=coordinator.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    consent = make_consent(session, participant)
    url = f"{API}/consents/{consent.id}"
    assert client.get(url, headers=coordinator.headers).headers["etag"] == '"1"'
    stale_is_refused(
        client, session, coordinator, "POST", f"{url}/withdraw", {"withdrawn_on": str(TODAY)}, '"7"'
    )
    session.refresh(consent)
    assert (consent.withdrawn_on, consent.version) == (None, 1)
    done = client.post(
        f"{url}/withdraw", json={"withdrawn_on": str(TODAY)}, headers={**coordinator.headers, **at('"1"')}
    )
    assert done.status_code == 200, done.text
    assert done.headers["etag"] == '"2"'


def test_incidents(client: TestClient, coordinator: Actor, session: Session) -> None:
    created = client.post(
        f"{API}/incidents",
        json={
            "category": "cyberbullying",
            "severity": "medium",
            "occurred_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
            "summary": "Unkind messages",
            "details": "Three messages",
        },
        headers=coordinator.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    url = f"{API}/incidents/{created.json()['id']}"
    assert client.get(url, headers=coordinator.headers).headers["etag"] == '"1"'
    correct = {"severity": "high", "reason": "Triage"}
    moved = client.patch(url, json=correct, headers={**coordinator.headers, **at('"1"')})
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == '"2"'
    stale_is_refused(client, session, coordinator, "PATCH", url, {"severity": "low", "reason": "T"}, '"1"')
    stale_is_refused(
        client,
        session,
        coordinator,
        "POST",
        f"{url}/transitions",
        {"to_status": "triaged", "reason": "r"},
        '"1"',
    )
    after = client.get(url, headers=coordinator.headers).json()
    assert (after["severity"], after["status"], after["version"]) == ("high", "reported", 2)
    moved_on = client.post(
        f"{url}/transitions",
        json={"to_status": "triaged", "reason": "r"},
        headers={**coordinator.headers, **at('"2"')},
    )
    assert moved_on.status_code == 200, moved_on.text
    assert moved_on.headers["etag"] == '"3"'


def test_users(client: TestClient, coordinator: Actor, session: Session) -> None:
    user = make_user(session, make_staff(session), Role.staff)
    url = f"{API}/users/{user.id}"
    assert client.get(url, headers=coordinator.headers).headers["etag"] == '"1"'
    moved = client.patch(url, json={"role": "trustee"}, headers={**coordinator.headers, **at('"1"')})
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] == '"2"'
    stale_is_refused(client, session, coordinator, "PATCH", url, {"is_active": False}, '"1"')
    session.refresh(user)
    assert (user.role, user.is_active, user.version) == (Role.trustee, True, 2)
    staff = make_staff(session)
    created = client.post(
        f"{API}/users",
        json={
            "staff_id": str(staff.id),
            "email": staff.email,
            "role": "staff",
            "password": "a long enough password",
        },
        headers=coordinator.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'


def test_api_keys(client: TestClient, coordinator: Actor, session: Session) -> None:
    created = client.post(
        f"{API}/api-keys", json={"name": "crm", "scopes": ["read"]}, headers=coordinator.headers
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    url = f"{API}/api-keys/{created.json()['id']}/revoke"
    stale_is_refused(client, session, coordinator, "POST", url, None, '"5"')
    revoked = client.post(url, headers={**coordinator.headers, **at('"1"')})
    assert revoked.status_code == 200, revoked.text
    assert revoked.headers["etag"] == '"2"'


def test_webhooks(client: TestClient, coordinator: Actor, session: Session) -> None:
    created = client.post(
        f"{API}/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "events": ["incident.reported"]},
        headers=coordinator.headers,
    )
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    url = f"{API}/webhooks/{created.json()['id']}"
    assert client.get(url, headers=coordinator.headers).headers["etag"] == '"1"'
    stale_is_refused(client, session, coordinator, "POST", f"{url}/disable", None, '"2"')
    assert client.get(url, headers=coordinator.headers).json()["disabled_at"] is None
    disabled = client.post(f"{url}/disable", headers={**coordinator.headers, **at('"1"')})
    assert disabled.status_code == 200, disabled.text
    assert disabled.headers["etag"] == '"2"'


def test_policy_settings(client: TestClient, coordinator: Actor, session: Session) -> None:
    url = f"{API}/policy-settings"
    got = client.get(url, headers=coordinator.headers)
    assert got.headers["etag"] == '"1"'
    body = {k: v for k, v in got.json().items() if k not in ("version", "updated_at")}
    saved = client.put(
        url, json={**body, "min_group_admins": 3}, headers={**coordinator.headers, **at('"1"')}
    )
    assert saved.status_code == 200, saved.text
    assert saved.headers["etag"] == '"2"'
    # The defaults' ETag no longer matches once a document is saved.
    stale_is_refused(client, session, coordinator, "PUT", url, {**body, "min_group_admins": 4}, '"1"')
    assert client.get(url, headers=coordinator.headers).json()["min_group_admins"] == 3
