"""Session 8's trust changes, tried as an attacker or a careless integrator would (task "break"): each test
here is a way in that was tried, kept so it stays shut."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from api import clock, preconditions
from api.auth.models import User
from api.auth.roles import Role
from api.participants.models import Participant
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.participants import make_participant
from tests.kit.servers import live_app
from tests.kit.staff import make_staff
from tests.test_concurrency import together
from tests.test_if_match_any import _if_match_routes
from tests.test_strict_input import _routes

STAFF = "/api/v1/staff"


def _field(answer: object) -> tuple[int, str | None, str | None]:
    body = answer.json()  # type: ignore[attr-defined]
    return answer.status_code, body.get("code"), body.get("errors", [{}])[0].get("field")  # type: ignore[attr-defined]


def test_a_start_moved_past_today_on_the_only_esafety_coordinator_is_refused_naming_started_on(
    client: TestClient, session: Session, integration: Actor
) -> None:
    only = make_staff(session, is_esafety_coordinator=True, external_id="CRM-ESC")
    later = str(clock.today() + timedelta(days=1))
    answer = client.patch(f"{STAFF}/{only.id}", json={"started_on": later}, headers=integration.headers)
    assert _field(answer) == (409, "last_coordinator", "started_on"), answer.text
    session.refresh(only)
    assert only.started_on < clock.today()


def test_a_leaving_day_in_the_past_on_the_only_esafety_coordinator_is_refused_naming_left_on(
    client: TestClient, session: Session, integration: Actor
) -> None:
    only = make_staff(session, is_esafety_coordinator=True)
    past = str(clock.today() - timedelta(days=3))
    answer = client.post(f"{STAFF}/{only.id}/leave", json={"left_on": past}, headers=integration.headers)
    assert _field(answer) == (409, "last_coordinator", "left_on"), answer.text
    # A leaving day after today leaves time to appoint another, as for coordinator accounts.
    future = str(clock.today() + timedelta(days=7))
    answer = client.post(f"{STAFF}/{only.id}/leave", json={"left_on": future}, headers=integration.headers)
    assert answer.status_code == 200, answer.text


def test_a_handover_appoints_the_new_coordinator_then_clears_the_old(
    client: TestClient, session: Session, integration: Actor
) -> None:
    old = make_staff(session, is_esafety_coordinator=True)
    new = make_staff(session)
    # Clearing first is refused; appointing one who starts tomorrow does not yet make them current.
    assert (
        client.patch(
            f"{STAFF}/{old.id}", json={"is_esafety_coordinator": False}, headers=integration.headers
        ).status_code
        == 409
    )
    starts = make_staff(session, is_esafety_coordinator=True, started_on=clock.today() + timedelta(days=1))
    assert starts.id
    assert (
        client.patch(
            f"{STAFF}/{old.id}", json={"is_esafety_coordinator": False}, headers=integration.headers
        ).status_code
        == 409
    )
    appoint = client.patch(
        f"{STAFF}/{new.id}", json={"is_esafety_coordinator": True}, headers=integration.headers
    )
    assert appoint.status_code == 200, appoint.text
    clear = client.patch(
        f"{STAFF}/{old.id}", json={"is_esafety_coordinator": False}, headers=integration.headers
    )
    assert clear.status_code == 200, clear.text
    current = session.exec(
        select(func.count())
        .select_from(Staff)
        .where(col(Staff.is_esafety_coordinator), Staff.started_on <= clock.today())
    ).one()
    assert current == 1


def test_if_match_any_on_a_missing_record_creates_nothing_on_every_push(
    client: TestClient, session: Session, integration: Actor
) -> None:
    body = {
        "full_name": "Nobody Yet",
        "email": "nobody.yet@moremusic.org.uk",
        "employment_type": "sessional",
        "started_on": "2024-09-01",
    }
    for value in ("*", " * ", "*\t"):
        for method in ("PUT", "PATCH"):
            answer = client.request(
                method,
                f"{STAFF}/by-external-id/CRM-NONE",
                json=body,
                headers={**integration.headers, "If-Match": value},
            )
            assert answer.status_code == 412, (method, value, answer.text)
    for value in ('*, "1"', 'W/"*"', '"*"'):
        answer = client.put(
            f"{STAFF}/by-external-id/CRM-NONE", json=body, headers={**integration.headers, "If-Match": value}
        )
        assert answer.status_code == 412, (value, answer.text)
    assert session.exec(select(Staff).where(Staff.external_id == "CRM-NONE")).first() is None


def test_only_the_pushes_read_if_none_match_among_the_routes_taking_if_match(app: FastAPI) -> None:
    routes = {(m, r.path): r for r in _routes(list(app.routes)) for m in r.methods}
    reading = {k for k in _if_match_routes(app) if preconditions._reads_if_none_match(routes[k])}
    assert reading, "no push reads If-None-Match"
    assert all("/by-external-id/" in path for _, path in reading), reading


def test_create_only_on_a_change_by_id_is_412_and_writes_nothing(
    client: TestClient, session: Session, coordinator: Actor, integration: Actor
) -> None:
    """`If-None-Match: *` says "only if no record exists"; a change by id is always to one that does.
    Found: every route but the pushes ignored the header, so a client asking to create only overwrote."""
    staff = make_staff(session, external_id="CRM-INM")
    child = make_participant(session)
    today = str(clock.today())
    sent = [
        ("PATCH", f"{STAFF}/{staff.id}", {"job_title": "Changed"}, integration),
        ("POST", f"{STAFF}/{staff.id}/leave", {"left_on": today}, integration),
        ("PATCH", f"/api/v1/participants/{child.id}", {"carer_name": "Changed"}, coordinator),
        ("POST", f"/api/v1/participants/{child.id}/leave", {"left_on": today}, coordinator),
    ]
    for value in ("*", " *"):
        for method, url, body, actor in sent:
            for also in ({}, {"If-Match": "*"}, {"If-Match": '"1"'}):
                headers = {**actor.headers, **also, "If-None-Match": value}
                answer = client.request(method, url, json=body, headers=headers)
                assert answer.status_code == 412, (method, url, value, also, answer.text)
                assert answer.json()["code"] == "precondition_failed"
    session.refresh(staff)
    session.refresh(child)
    assert (staff.version, staff.job_title, staff.left_on) == (1, None, None)
    assert (child.version, child.left_on) == (1, None)
    # A missing record is still a 404 first (RFC 9110 §13.2.1), and the pushes keep their own reading.
    missing = client.patch(
        f"{STAFF}/{uuid.uuid4()}",
        json={"job_title": "X"},
        headers={**integration.headers, "If-None-Match": "*"},
    )
    assert missing.status_code == 404, missing.text
    push = client.patch(
        f"{STAFF}/by-external-id/CRM-INM",
        json={"job_title": "X"},
        headers={**integration.headers, "If-None-Match": "*"},
    )
    assert push.status_code == 412, push.text
    assert session.exec(select(func.count()).select_from(Participant)).one() >= 1


def _active_coordinators(session: Session) -> int:
    today = clock.today()
    query = (
        select(func.count())
        .select_from(User)
        .join(Staff, col(Staff.id) == col(User.staff_id))
        .where(User.role == Role.coordinator, col(User.is_active))
        .where((col(Staff.left_on).is_(None)) | (col(Staff.left_on) > today))
    )
    return session.exec(query).one()


def test_a_demotion_and_a_leaving_at_once_across_record_kinds_leave_one_coordinator() -> None:
    """Two writes of different record kinds at the same moment, each ending one of the last two active
    coordinator accounts: a user account demoted (PATCH /users/{id}, by the other) and the demoting
    coordinator's own staff record leaving today (POST /staff/{id}/leave, by the CRM's key). Both guards
    queue on the one lock: one lands, the other is a 409 (or, where the leaving landed first, the demotion's
    caller no longer signs in: 401), never both, never a deadlock's 503, on either database."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            key = make_api_key(session)
        today = str(clock.today())
        for attempt in range(3):
            with Session(engine, expire_on_commit=False) as session:
                for user in session.exec(select(User)).all():
                    user.is_active = False
                    session.add(user)
                session.commit()
                me = make_actor(session, Role.coordinator)
                other = make_actor(session, Role.coordinator)
            assert me.staff is not None
            assert other.user is not None

            def send(i: int, me: Actor = me, other: Actor = other) -> httpx.Response:
                assert me.staff is not None
                assert other.user is not None
                if i:
                    url = f"{base}/api/v1/users/{other.user.id}"
                    return httpx.patch(url, json={"role": "staff"}, headers=me.headers, timeout=30)
                url = f"{base}{STAFF}/{me.staff.id}/leave"
                return httpx.post(url, json={"left_on": today}, headers=key.headers, timeout=30)

            leave, demote = together(2, send)
            assert leave.status_code in (200, 409), leave.text
            assert demote.status_code in (200, 409, 401), demote.text
            assert sorted([leave.status_code, demote.status_code]) in ([200, 409], [200, 401]), attempt
            with Session(engine) as session:
                assert _active_coordinators(session) == 1


def test_patches_by_id_racing_pushes_by_external_id_of_one_record_all_land() -> None:
    """A PATCH by id (re-read under its row lock, `Records.change`) and PATCHes by external id (`crud.locked`)
    of the same participant at the same moment, each sending another field: every one lands, none is a 409
    or a deadlock's 503."""
    fields = [
        ("carer_name", "A Carer"),
        ("carer_phone", "+447700900111"),
        ("carer_email", "carer@example.org"),
        ("personal_email", "child@example.org"),
    ]
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            key = make_api_key(session)
            child = make_participant(session, external_id="CRM-RACE")
        by_id = f"{base}/api/v1/participants/{child.id}"
        by_external_id = f"{base}/api/v1/participants/by-external-id/CRM-RACE"

        def patch(i: int) -> httpx.Response:
            name, value = fields[i]
            url = by_id if i % 2 else by_external_id
            return httpx.patch(url, json={name: value}, headers=key.headers, timeout=60)

        answers = together(len(fields), patch)
        assert [a.status_code for a in answers] == [200] * len(fields), [a.text[:200] for a in answers]
        stored = httpx.get(by_id, headers=key.headers).json()
        assert {name: stored[name] for name, _ in fields} == dict(fields)
        assert stored["version"] == child.version + len(fields)
