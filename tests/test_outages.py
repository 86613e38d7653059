"""The database failing: down, hung, saturated or locked. Every answer is a 503 problem with Retry-After
that says truthfully whether anything was saved, within the configured bounds, from the routes and the
middlewares alike; and an Idempotency-Key is never left locked by a request that failed."""

from __future__ import annotations

import functools
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session

from api.auth import tokens
from api.auth.roles import Role
from api.config import get_settings
from api.db import SessionDep, make_engine, request_writes, utcnow
from api.idempotency.store import KeyInUse, claim, renew
from tests import conftest
from tests.kit.auth import Actor, make_actor
from tests.kit.clock import TODAY
from tests.kit.consents import image_use_body
from tests.kit.databases import throwaway_database
from tests.kit.participants import make_participant
from tests.kit.servers import live_server
from tests.kit.staff import make_staff
from tests.test_idempotency import _row, body, keyed

PROBLEM = "application/problem+json"


def _is_503_problem(r: httpx.Response, code: str = "database_unavailable") -> dict[str, Any]:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["retry-after"] == "1"
    problem: dict[str, Any] = r.json()
    assert problem["code"] == code
    return problem


def _some_token() -> dict[str, str]:
    """A well-signed token: checking it needs the database, so the request gets as far as the database."""
    token = tokens.issue(
        user_id=uuid.uuid4(), epoch=0, secret=get_settings().secret_key.get_secret_value(), minutes=5
    )
    return {"Authorization": f"Bearer {token}"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # /ready asks the app's own engine; the routes get sessions from `engine` through the live server.
    monkeypatch.setattr("api.health.get_engine", lambda: engine)
    with live_server(engine) as base:
        yield base


def _down_url() -> str:
    if conftest.BACKEND == "sqlite":
        return "sqlite:////nonexistent-dir/esafety.db"
    return f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/esafety"  # nothing listens there


def test_with_the_database_down_every_answer_is_a_503_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's reproduction: a POST with an Idempotency-Key got 500 text/plain (its claim failed in the
    middleware, out of FastAPI's handlers' sight), the same POST without the header the promised 503."""
    engine = make_engine(_down_url())
    try:
        with _serving(engine, monkeypatch) as base:
            headers = _some_token()
            keyed_post = httpx.post(
                f"{base}/api/v1/staff", json=body(), headers={**headers, "Idempotency-Key": "k"}, timeout=30
            )
            plain_post = httpx.post(f"{base}/api/v1/staff", json=body(), headers=headers, timeout=30)
            get = httpx.get(f"{base}/api/v1/staff", headers=headers, timeout=30)
            ready = httpx.get(f"{base}/ready", timeout=30)
    finally:
        engine.dispose()
    for r in (keyed_post, plain_post):
        # Nothing was committed by these requests, so the answer may say so.
        assert "nothing was changed" in _is_503_problem(r)["detail"]
    _is_503_problem(get)
    assert _is_503_problem(ready, "not_ready")["database"] == "unreachable"


@contextmanager
def _silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word: a database that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def test_a_hung_database_is_a_503_within_the_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that accepts and never answers hung every request and /ready; now the connect timeout ends
    the wait (the test's own client would give up long before the old hang ended)."""
    monkeypatch.setattr(get_settings(), "database_connect_timeout_seconds", 2.0)
    with _silent_server() as port:
        engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/esafety")
        try:
            with _serving(engine, monkeypatch) as base:
                headers = {**_some_token(), "Idempotency-Key": "hung"}
                post = httpx.post(f"{base}/api/v1/staff", json=body(), headers=headers, timeout=30)
                ready = httpx.get(f"{base}/ready", timeout=30)
        finally:
            engine.dispose()
    _is_503_problem(post)
    _is_503_problem(ready, "not_ready")


def test_requests_waiting_for_a_connection_get_a_503_after_the_pool_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every connection busy: the queued request got 500 text/plain after 30 s (the pool's TimeoutError was
    not mapped); now a 503 problem after DATABASE_POOL_TIMEOUT_SECONDS."""
    monkeypatch.setattr(get_settings(), "database_pool_timeout_seconds", 0.5)
    with throwaway_database(migrated=True) as url:
        engine = make_engine(url)
        with Session(engine, expire_on_commit=False) as session:
            coordinator = make_actor(session, Role.coordinator, coordinator=True)
        engine.dispose()
        pool = engine.pool
        busy = [engine.connect() for _ in range(pool.size() + pool._max_overflow)]  # type: ignore[attr-defined]
        try:
            with _serving(engine, monkeypatch) as base:
                r = httpx.get(f"{base}/api/v1/staff", headers=coordinator.headers, timeout=30)
        finally:
            for conn in busy:
                conn.close()
            engine.dispose()
    _is_503_problem(r)


def test_a_writer_held_up_past_the_statement_timeout_gets_a_503_and_its_retry_succeeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another transaction holds the record (PostgreSQL: its row lock; SQLite: the write lock) for longer
    than DATABASE_STATEMENT_TIMEOUT_SECONDS: the write is a 503 that changed nothing, and a retry once the
    other transaction ends goes through."""
    monkeypatch.setattr(get_settings(), "database_statement_timeout_seconds", 1.0)
    with throwaway_database(migrated=True) as url:
        engine = make_engine(url)
        try:
            with Session(engine, expire_on_commit=False) as session:
                coordinator = make_actor(session, Role.coordinator, coordinator=True)
                staff = make_staff(session)
            with _serving(engine, monkeypatch) as base:
                target = f"{base}/api/v1/staff/{staff.id}"
                with engine.connect() as blocker:
                    if conftest.BACKEND == "sqlite":
                        blocker.exec_driver_sql(
                            "UPDATE staff SET job_title = 'held' WHERE id = ?", (staff.id.hex,)
                        )
                    else:
                        blocker.execute(
                            text("SELECT 1 FROM staff WHERE id = :id FOR UPDATE"), {"id": staff.id}
                        )
                    held = httpx.patch(
                        target, json={"job_title": "x"}, headers=coordinator.headers, timeout=30
                    )
                    blocker.rollback()
                retried = httpx.patch(
                    target, json={"job_title": "x"}, headers=coordinator.headers, timeout=30
                )
        finally:
            engine.dispose()
    assert "nothing was changed" in _is_503_problem(held)["detail"]
    assert retried.status_code == 200, retried.text
    assert retried.json()["version"] == 2


def test_a_request_that_failed_releases_its_key_so_the_retry_runs_at_once(
    client: TestClient, coordinator: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database failed under the route after the key was claimed: the retry used to get 409 "still
    being processed" for the lock's lifetime; now the key is free at once."""
    from api.staff import service

    real = service.create
    calls = 0

    # Wrapped, so the record router hands it what it hands the real service (it reads the signature).
    @functools.wraps(real)
    def flaky(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real(**kwargs)

    monkeypatch.setattr(service, "create", flaky)
    failed = client.post("/api/v1/staff", json=body(), headers=keyed(coordinator, "flaky"))
    assert "nothing was changed" in _is_503_problem(failed)["detail"]
    assert _row(session, coordinator, "flaky") is None
    retried = client.post("/api/v1/staff", json=body(), headers=keyed(coordinator, "flaky"))
    assert retried.status_code == 201, retried.text


def test_a_key_the_database_was_too_broken_to_release_still_answers_503(
    client: TestClient, coordinator: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The route and then the release both fail: the client still gets the 503 problem (not a 500), and the
    claim, which nobody renews, is taken over once it lapses (as a crashed worker's is)."""
    from api.idempotency import store
    from api.staff import service

    def down(*_: Any, **__: Any) -> Any:
        raise OperationalError("INSERT", {}, Exception("connection refused"))

    monkeypatch.setattr(service, "create", down)
    monkeypatch.setattr(store, "release", down)
    _is_503_problem(client.post("/api/v1/staff", json=body(), headers=keyed(coordinator, "stuck")))
    row = _row(session, coordinator, "stuck")
    assert row is not None
    assert row.response_status is None
    monkeypatch.undo()
    row.locked_at = utcnow() - timedelta(seconds=get_settings().idempotency_lock_seconds + 1)
    session.add(row)
    session.commit()
    assert client.post("/api/v1/staff", json=body(), headers=keyed(coordinator, "stuck")).status_code == 201


def test_a_running_request_renews_its_claim(session: Session) -> None:
    now = utcnow()
    assert claim(session, owner="user:c", key="long", fingerprint="f", now=now) is None
    lapsed = now + timedelta(seconds=get_settings().idempotency_lock_seconds + 1)
    renew(session, owner="user:c", key="long", now=lapsed)
    with pytest.raises(KeyInUse):  # renewed just now: still the running request's
        claim(session, owner="user:c", key="long", fingerprint="f", now=lapsed)


def test_a_503_after_something_was_saved_does_not_say_nothing_was_changed(
    app: FastAPI, coordinator: Actor
) -> None:
    """A request that commits and then meets a failed database has saved something, and the answer must
    not claim otherwise. (No route does this now: a consent pushed already withdrawn, which did, is one
    commit. So a route of the test's own.)"""

    @app.post("/half-saved")
    def half_saved(session: SessionDep) -> None:
        make_participant(session)
        raise OperationalError("UPDATE", {}, Exception("server closed the connection unexpectedly"))

    with TestClient(app, raise_server_exceptions=False) as c:
        detail = _is_503_problem(c.post("/half-saved", headers=coordinator.headers))["detail"]
    assert "nothing was changed" not in detail
    assert "some of its changes were saved" in detail


def test_a_consent_pushed_already_withdrawn_that_fails_half_way_changed_nothing(
    client: TestClient, integration: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recorded and withdrawn in one transaction: a failure at the withdrawal leaves nothing saved, and the
    answer says so."""
    from api.consents import service

    def down(**_: Any) -> Any:
        raise OperationalError("UPDATE", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(service, "withdraw", down)
    child = make_participant(session)
    record = image_use_body(child, TODAY - timedelta(days=30), withdrawn_on=str(TODAY - timedelta(days=1)))
    r = client.put("/api/v1/consents/by-external-id/CRM-C-HALF", json=record, headers=integration.headers)
    assert "nothing was changed" in _is_503_problem(r)["detail"]


def test_a_database_error_in_a_route_maps_the_pool_timeout_too(app: Any, coordinator: Actor) -> None:
    from api.db import get_session

    def exhausted() -> Iterator[Session]:
        raise PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached")
        yield  # pragma: no cover - makes this a generator dependency

    app.dependency_overrides[get_session] = exhausted
    with TestClient(app, raise_server_exceptions=False) as c:
        _is_503_problem(c.get("/api/v1/staff", headers=coordinator.headers))


def test_a_commit_that_fails_unanswered_leaves_the_request_in_doubt() -> None:
    """The database may have saved a commit whose answer never came (the connection dropped during COMMIT):
    the request's writes are then in doubt, so its 503 says they may have been saved (never "nothing was
    changed") and its Idempotency-Key stays claimed (api/idempotency/), so a retry sent at once waits
    rather than doing the work twice. A real engine here: the test database's sessions commit savepoints."""
    import sqlalchemy as sa
    from sqlalchemy import event

    from api.db import Writes
    from api.facts import FACTS_VERSION

    engine = sa.create_engine("sqlite://")
    table = sa.Table("t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
    FACTS_VERSION.to_metadata(table.metadata)  # a write to a table nobody classified moves "org"
    table.metadata.create_all(engine)

    def answer_lost(_conn: Any) -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    writes = Writes()
    token = request_writes.set(writes)
    try:
        with Session(engine) as session:
            session.execute(table.insert().values(id=1))
            session.commit()
        assert (writes.committed, writes.in_doubt) == (1, False)
        event.listen(engine, "commit", answer_lost)
        with Session(engine) as session:
            session.execute(table.insert().values(id=2))
            with pytest.raises(OperationalError):
                session.commit()
        assert (writes.committed, writes.in_doubt) == (1, True)
    finally:
        request_writes.reset(token)
