"""Trying to break a group's `since` now that the group's history is read with its load and kept with its cached
evaluation (`history.ONE_GROUP_RUNS`, `service.GroupEvaluated.runs`), and `fetch.fetch_all` sends a single
statement on PostgreSQL without a pipeline: stale or wrong `since` for any caller after history is written
(by the watch, by hand through the session), a past `as_of`, midnight, cached against uncached; a `since`
that gives a hidden young person's birthday away; the group report against the organisation's export; and a
database failure under the compliance statements, which must be a 503 problem, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from api.auth.roles import Role
from api.compliance import cache
from api.groups.models import Group
from api.main import create_app
from tests.kit.auth import Actor, make_actor
from tests.kit.compliance import make_compliant_group
from tests.kit.databases import BACKEND

postgresql_only = pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL's driver path (fetch)")
RAISE = False
PROBLEM = "application/problem+json"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def url(group: Group) -> str:
    return f"/api/v1/groups/{group.id}/compliance"


# --- PostgreSQL: the compliance statements failing under a real request (the real `get_session`) -----------


@pytest.fixture
def real_engine(request_engine: sa.Engine) -> sa.Engine:
    return request_engine


@pytest.fixture
def real_app(real_engine: sa.Engine) -> FastAPI:
    return create_app()


@pytest.fixture
def real_client(real_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(real_app, raise_server_exceptions=RAISE) as c:
        yield c


@pytest.fixture
def real_world(real_engine: sa.Engine) -> tuple[Actor, Group]:
    with Session(real_engine, expire_on_commit=False) as session:
        coordinator = make_actor(session, Role.coordinator, coordinator=True)
        assert coordinator.staff is not None
        group = make_compliant_group(session, coordinator.staff)
        session.commit()
    return coordinator, group


def _one_connection(engine: sa.Engine) -> None:
    """Every request after this gets the connection the last one returned."""
    assert isinstance(engine.pool, sa.pool.QueuePool)
    engine.pool.dispose()


def _alter(engine: sa.Engine, sql: str) -> None:
    """Another connection (a migration's) changes a column."""
    url_ = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url_, autocommit=True) as other:
        other.execute(sql)


def _is_503_problem(r: object) -> None:
    status = getattr(r, "status_code", None)
    assert status == 503, (status, getattr(r, "text", ""))
    assert r.headers["content-type"] == PROBLEM  # type: ignore[attr-defined]


@postgresql_only
def test_a_connection_lost_under_the_facts_versions_read_is_a_503_problem(
    real_engine: sa.Engine, real_client: TestClient, real_world: tuple[Actor, Group]
) -> None:
    """The server ends the connection just as the facts versions (one statement, now without a pipeline, on
    the driver's own cursor) are sent: a 503 problem, and the next request is answered."""
    coordinator, group = real_world
    _one_connection(real_engine)
    assert real_client.get(url(group), headers=coordinator.headers).status_code == 200
    killed: list[int] = []

    def kill(conn: sa.Connection, cursor: object, statement: str, *_: object) -> None:
        if not killed and "facts_version" in statement:
            pid = conn.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
            with psycopg.connect(
                real_engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                autocommit=True,
            ) as other:
                other.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            killed.append(pid)

    event.listen(real_engine, "before_cursor_execute", kill)
    try:
        lost = real_client.get(url(group), headers=coordinator.headers)
    finally:
        event.remove(real_engine, "before_cursor_execute", kill)
    assert killed
    _is_503_problem(lost)
    after = [real_client.get(url(group), headers=coordinator.headers).status_code for _ in range(3)]
    assert after == [200, 200, 200]


@postgresql_only
def test_a_connection_lost_under_the_pipelined_load_is_a_503_problem(
    real_engine: sa.Engine, real_client: TestClient, real_world: tuple[Actor, Group]
) -> None:
    """The same, under the first read's load (the history's statement sent with the loading statements in
    one pipeline)."""
    coordinator, group = real_world
    _one_connection(real_engine)
    assert real_client.get(url(group), headers=coordinator.headers).status_code == 200
    cache.clear()
    killed: list[int] = []

    def kill(conn: sa.Connection, cursor: object, statement: str, *_: object) -> None:
        if not killed and "compliance_history" in statement:
            pid = conn.connection.driver_connection.info.backend_pid  # type: ignore[union-attr]
            with psycopg.connect(
                real_engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                autocommit=True,
            ) as other:
                other.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            killed.append(pid)

    event.listen(real_engine, "before_cursor_execute", kill)
    try:
        lost = real_client.get(url(group), headers=coordinator.headers)
    finally:
        event.remove(real_engine, "before_cursor_execute", kill)
    assert killed
    _is_503_problem(lost)
    after = [real_client.get(url(group), headers=coordinator.headers).status_code for _ in range(3)]
    assert after == [200, 200, 200]


@postgresql_only
def test_the_facts_versions_kept_prepared_and_a_column_changed_under_them_cost_one_503_never_a_500(
    real_engine: sa.Engine, real_client: TestClient, real_world: tuple[Actor, Group]
) -> None:
    """A migration changes a column the facts versions' statement returns (the scope's length) while the
    app serves: psycopg kept that statement prepared (every cached read sends it), and the server refuses
    to run it again ("cached plan must not change result type"). As for the statements SQLAlchemy sends
    (api/stale_plans.py): one 503 to retry, the pool's connections replaced, the next requests answered."""
    coordinator, group = real_world
    _one_connection(real_engine)
    for _ in range(8):  # psycopg prepares a statement on its fifth run
        assert real_client.get(url(group), headers=coordinator.headers).status_code == 200
    _alter(real_engine, "ALTER TABLE facts_version ALTER COLUMN scope TYPE varchar(40)")
    try:
        met = real_client.get(url(group), headers=coordinator.headers)
        after = [real_client.get(url(group), headers=coordinator.headers).status_code for _ in range(3)]
    finally:
        _alter(real_engine, "ALTER TABLE facts_version ALTER COLUMN scope TYPE varchar(36)")
    _is_503_problem(met)
    assert after == [200, 200, 200]


@postgresql_only
def test_the_loading_statements_kept_prepared_and_a_column_changed_under_them_cost_one_503_never_a_500(
    real_engine: sa.Engine, real_client: TestClient, real_world: tuple[Actor, Group]
) -> None:
    """The same for the pipelined load (the group's row, its name among its columns): every first read after
    a write sends it."""
    coordinator, group = real_world
    with real_engine.connect() as conn:  # before the warm-up: its ROLLBACK makes psycopg forget its plans
        length = conn.exec_driver_sql(
            "SELECT character_maximum_length FROM information_schema.columns "
            "WHERE table_name = 'online_group' AND column_name = 'name'"
        ).scalar_one()
    _one_connection(real_engine)
    for _ in range(8):
        cache.clear()
        assert real_client.get(url(group), headers=coordinator.headers).status_code == 200
    _alter(real_engine, f"ALTER TABLE online_group ALTER COLUMN name TYPE varchar({length + 1})")
    try:
        cache.clear()
        met = real_client.get(url(group), headers=coordinator.headers)
        after = []
        for _ in range(3):
            cache.clear()
            after.append(real_client.get(url(group), headers=coordinator.headers).status_code)
    finally:
        _alter(real_engine, f"ALTER TABLE online_group ALTER COLUMN name TYPE varchar({length})")
    _is_503_problem(met)
    assert after == [200, 200, 200]
