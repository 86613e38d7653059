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
from sqlmodel import Session, col, select

from api import clock
from api.staff.models import Staff
from tests.kit.auth import Actor, make_api_key
from tests.kit.servers import live_app
from tests.kit.staff import make_staff
from tests.test_concurrency import together
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


@pytest.mark.parametrize("rounds", [3])
def test_two_writers_each_clearing_one_of_the_last_two_at_once_leave_one(rounds: int) -> None:
    """Each round, a fresh pair of the only e-safety coordinators, and two writes at the same moment each
    taking the flag from one (a whole-record PUT leaving it out, a PATCH by id): one 200, one 409 naming the
    field (never both, never a deadlock's 503), and one coordinator left."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            key = make_api_key(session)
        for attempt in range(rounds):
            with Session(engine, expire_on_commit=False) as session:
                for staff in session.exec(select(Staff).where(col(Staff.is_esafety_coordinator))).all():
                    staff.is_esafety_coordinator = False
                    session.add(staff)
                session.commit()
                x = make_staff(session, is_esafety_coordinator=True, external_id=f"CRM-X{attempt}")
                y = make_staff(session, is_esafety_coordinator=True, external_id=f"CRM-Y{attempt}")

            def send(i: int, x: Staff = x, y: Staff = y) -> httpx.Response:
                if i:
                    url = f"{base}{STAFF}/{y.id}"
                    return httpx.patch(url, json={"is_esafety_coordinator": False}, headers=key.headers)
                url = f"{base}{STAFF}/by-external-id/{x.external_id}"
                return httpx.put(url, json=_whole(x), headers=key.headers, timeout=30)

            answers = sorted(together(2, send), key=lambda a: a.status_code)
            assert [a.status_code for a in answers] == [200, 409], [a.text for a in answers]
            assert _refused(answers[1]) == (409, CODE, "is_esafety_coordinator")
            with Session(engine) as session:
                left = session.exec(select(Staff).where(col(Staff.is_esafety_coordinator))).all()
                assert len(left) == 1
