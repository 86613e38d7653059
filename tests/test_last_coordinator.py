"""The last active coordinator cannot lose access by any path (issue 11): every route that can end an
account's access answers 409 `last_coordinator` (a `rejected` result in a sync batch), through one guard,
also when two requests each end one of the last two coordinators at the same moment."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api import clock
from api.accounts import user_service
from api.auth.coordinators import LastCoordinator, has_access
from api.auth.models import User, UserUpdate
from api.auth.principal import user_principal
from api.auth.roles import Role
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.clock import FixedClock
from tests.kit.servers import live_app
from tests.test_concurrency import together

STAFF = "/api/v1/staff"
ME = "/api/v1/auth/me"
CODE = "last_coordinator"
# One request: method, path, JSON body, headers.
Call = tuple[str, str, dict[str, Any], dict[str, str]]


def _record(staff: Staff, **fields: Any) -> dict[str, Any]:
    """The staff record as the CRM would push it in full."""
    body = {
        "full_name": staff.full_name,
        "email": staff.email,
        "employment_type": staff.employment_type.value,
        "started_on": str(staff.started_on),
        "is_esafety_coordinator": staff.is_esafety_coordinator,
        "external_id": staff.external_id,
    }
    return {**body, **fields}


def _today() -> date:
    return clock.today()


def _ends_access(client: TestClient, path: str, staff: Staff, headers: dict[str, str], day: str) -> int:
    """Send one change that would end `staff`'s access on `day` by `path`; the status (a 409 checked to be
    `last_coordinator`)."""
    if path == "patch":
        r = client.patch(f"{STAFF}/{staff.id}", json={"left_on": day}, headers=headers)
    elif path == "leave":
        r = client.post(f"{STAFF}/{staff.id}/leave", json={"left_on": day}, headers=headers)
    elif path == "merge":  # the CRM's partial push: the leaving day alone
        url = f"{STAFF}/by-external-id/{staff.external_id}"
        r = client.patch(url, json={"left_on": day}, headers=headers)
    else:
        url = f"{STAFF}/by-external-id/{staff.external_id}"
        r = client.put(url, json=_record(staff, left_on=day), headers=headers)
    if r.status_code == 409:
        assert r.json()["code"] == CODE
    return int(r.status_code)


@pytest.fixture
def last(fixed_clock: FixedClock, session: Session) -> Actor:
    """The only active coordinator, with a CRM id."""
    return make_actor(session, Role.coordinator, coordinator=True, external_id="CRM-LAST")


@pytest.mark.parametrize("path", ["patch", "leave", "put", "merge"])
@pytest.mark.parametrize("days_ago", [0, 3])
@pytest.mark.parametrize("caller", ["herself", "api_key"])
def test_a_staff_route_cannot_end_the_last_coordinators_access(
    client: TestClient, session: Session, last: Actor, path: str, days_ago: int, caller: str
) -> None:
    assert last.staff is not None
    headers = last.headers if caller == "herself" else make_api_key(session).headers
    day = str(_today() - timedelta(days=days_ago))
    assert _ends_access(client, path, last.staff, headers, day) == 409
    session.refresh(last.staff)
    assert last.staff.left_on is None
    assert client.get(ME, headers=last.headers).status_code == 200


def test_the_answer_carries_the_one_code(client: TestClient, session: Session, last: Actor) -> None:
    assert last.staff is not None
    r = client.post(f"{STAFF}/{last.staff.id}/leave", json={"left_on": str(_today())}, headers=last.headers)
    assert r.status_code == 409
    assert r.json()["code"] == CODE


def test_a_leaving_day_after_today_is_allowed(client: TestClient, last: Actor) -> None:
    # Access lasts until then: time to give another member of staff the role.
    assert last.staff is not None
    day = str(_today() + timedelta(days=1))
    r = client.post(f"{STAFF}/{last.staff.id}/leave", json={"left_on": day}, headers=last.headers)
    assert r.status_code == 200, r.text
    assert client.get(ME, headers=last.headers).status_code == 200


@pytest.mark.parametrize("path", ["patch", "leave", "put", "merge"])
def test_with_another_active_coordinator_each_route_ends_access(
    client: TestClient, session: Session, last: Actor, path: str
) -> None:
    other = make_actor(session, Role.coordinator, coordinator=True)
    assert last.staff is not None
    assert _ends_access(client, path, last.staff, other.headers, str(_today())) == 200
    assert client.get(ME, headers=last.headers).status_code == 401


def test_a_departed_or_disabled_coordinator_does_not_count(
    client: TestClient, session: Session, last: Actor
) -> None:
    make_actor(session, Role.coordinator, coordinator=True, left_on=_today())
    disabled = make_actor(session, Role.coordinator, coordinator=True)
    assert disabled.user is not None
    disabled.user.is_active = False
    session.add(disabled.user)
    session.commit()
    make_actor(session, Role.staff)  # an active account, but not a coordinator
    assert last.staff is not None
    assert _ends_access(client, "patch", last.staff, last.headers, str(_today())) == 409


def test_a_sync_batch_rejects_that_record_and_saves_the_rest(
    client: TestClient, session: Session, last: Actor
) -> None:
    assert last.staff is not None
    key = make_api_key(session)
    newcomer = {
        "external_id": "CRM-NEW",
        "full_name": "New Starter",
        "email": "new.starter@moremusic.org.uk",
        "employment_type": "sessional",
        "started_on": str(_today() - timedelta(days=2)),
    }
    records = [newcomer, _record(last.staff, left_on=str(_today()))]
    body = client.post("/api/v1/sync/staff", json={"records": records}, headers=key.headers).json()
    assert [r["status"] for r in body["results"]] == ["created", "rejected"]
    assert body["results"][1]["code"] == CODE
    assert session.exec(select(Staff).where(Staff.external_id == "CRM-NEW")).one()
    session.refresh(last.staff)
    assert last.staff.left_on is None
    assert client.get(ME, headers=last.headers).status_code == 200


def test_a_users_patch_answers_with_the_same_code(session: Session, last: Actor) -> None:
    # Over HTTP the caller of PATCH /users is always another active coordinator, and one's own account is
    # refused by its own rule: the guard is reached here through the service, acting as a departed one.
    departed = make_actor(session, Role.coordinator, coordinator=True, left_on=_today())
    assert last.user is not None
    assert departed.user is not None
    for change in (UserUpdate(role=Role.staff), UserUpdate(is_active=False)):
        with pytest.raises(LastCoordinator) as refused:
            user_service.update(
                session=session, caller=user_principal(departed.user), user=last.user, data=change
            )
        assert refused.value.code == CODE
        assert refused.value.status_code == 409


# --- at the same moment, against a live server --------------------------------------------------------


def _two_coordinators(session: Session, n: int) -> tuple[Actor, Actor, Actor]:
    x = make_actor(session, Role.coordinator, coordinator=True, external_id=f"CRM-X{n}")
    y = make_actor(session, Role.coordinator, coordinator=True, external_id=f"CRM-Y{n}")
    return x, y, make_api_key(session)


def _active_coordinators(session: Session) -> int:
    rows = session.exec(
        select(User, Staff)
        .join(Staff, col(Staff.id) == col(User.staff_id))
        .where(User.role == Role.coordinator, col(User.is_active).is_(True))
    ).all()
    return sum(1 for _, staff in rows if has_access(staff.left_on, _today()))


@pytest.mark.parametrize("rounds", [4])
def test_two_requests_ending_the_last_two_coordinators_at_once_do_not_both_succeed(rounds: int) -> None:
    """Each round: a fresh pair of the only coordinators, and two requests at the same moment, each ending
    one of them (by a mix of paths). Exactly one succeeds; the other is 409 `last_coordinator`."""
    with live_app() as (base, engine):
        for attempt in range(rounds):
            with Session(engine, expire_on_commit=False) as session:
                # End the previous round's survivor by hand, so this round's pair are the only ones left.
                for user in session.exec(select(User).where(User.role == Role.coordinator)).all():
                    user.is_active = False
                    session.add(user)
                session.commit()
                x, y, key = _two_coordinators(session, attempt)
            assert x.staff is not None
            assert y.staff is not None
            assert x.user is not None
            assert y.user is not None
            today = str(_today())
            leave_x: Call = ("post", f"/api/v1/staff/{x.staff.id}/leave", {"left_on": today}, key.headers)
            leave_y: Call = ("post", f"/api/v1/staff/{y.staff.id}/leave", {"left_on": today}, key.headers)
            patch_x: Call = ("patch", f"/api/v1/staff/{x.staff.id}", {"left_on": today}, key.headers)
            put_y: Call = (
                "put",
                f"/api/v1/staff/by-external-id/{y.staff.external_id}",
                _record(y.staff, left_on=today),
                key.headers,
            )
            demote_y: Call = ("patch", f"/api/v1/users/{y.user.id}", {"role": "staff"}, x.headers)
            disable_x: Call = ("patch", f"/api/v1/users/{x.user.id}", {"is_active": False}, y.headers)
            # The CRM's key ends both (paths that do not depend on either coordinator's own token); then
            # each coordinator ends the other; then one of each kind.
            calls = [[leave_x, leave_y], [patch_x, put_y], [demote_y, disable_x], [demote_y, patch_x]][
                attempt
            ]
            # A coordinator whose own access the other request ended first may be turned away at sign-in
            # (401) rather than by the guard: either way it did not succeed.
            by_key = attempt < 2

            def send(i: int, calls: list[Call] = calls) -> httpx.Response:
                method, path, body, headers = calls[i]
                return httpx.request(method, base + path, json=body, headers=headers, timeout=30)

            answers = together(2, send)
            codes = sorted(a.status_code for a in answers)
            assert codes[0] == 200, [a.text for a in answers]
            assert codes[1] in ((409,) if by_key else (401, 409)), [a.text for a in answers]
            refused = next(a for a in answers if a.status_code != 200)
            if refused.status_code == 409:
                assert refused.json()["code"] == CODE
            with Session(engine) as session:
                assert _active_coordinators(session) == 1
