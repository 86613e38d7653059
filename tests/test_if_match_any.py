"""`If-Match: *` (RFC 9110 §13.1.1): true where a current representation exists, whatever its version;
false where none does. Every route that takes If-Match reads it through one dependency
(`api.preconditions.if_match`; for a roster's own ETag, `api.rosters.etags.check_tag`; both test `*` with
`names_any`), which answers `*` as `AnyVersion()`: a record at any version is changed as without the
header, a push by external id that finds none is a 412 and creates nothing, a route by id answers a missing
record 404 (RFC 9110 §13.2.1: no precondition is evaluated on what would be a 404 without it). Before, the
pushes read the header a second time (`matches_any`) and every other route took `*` for no header."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api import preconditions
from api.auth.roles import Role
from api.participants.models import Participant
from api.staff.models import Staff
from api.webhooks.models import WebhookEvent
from tests.kit.auth import Actor, make_actor
from tests.kit.groups import make_group
from tests.kit.participants import make_participant
from tests.kit.servers import live_app
from tests.kit.staff import STAFF_BODY, make_staff
from tests.test_concurrency import together
from tests.test_require_if_match import CHILD, CONSENT
from tests.test_strict_input import _dependants, _routes

API = "/api/v1"
ANY = {"If-Match": "*"}
# The routes that take a roster's ETag, read by `check_tag` (it covers more than the roster's version).
ROSTER_ROUTES = {
    ("POST", "/api/v1/groups/{group_id}/rosters/{roster_id}/entries/{roster_entry_id}/resolve"),
    ("POST", "/api/v1/groups/{group_id}/rosters/{roster_id}/apply"),
}


def _if_match_routes(app: FastAPI) -> dict[tuple[str, str], set[str]]:
    """(method, path) of each route taking If-Match -> the names of the calls that take the header."""
    found: dict[tuple[str, str], set[str]] = {}
    for route in _routes(list(app.routes)):
        readers = {
            d.call.__name__
            for d in _dependants(route.dependant)
            if d.call is not None and any((p.alias or p.name).lower() == "if-match" for p in d.header_params)
        }
        for method in route.methods if readers else ():
            found[(method, route.path)] = readers
    return found


def test_every_route_reads_if_match_through_the_one_dependency(app: FastAPI) -> None:
    routes = _if_match_routes(app)
    assert len(routes) > 20, routes
    elsewhere = {key: names for key, names in routes.items() if names != {preconditions.if_match.__name__}}
    # The roster's routes take the header as a string, for `check_tag` (which tests `*` with `names_any`).
    assert {key: names for key, names in elsewhere.items() if key not in ROSTER_ROUTES} == {}
    assert set(elsewhere) == ROSTER_ROUTES
    assert not hasattr(preconditions, "matches_any")


def test_the_dependency_answers_star_as_any_version_and_a_list_or_none_otherwise() -> None:
    assert preconditions.names_any(" * ")
    assert not preconditions.names_any('"*"')
    assert preconditions.pinned(preconditions.AnyVersion()) is None
    assert preconditions.pinned(3) == 3
    assert preconditions.AnyVersion() == 7
    assert preconditions.AnyVersion() != "7"


# A change by id: (method, path under /api/v1 with `{id}`, the record's maker, two bodies that differ).
Maker = Callable[[Session, Actor], uuid.UUID]


def _webhook(session: Session, coordinator: Actor, client: TestClient) -> uuid.UUID:
    hook = {"url": "http://127.0.0.1:9/hooks", "events": [WebhookEvent.consent_withdrawn.value]}
    r = client.post(f"{API}/webhooks", json=hook, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


BY_ID: dict[str, tuple[str, str, Callable[..., Any], list[dict[str, Any]]]] = {
    "staff-patch": (
        "PATCH",
        "staff/{id}",
        lambda s, c, _: make_staff(s).id,
        [{"job_title": "A"}, {"job_title": "B"}],
    ),
    "participant-patch": (
        "PATCH",
        "participants/{id}",
        lambda s, c, _: make_participant(s).id,
        [{"carer_name": "Carer A"}, {"carer_name": "Carer B"}],
    ),
    "group-patch": (
        "PATCH",
        "groups/{id}",
        lambda s, c, _: make_group(s).id,
        [{"name": "Group A"}, {"name": "Group B"}],
    ),
    "webhook-patch": ("PATCH", "webhooks/{id}", _webhook, [{"description": "A"}, {"description": "B"}]),
    "staff-leave": (
        "POST",
        "staff/{id}/leave",
        lambda s, c, _: make_staff(s).id,
        [{"left_on": "2026-01-01"}, {"left_on": "2025-12-01"}],
    ),
}


@pytest.mark.parametrize("route", BY_ID)
def test_star_changes_a_record_at_any_version_and_a_missing_one_is_404(
    client: TestClient, session: Session, coordinator: Actor, route: str
) -> None:
    method, path, make, bodies = BY_ID[route]
    record_id = make(session, coordinator, client)
    url = f"{API}/{path.format(id=record_id)}"
    versions = []
    for body in bodies:  # the second at a version the first moved on
        r = client.request(method, url, json=body, headers={**coordinator.headers, **ANY})
        assert r.status_code == 200, r.text
        versions.append(int(r.headers["etag"].strip('"')))
    assert versions[1] == versions[0] + 1
    missing = f"{API}/{path.format(id=uuid.uuid4())}"
    r = client.request(method, missing, json=bodies[0], headers={**coordinator.headers, **ANY})
    assert r.status_code == 404, r.text


def test_star_replaces_the_policy_settings_at_any_version(client: TestClient, coordinator: Actor) -> None:
    url = f"{API}/policy-settings"
    body = {k: v for k, v in client.get(url, headers=coordinator.headers).json().items() if k in _POLICY}
    for days in (40, 41):
        r = client.put(
            url, json={**body, "review_interval_days": days}, headers={**coordinator.headers, **ANY}
        )
        assert (r.status_code, r.json()["review_interval_days"]) == (200, days), r.text


_POLICY = {
    "min_group_admins",
    "review_interval_days",
    "risk_assessment_valid_days",
    "training_valid_days",
    "self_consent_min_age",
    "parent_notification_days",
    "declaration_valid_days",
    "official_email_domains",
}

PUSHES: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {
    "staff-put": ("PUT", "staff", STAFF_BODY, {"job_title": "Lead"}),
    "staff-patch": ("PATCH", "staff", STAFF_BODY, {"job_title": "Lead"}),
    "participant-put": ("PUT", "participants", CHILD, {"carer_name": "Ade"}),
    "participant-patch": ("PATCH", "participants", CHILD, {"carer_name": "Ade"}),
    "consent-put": ("PUT", "consents", CONSENT, {"withdrawn_on": "2025-01-01"}),
}


@pytest.mark.parametrize("route", PUSHES)
def test_star_on_a_push_creates_nothing_and_changes_a_record_at_any_version(
    client: TestClient, session: Session, integration: Actor, route: str
) -> None:
    method, collection, body, change = PUSHES[route]
    make_participant(session, external_id="CRM-STRICT-P")
    url = f"{API}/{collection}/by-external-id/CRM-STAR-{route}"
    refused = client.request(method, url, json=body, headers={**integration.headers, **ANY})
    assert (refused.status_code, refused.json()["code"]) == (412, "precondition_failed"), refused.text
    for table in (Staff, Participant):
        assert session.exec(select(table).where(table.external_id == f"CRM-STAR-{route}")).all() == []
    created = client.request(method, url, json=body, headers=integration.headers)
    assert created.status_code == 201, created.text
    changed = client.request(method, url, json={**body, **change}, headers={**integration.headers, **ANY})
    assert (changed.status_code, changed.json()["version"]) == (200, created.json()["version"] + 1), (
        changed.text
    )
    # With If-None-Match: * as well: both cannot hold.
    both = client.request(
        method, url, json=body, headers={**integration.headers, **ANY, "If-None-Match": "*"}
    )
    assert both.status_code == 412, both.text


def test_many_changes_with_star_at_once_all_land() -> None:
    """`*` pins no version: writers sent at once queue for the row and none is told it read a stale one."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            coordinator = make_actor(session, Role.coordinator, coordinator=True)
            staff = make_staff(session)
        url = f"{base}{API}/staff/{staff.id}"

        def patch(i: int) -> httpx.Response:
            headers = {**coordinator.headers, **ANY}
            return httpx.patch(url, json={"job_title": f"Title {i}"}, headers=headers, timeout=60)

        answers = together(8, patch)
        assert [r.status_code for r in answers] == [200] * 8, [r.text[:200] for r in answers]
        assert httpx.get(url, headers=coordinator.headers).json()["version"] == staff.version + 8
