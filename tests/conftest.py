"""Test set-up: one throwaway database per run, migrated once; each test in a transaction rolled back.

SQLite by default; PostgreSQL when TEST_DATABASE_URL points at a server (a fresh database is created on
it for this run and dropped afterwards, so runs never collide or depend on leftovers).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

# Settings are read once: fix them before the app is imported.
os.environ["ENVIRONMENT"] = "test"
os.environ["ARGON2_TIME_COST"] = "1"
os.environ["ARGON2_MEMORY_KIB"] = "64"
os.environ["SECRET_KEY"] = "test-secret-" + "x" * 40
# The tests' own webhook receivers listen on this machine; every other internal address stays refused.
os.environ["WEBHOOK_ALLOWED_NETWORKS"] = "127.0.0.1/32"

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, make_url
from sqlmodel import Session

from tests.kit.databases import BACKEND, engine_for, new_database_url, throwaway_database

DB_URL = new_database_url("esafety_test")
os.environ["DATABASE_URL"] = DB_URL

from tests.kit import run_clock  # noqa: E402

# Before any test module writes "today" down: the run on one organisation's day (tests/kit/run_clock.py).
run_clock.install()

from api import clock, db  # noqa: E402
from api.auth.roles import Role  # noqa: E402
from api.db import get_engine  # noqa: E402
from api.groups.models import Group  # noqa: E402
from api.main import create_app  # noqa: E402
from tests.kit.apps import use_session  # noqa: E402
from tests.kit.auth import Actor, make_actor, make_api_key  # noqa: E402
from tests.kit.clock import LONDON_JUST_AFTER_MIDNIGHT, FixedClock  # noqa: E402
from tests.kit.compliance import make_compliant_group  # noqa: E402

__all__ = ["BACKEND", "DB_URL"]


def pytest_report_header() -> str:
    return f"database backend: {BACKEND} ({make_url(DB_URL).render_as_string(hide_password=True)})"


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    with throwaway_database(DB_URL, migrated=True):
        eng = get_engine()
        yield eng
        eng.dispose()


@pytest.fixture(scope="module")
def module_database() -> Iterator[str]:
    """A migrated database of the module's own, for tests of what requests commit themselves."""
    with throwaway_database(migrated=True) as url:
        yield url


@pytest.fixture
def request_engine(module_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The app's engine on the module's database, on which the real `get_session` (not overridden) opens
    every request's session."""
    with engine_for(module_database) as engine:
        monkeypatch.setattr(db, "get_engine", lambda: engine)
        yield engine


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    outer.rollback()
    conn.close()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    # The app's commits become SAVEPOINT releases; the outer transaction is rolled back after the test.
    with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
        yield s


@pytest.fixture
def app(session: Session) -> Iterator[FastAPI]:
    application = create_app()
    use_session(application, session)
    yield application
    application.dependency_overrides.clear()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> FixedClock:
    """The service's clock stopped at 2026-07-01T23:30Z (00:30 on 2 July in London) until the test moves it.
    Ask for it before any fixture that makes records, so their stamps follow it too."""
    fixed = FixedClock(LONDON_JUST_AFTER_MIDNIGHT)
    monkeypatch.setattr(clock, "now", fixed.now)
    return fixed


@pytest.fixture
def coordinator(session: Session) -> Actor:
    return make_actor(session, Role.coordinator, coordinator=True)


@pytest.fixture
def staff_actor(session: Session) -> Actor:
    return make_actor(session, Role.staff)


@pytest.fixture
def trustee(session: Session) -> Actor:
    return make_actor(session, Role.trustee)


@pytest.fixture
def integration(session: Session) -> Actor:
    return make_api_key(session)


@pytest.fixture
def compliant_group(session: Session, coordinator: Actor) -> Group:
    """A group that passes every rule, with the `coordinator` fixture's staff record one of its two admins
    (`make_compliant_group`). Ask for `fixed_clock` before it when the test stops the clock."""
    assert coordinator.staff is not None
    return make_compliant_group(session, coordinator.staff)
