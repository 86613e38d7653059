"""Issue 18, second pass: a GET's ETag names the representation it answers, not only the record's version
(RFC 9110 §8.8.3), so an If-None-Match never earns a 304 for a body that changed while the version did not
(a group's member count, `is_current` on a new day). The tag still guards a write by its version. And a
push by external id sent with `If-None-Match: *` creates only (RFC 9110 §13.1.2)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.audit.models import AuditEvent
from api.participants.models import Participant
from api.staff.models import Staff
from tests.kit.auth import Actor, make_api_key, token_headers
from tests.kit.clock import TODAY, FixedClock
from tests.kit.etags import read_tag
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.servers import live_app
from tests.kit.staff import make_staff
from tests.test_concurrency import together

API = "/api/v1"


def _audit_count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def test_a_membership_added_moves_the_groups_tag(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """The breaker's reproduction: the group's version stays 1 while its member count grows; the tag read
    before must no longer earn a 304."""
    group = make_group(session, name="Beat Lab")
    for _ in range(11):
        make_membership(session, group, participant=make_participant(session))
    url = f"{API}/groups/{group.id}"
    first = client.get(url, headers=coordinator.headers)
    assert first.json()["member_count"] == 11
    assert first.headers["etag"] == read_tag(1, first)
    body = {
        "group_id": str(group.id),
        "participant_id": str(make_participant(session).id),
        "role": "member",
        "started_on": str(TODAY),
    }
    added = client.post(f"{API}/memberships", json=body, headers=coordinator.headers)
    assert added.status_code == 201, added.text
    again = client.get(url, headers={**coordinator.headers, "If-None-Match": first.headers["etag"]})
    assert again.status_code == 200, again.status_code
    assert (again.json()["member_count"], again.json()["version"]) == (12, 1)
    assert again.headers["etag"] == read_tag(1, again) != first.headers["etag"]
    # The new tag earns its 304, weakly compared as before.
    for sent in (again.headers["etag"], f"W/{again.headers['etag']}", f'"9", {again.headers["etag"]}'):
        still = client.get(url, headers={**coordinator.headers, "If-None-Match": sent})
        assert (still.status_code, still.content) == (304, b""), sent
        assert still.headers["etag"] == again.headers["etag"]
    # A bare version, the tag a write answers, names no representation a GET gives.
    bare = client.get(url, headers={**coordinator.headers, "If-None-Match": '"1"'})
    assert bare.status_code == 200


def test_a_new_day_moves_the_tag(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    """`is_current` follows the organisation's day: a member of staff whose last day passes reads
    differently at the same version, so the tag read the day before earns no 304."""
    staff = make_staff(session, left_on=fixed_clock.today + timedelta(days=1))
    url = f"{API}/staff/{staff.id}"
    before = client.get(url, headers=coordinator.headers)
    fixed_clock.advance(days=2)
    assert coordinator.user is not None
    signed_in_again = token_headers(coordinator.user)  # the first token lapsed overnight
    after = client.get(url, headers={**signed_in_again, "If-None-Match": before.headers["etag"]})
    assert after.status_code == 200, after.status_code
    assert (before.json()["is_current"], after.json()["is_current"]) == (True, False)
    assert before.json()["version"] == after.json()["version"] == 1
    assert after.headers["etag"] == read_tag(1, after) != before.headers["etag"]


def test_if_match_takes_the_tag_a_get_gave(client: TestClient, session: Session, coordinator: Actor) -> None:
    """A write is checked against the version before the dot: the GET's tag guards a PATCH; once the
    record moved on, the tag read before is a 412 and nothing is written."""
    staff = make_staff(session)
    url = f"{API}/staff/{staff.id}"
    read = client.get(url, headers=coordinator.headers).headers["etag"]
    patched = client.patch(
        url, json={"personal_phone": "07700 900001"}, headers={**coordinator.headers, "If-Match": read}
    )
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == '"2"'
    events = _audit_count(session)
    stale = client.patch(
        url, json={"personal_phone": "07700 900002"}, headers={**coordinator.headers, "If-Match": read}
    )
    assert stale.status_code == 412, stale.text
    assert _audit_count(session) == events
    session.refresh(staff)
    assert (staff.personal_phone, staff.version) == ("+447700900001", 2)
    fresh = client.get(url, headers=coordinator.headers)
    listed = client.patch(
        url,
        json={"personal_phone": "07700 900003"},
        headers={**coordinator.headers, "If-Match": f"{read}, {fresh.headers['etag']}"},
    )
    assert listed.status_code == 200, listed.text


@pytest.mark.parametrize(("header", "says"), [('W/"1.0123456789abcdef"', "weak"), ('"1.zz"', "issued")])
def test_if_match_refuses_a_tag_not_issued(
    client: TestClient, session: Session, coordinator: Actor, header: str, says: str
) -> None:
    url = f"{API}/staff/{make_staff(session).id}"
    r = client.patch(
        url, json={"personal_phone": "07700 900001"}, headers={**coordinator.headers, "If-Match": header}
    )
    assert r.status_code == 412, r.text
    assert says in r.json()["detail"]


# --- If-None-Match: * on a push by external id ------------------------------------------------------------

PUSHES: list[tuple[str, str, dict[str, Any], Any]] = [
    (
        "put",
        "participants",
        {"full_name": "Maya Okafor", "date_of_birth": "2011-04-02", "joined_on": "2024-09-01"},
        Participant,
    ),
    (
        "patch",
        "participants",
        {"full_name": "Maya Okafor", "date_of_birth": "2011-04-02", "joined_on": "2024-09-01"},
        Participant,
    ),
    (
        "put",
        "staff",
        {
            "full_name": "Leah Marchant",
            "email": "leah.inm@moremusic.org.uk",
            "employment_type": "employee",
            "started_on": "2024-01-08",
        },
        Staff,
    ),
]


@pytest.mark.parametrize(("method", "kind", "body", "model"), PUSHES)
def test_if_none_match_star_creates_only(
    client: TestClient,
    session: Session,
    integration: Actor,
    method: str,
    kind: str,
    body: dict[str, Any],
    model: Any,
) -> None:
    url = f"{API}/{kind}/by-external-id/crm-inm-1"
    create_only = {**integration.headers, "If-None-Match": "*"}
    made = client.request(method.upper(), url, json=body, headers=create_only)
    assert made.status_code == 201, made.text
    events = _audit_count(session)
    changed = {**body, "full_name": "Someone Else"}
    again = client.request(method.upper(), url, json=changed, headers=create_only)
    assert again.status_code == 412, again.text
    assert "If-None-Match" in again.json()["detail"]
    assert "Someone Else" not in again.text
    assert _audit_count(session) == events
    session.expire_all()
    stored = session.exec(select(model).where(model.external_id == "crm-inm-1")).one()
    assert (stored.full_name, stored.version) == (body["full_name"], 1)
    # Without the header the same push replaces it, as before.
    replaced = client.request(method.upper(), url, json=changed, headers=integration.headers)
    assert replaced.status_code == 200, replaced.text


def test_if_none_match_star_with_if_match_is_refused(client: TestClient, integration: Actor) -> None:
    url = f"{API}/participants/by-external-id/crm-inm-2"
    body = {"full_name": "Maya Okafor", "date_of_birth": "2011-04-02", "joined_on": "2024-09-01"}
    r = client.put(url, json=body, headers={**integration.headers, "If-None-Match": "*", "If-Match": '"1"'})
    assert r.status_code == 412, r.text
    assert client.put(url, json=body, headers=integration.headers).status_code == 201


def test_a_consent_pushed_create_only_twice_is_412(
    client: TestClient, session: Session, integration: Actor
) -> None:
    participant = make_participant(session)
    body = {
        "participant_id": str(participant.id),
        "kind": "image_use",
        "purposes": ["website"],
        "given_by": "parent_carer",
        "given_by_name": "Priya Shah",
        "given_on": "2024-09-01",
    }
    url = f"{API}/consents/by-external-id/crm-c-inm"
    create_only = {**integration.headers, "If-None-Match": "*"}
    made = client.put(url, json=body, headers=create_only)
    assert made.status_code == 201, made.text
    assert client.put(url, json=body, headers=create_only).status_code == 412
    assert client.put(url, json=body, headers=integration.headers).status_code == 200


def test_the_spec_declares_if_none_match_on_the_pushes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method in ("put", "patch"):
            if "/by-external-id/" in path and method in ops:
                names = {p["name"] for p in ops[method].get("parameters", [])}
                assert "If-None-Match" in names, (method, path)


def test_two_create_only_pushes_at_once_make_one_record() -> None:
    """Two `PUT`s of one new external id with `If-None-Match: *` at the same moment, against a live server:
    one creates it (201), the other finds it created and is refused (412); the record is the winner's."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            key = make_api_key(session)
        url = f"{base}{API}/participants/by-external-id/crm-inm-race"
        bodies = [
            {"full_name": name, "date_of_birth": "2011-04-02", "joined_on": "2024-09-01"}
            for name in ("Maya Okafor", "Sam Okafor")
        ]

        def put(i: int) -> httpx.Response:
            return httpx.put(url, json=bodies[i], headers={**key.headers, "If-None-Match": "*"}, timeout=60)

        answers = together(2, put)
        assert sorted(a.status_code for a in answers) == [201, 412], [a.text for a in answers]
        winner = next(a for a in answers if a.status_code == 201).json()
        with Session(engine) as session:
            stored = session.exec(select(Participant).where(Participant.external_id == "crm-inm-race")).all()
        assert [(p.full_name, p.version) for p in stored] == [(winner["full_name"], 1)]
