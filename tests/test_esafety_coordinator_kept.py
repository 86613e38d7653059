"""The policy requires a current e-safety coordinator (rule ORG-COORDINATOR-APPOINTED): no write of a staff
record takes the flag, or the employment, from the only one. A whole-record PUT by the CRM that left
`is_esafety_coordinator` out cleared it on the only coordinator (found last session); every route that
changes a staff record is refused alike: 409 `last_coordinator` naming the field, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.staff.models import Staff
from tests.kit.auth import Actor
from tests.kit.staff import make_staff
from tests.test_last_coordinator import _record

STAFF = "/api/v1/staff"
CODE = "last_coordinator"


def _whole(staff: Staff, **fields: Any) -> dict[str, Any]:
    """The record as a CRM that knows nothing of the flag pushes it: `is_esafety_coordinator` left out."""
    return {k: v for k, v in _record(staff, **fields).items() if k != "is_esafety_coordinator"}


# TestClient answers type as Any here (mypy reads starlette untyped).
Send = Callable[[TestClient, Staff, dict[str, str]], Any]


def _put(client: TestClient, staff: Staff, headers: dict[str, str]) -> Any:
    return client.put(f"{STAFF}/by-external-id/{staff.external_id}", json=_whole(staff), headers=headers)


def _sync(client: TestClient, staff: Staff, headers: dict[str, str]) -> Any:
    record = _whole(staff)
    return client.post("/api/v1/sync/staff", json={"records": [record]}, headers=headers)


def _patch(client: TestClient, staff: Staff, headers: dict[str, str]) -> Any:
    return client.patch(f"{STAFF}/{staff.id}", json={"is_esafety_coordinator": False}, headers=headers)


def _merge(client: TestClient, staff: Staff, headers: dict[str, str]) -> Any:
    url = f"{STAFF}/by-external-id/{staff.external_id}"
    return client.patch(url, json={"is_esafety_coordinator": False}, headers=headers)


def _leave(client: TestClient, staff: Staff, headers: dict[str, str]) -> Any:
    return client.post(f"{STAFF}/{staff.id}/leave", json={"left_on": str(clock.today())}, headers=headers)


ROUTES: dict[str, tuple[Send, str]] = {
    "put-by-external-id": (_put, "is_esafety_coordinator"),
    "sync-replace": (_sync, "is_esafety_coordinator"),
    "patch": (_patch, "is_esafety_coordinator"),
    "patch-by-external-id": (_merge, "is_esafety_coordinator"),
    "leave": (_leave, "left_on"),
}


def _refused(answer: httpx.Response) -> tuple[int, str, str]:
    """(status, code, field) of a route's answer, or of a sync batch's one result."""
    body = answer.json()
    if "results" in body:
        [result] = body["results"]
        return (
            409 if result["status"] == "rejected" else 200,
            result.get("code"),
            result["errors"][0]["field"],
        )
    return answer.status_code, body.get("code"), body.get("errors", [{}])[0].get("field")


@pytest.fixture
def only(session: Session) -> Staff:
    """The organisation's only e-safety coordinator, a record with no sign-in (the CRM's)."""
    return make_staff(session, is_esafety_coordinator=True, external_id="CRM-ESC")


@pytest.mark.parametrize("route", ROUTES)
def test_no_route_takes_the_flag_from_the_only_esafety_coordinator(
    client: TestClient, session: Session, integration: Actor, only: Staff, route: str
) -> None:
    send, field = ROUTES[route]
    answer = send(client, only, integration.headers)
    assert _refused(answer) == (409, CODE, field), answer.text
    session.refresh(only)
    assert (only.is_esafety_coordinator, only.left_on, only.version) == (True, None, 1)


@pytest.mark.parametrize("route", ROUTES)
def test_with_another_current_esafety_coordinator_each_route_changes_it(
    client: TestClient, session: Session, integration: Actor, only: Staff, route: str
) -> None:
    make_staff(session, is_esafety_coordinator=True)
    send, _ = ROUTES[route]
    answer = send(client, only, integration.headers)
    assert answer.status_code == 200, answer.text
    session.refresh(only)
    assert not (only.is_esafety_coordinator and only.left_on is None)


def test_a_departed_coordinator_does_not_count_and_an_organisation_with_none_is_not_refused(
    client: TestClient, session: Session, integration: Actor, only: Staff
) -> None:
    make_staff(session, is_esafety_coordinator=True, left_on=clock.today())
    assert _put(client, only, integration.headers).status_code == 409
    # With no current coordinator at all, a push that appoints none is not the one that lost it.
    other = make_staff(session, external_id="CRM-OTHER")
    assert _put(client, other, integration.headers).status_code == 200
    # A whole record that sends the flag keeps it.
    kept = client.put(
        f"{STAFF}/by-external-id/CRM-ESC",
        json={**_whole(only, job_title="Lead"), "is_esafety_coordinator": True},
        headers=integration.headers,
    )
    assert (kept.status_code, kept.json()["is_esafety_coordinator"]) == (200, True), kept.text
