"""`db.run_then_release`: a route's reading and the end of its session's transaction in one hand-off to the
thread pool; the connection goes back to the pool whatever the reading raised, and a session the request
did not open (a test's, shared by many requests) is left as it was."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from api import db


class Failed(Exception):
    pass


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    engine = sa.create_engine(
        "sqlite://", poolclass=sa.pool.QueuePool, connect_args={"check_same_thread": False}
    )
    monkeypatch.setattr(db, "get_engine", lambda: engine)
    return engine


def _read_then_release(engine: sa.Engine, fail: bool) -> tuple[int | None, bool, int]:
    """What the reading answered (None if it raised), whether the session was still in a transaction after
    it, and how many connections were checked out then."""

    async def run() -> tuple[int | None, bool, int]:
        async with asynccontextmanager(db.get_session)() as session:

            def work() -> int:
                value = int(session.execute(sa.text("SELECT 1")).scalar_one())
                if fail:
                    raise Failed()
                return value

            try:
                answer: int | None = await db.run_then_release(session, work)
            except Failed:
                answer = None
            assert isinstance(engine.pool, sa.pool.QueuePool)
            return answer, session.in_transaction(), engine.pool.checkedout()

    return asyncio.run(run())


def test_the_reading_answers_and_the_connection_is_back_in_the_pool(engine: sa.Engine) -> None:
    assert _read_then_release(engine, fail=False) == (1, False, 0)


def test_a_reading_that_raises_still_returns_the_connection(engine: sa.Engine) -> None:
    assert _read_then_release(engine, fail=True) == (None, False, 0)


def test_a_session_the_request_did_not_open_stays_open(engine: sa.Engine) -> None:
    with Session(engine) as session:
        answer = asyncio.run(
            db.run_then_release(session, lambda: session.execute(sa.text("SELECT 1")).scalar())
        )
        assert answer == 1
        assert session.in_transaction()
