"""Optimistic concurrency on every record: each single-record answer carries the record's ETag, and a write
sent with a stale If-Match is a 412 that writes nothing (no new version, no audit entry, no side effect)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api import clock
from api.audit.models import AuditEvent
from api.auth.roles import Role
from api.groups.models import Group
from tests.kit.auth import Actor, make_user
from tests.kit.clock import TODAY
from tests.kit.consents import make_consent
from tests.kit.etags import read_tag
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff

API = "/api/v1"


def at(etag: str) -> dict[str, str]:
    return {"If-Match": etag}


def audit_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def created_at_version_one(client: TestClient, actor: Actor, collection: str, body: dict[str, Any]) -> str:
    """POST `body` to `collection`: a 201 with ETag "1", and the new record's URL (returned) reads with the
    same version, its tag naming the body read (`read_tag`)."""
    r = client.post(collection, json=body, headers=actor.headers)
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"1"'
    url = f"{collection}/{r.json()['id']}"
    got = client.get(url, headers=actor.headers)
    assert got.headers["etag"] == read_tag(1, got)
    return url


def fresh_is_accepted(
    client: TestClient,
    actor: Actor,
    method: str,
    url: str,
    body: dict[str, Any] | None,
    etag: str,
    new_etag: str,
) -> None:
    """The write with the current ETag succeeds and answers the record's next one."""
    r = client.request(method, url, json=body, headers={**actor.headers, **at(etag)})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == new_etag


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
    url = created_at_version_one(
        client,
        coordinator,
        f"{API}/participants",
        {"full_name": "Sam Okafor", "date_of_birth": "2011-03-04", "joined_on": "2024-09-01"},
    )
    fresh_is_accepted(client, coordinator, "PATCH", url, {"carer_name": "A Carer"}, '"1"', '"2"')
    stale_is_refused(client, session, coordinator, "PATCH", url, {"carer_name": "Someone"}, '"1"')
    stale_is_refused(client, session, coordinator, "POST", f"{url}/leave", {"left_on": str(TODAY)}, '"1"')
    after = client.get(url, headers=coordinator.headers).json()
    assert (after["version"], after["left_on"]) == (2, None)
    fresh_is_accepted(client, coordinator, "POST", f"{url}/leave", {"left_on": str(TODAY)}, '"2"', '"3"')


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
    fresh_is_accepted(client, coordinator, "PATCH", url, {"project": "Brass"}, '"1"', '"2"')
    stale_is_refused(client, session, coordinator, "PATCH", url, {"project": "Strings"}, '"1"')
    stale_is_refused(
        client, session, coordinator, "POST", f"{url}/archive", {"archived_on": str(TODAY)}, '"1"'
    )
    after = client.get(url, headers=coordinator.headers)
    assert after.headers["etag"] == read_tag(2, after)
    assert (after.json()["project"], after.json()["status"]) == ("Brass", "active")
    session.refresh(member)
    assert member.ended_on is None  # the refused archive ended no membership
    fresh_is_accepted(
        client, coordinator, "POST", f"{url}/archive", {"archived_on": str(TODAY)}, '"2"', '"3"'
    )


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
    url = created_at_version_one(
        client,
        coordinator,
        f"{API}/memberships",
        {
            "group_id": str(group.id),
            "staff_id": str(staff.id),
            "role": "member",
            "started_on": str(TODAY),
        },
    )
    fresh_is_accepted(client, coordinator, "PATCH", url, {"role": "admin"}, '"1"', '"2"')
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
    got = client.get(url, headers=coordinator.headers)
    assert got.headers["etag"] == read_tag(1, got)
    stale_is_refused(
        client, session, coordinator, "POST", f"{url}/withdraw", {"withdrawn_on": str(TODAY)}, '"7"'
    )
    session.refresh(consent)
    assert (consent.withdrawn_on, consent.version) == (None, 1)
    fresh_is_accepted(
        client, coordinator, "POST", f"{url}/withdraw", {"withdrawn_on": str(TODAY)}, '"1"', '"2"'
    )


def test_incidents(client: TestClient, coordinator: Actor, session: Session) -> None:
    url = created_at_version_one(
        client,
        coordinator,
        f"{API}/incidents",
        {
            "category": "cyberbullying",
            "severity": "medium",
            "occurred_at": (clock.now() - timedelta(days=1)).isoformat(),
            "summary": "Unkind messages",
            "details": "Three messages",
        },
    )
    correct = {"severity": "high", "reason": "Triage"}
    fresh_is_accepted(client, coordinator, "PATCH", url, correct, '"1"', '"2"')
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
    fresh_is_accepted(
        client,
        coordinator,
        "POST",
        f"{url}/transitions",
        {"to_status": "triaged", "reason": "r"},
        '"2"',
        '"3"',
    )


def test_users(client: TestClient, coordinator: Actor, session: Session) -> None:
    user = make_user(session, make_staff(session), Role.staff)
    url = f"{API}/users/{user.id}"
    got = client.get(url, headers=coordinator.headers)
    assert got.headers["etag"] == read_tag(1, got)
    fresh_is_accepted(client, coordinator, "PATCH", url, {"role": "trustee"}, '"1"', '"2"')
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
    fresh_is_accepted(client, coordinator, "POST", url, None, '"1"', '"2"')


def test_webhooks(client: TestClient, coordinator: Actor, session: Session) -> None:
    url = created_at_version_one(
        client,
        coordinator,
        f"{API}/webhooks",
        {"url": "http://127.0.0.1:9/hooks", "events": ["incident.reported"]},
    )
    stale_is_refused(client, session, coordinator, "POST", f"{url}/disable", None, '"2"')
    assert client.get(url, headers=coordinator.headers).json()["disabled_at"] is None
    fresh_is_accepted(client, coordinator, "POST", f"{url}/disable", None, '"1"', '"2"')


def test_policy_settings(client: TestClient, coordinator: Actor, session: Session) -> None:
    url = f"{API}/policy-settings"
    got = client.get(url, headers=coordinator.headers)
    assert got.headers["etag"] == read_tag(1, got)
    body = {k: v for k, v in got.json().items() if k not in ("version", "updated_at")}
    fresh_is_accepted(client, coordinator, "PUT", url, {**body, "min_group_admins": 3}, '"1"', '"2"')
    # The defaults' ETag no longer matches once a document is saved.
    stale_is_refused(client, session, coordinator, "PUT", url, {**body, "min_group_admins": 4}, '"1"')
    assert client.get(url, headers=coordinator.headers).json()["min_group_admins"] == 3


def _participant(client: TestClient, coordinator: Actor) -> str:
    created = client.post(
        f"{API}/participants",
        json={"full_name": "Ola Lists", "date_of_birth": "2011-03-04", "joined_on": "2024-09-01"},
        headers=coordinator.headers,
    )
    assert created.status_code == 201, created.text
    return f"{API}/participants/{created.json()['id']}"


@pytest.mark.parametrize(
    "header",
    ['"1"', '"1", "x"', '"x", "1"', '"7" , "1"', '"2","1"', "*", ' "1" ', '"1",,'],
)
def test_if_match_holds_when_any_listed_tag_matches(
    client: TestClient, coordinator: Actor, header: str
) -> None:
    """Issue 17 pass 2: RFC 9110 §13.1.1, a list matches if any member matches (strongly), and `*` matches
    any current record."""
    url = _participant(client, coordinator)
    r = client.patch(url, json={"carer_name": "A Carer"}, headers={**coordinator.headers, **at(header)})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"'


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ('"7", "8"', "not 7 or 8"),
        ('W/"1"', "weak"),
        ('W/"1", "x"', "weak"),
        ("1", "malformed"),
        ('"1", 2', "malformed"),
        ('"1", *', "malformed"),
        ('"1', "malformed"),
        (",", "malformed"),
    ],
)
def test_if_match_that_matches_nothing_says_why(
    client: TestClient, session: Session, coordinator: Actor, header: str, says: str
) -> None:
    """A stale list is "at version N, not ..."; a weak tag never matches (strong comparison) and is named;
    an unquoted tag or a stray `*` is malformed, not "changed since you read it"."""
    url = _participant(client, coordinator)
    events = audit_count(session)
    r = client.patch(url, json={"carer_name": "A Carer"}, headers={**coordinator.headers, **at(header)})
    assert r.status_code == 412, r.text
    assert says in r.json()["detail"]
    assert "changed since" not in r.json()["detail"]
    assert audit_count(session) == events
