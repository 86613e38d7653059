"""`db.release`: a request's transaction that wrote nothing ends in COMMIT on PostgreSQL, so the statements
psycopg prepared on the connection outlive the request (a ROLLBACK makes it forget every one); anything a
request wrote, left pending or failed on still rolls back, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import asynccontextmanager

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from api import db
from api.facts import FACTS_VERSION, FactsVersion
from tests.kit.databases import BACKEND
from tests.kit.release import ends


@pytest.fixture
def engine(request_engine: sa.Engine) -> sa.Engine:
    # One database for the module: every test's writes are rolled back (the tests say so).
    return request_engine


def _request(work: Callable[[Session], object], *, fail: bool = False) -> None:
    """A request's session (`db.get_session`) used by `work`, the request raising afterwards if `fail`."""

    async def run() -> None:
        async with asynccontextmanager(db.get_session)() as session:
            work(session)
            if fail:
                raise RuntimeError("the request failed")

    if fail:
        with pytest.raises(RuntimeError):
            asyncio.run(run())
    else:
        asyncio.run(run())


def _stored(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(FACTS_VERSION.c.scope)).scalars())


def _read(session: Session) -> None:
    session.execute(sa.select(FACTS_VERSION.c.version).where(FACTS_VERSION.c.scope == "org")).all()


def test_a_read_ends_in_commit_on_postgresql_and_rolls_back_on_sqlite(engine: sa.Engine) -> None:
    ended = ends(engine)
    _request(_read)
    assert ended == (["commit"] if BACKEND == "postgresql" else ["rollback"])


def test_a_read_that_fails_rolls_back(engine: sa.Engine) -> None:
    ended = ends(engine)
    _request(_read, fail=True)
    assert ended == ["rollback"]


@pytest.mark.parametrize("fail", [False, True])
@pytest.mark.parametrize(
    "write",
    [
        pytest.param(
            lambda s: s.execute(sa.insert(FACTS_VERSION).values(scope="core", version=1)), id="core insert"
        ),
        pytest.param(lambda s: (s.add(FactsVersion(scope="flushed", version=1)), s.flush()), id="flushed"),
        pytest.param(lambda s: s.add(FactsVersion(scope="pending", version=1)), id="pending"),
        pytest.param(
            lambda s: s.connection().execute(sa.insert(FACTS_VERSION).values(scope="raw", version=1)),
            id="on the connection",
        ),
        pytest.param(
            lambda s: s.connection().exec_driver_sql(
                "INSERT INTO facts_version (scope, version) VALUES ('driver', 1)"
            ),
            id="raw SQL",
        ),
        pytest.param(
            lambda s: (
                s.connection().exec_driver_sql(
                    "WITH made AS (INSERT INTO facts_version (scope, version) VALUES ('cte', 1) RETURNING 1) "
                    "SELECT * FROM made"
                )
                if BACKEND == "postgresql"
                else s.connection().exec_driver_sql(
                    "INSERT INTO facts_version (scope, version) VALUES ('cte', 1)"
                )
            ),
            id="a CTE that writes",
        ),
    ],
)
def test_what_a_request_wrote_and_did_not_commit_is_rolled_back(
    engine: sa.Engine, write: Callable[[Session], object], fail: bool
) -> None:
    before = _stored(engine)  # the organisation's counter, which the database's migration moved
    ended = ends(engine)

    def work(session: Session) -> None:
        _read(session)
        write(session)

    _request(work, fail=fail)
    assert ended == ["rollback"]
    assert _stored(engine) == before
    assert not before & {"core", "flushed", "pending", "raw", "driver", "cte"}


@pytest.mark.skipif(BACKEND != "postgresql", reason="psycopg's prepared statements")
def test_statements_prepared_by_one_read_are_there_for_the_next(engine: sa.Engine) -> None:
    # One connection, so each request gets the one the last returned; psycopg prepares a statement on its
    # fifth run (`prepare_threshold`), and forgets them all at a ROLLBACK.
    assert isinstance(engine.pool, sa.pool.QueuePool)
    for _ in range(8):
        _request(_read)
    with engine.connect() as conn:
        prepared = conn.execute(sa.text("SELECT statement FROM pg_prepared_statements")).scalars().all()
    assert [s for s in prepared if "facts_version.version" in s] != [], prepared


@pytest.mark.skipif(BACKEND != "postgresql", reason="a server that drops the connection")
def test_a_read_whose_commit_fails_keeps_its_answer_and_drops_the_connection(engine: sa.Engine) -> None:
    # The server ends the connection after the read and before the end of the transaction: the COMMIT fails,
    # which loses nothing (nothing was written), so the request is not failed for it.
    answered: list[object] = []

    def read_then_lose_the_connection(session: Session) -> None:
        answered.append(session.execute(sa.select(sa.literal(7))).scalar_one())
        pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    _request(read_then_lose_the_connection)
    assert answered == [7]
    with Session(engine) as session:  # the pool hands out a working connection next
        assert session.execute(sa.select(sa.literal(1))).scalar_one() == 1
