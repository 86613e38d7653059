"""Engine, sessions, the metadata naming convention and the column types every table shares."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache, partial
from typing import Annotated, Any, TypeVar

import anyio
import anyio.to_thread
import sqlalchemy as sa
from fastapi import Depends
from sqlalchemy import DateTime, Engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, Session, SQLModel, create_engine

from api import clock
from api.config import get_settings
from api.stale_plans import drop_connections_on_stale_plans

# Named constraints, so Alembic can drop and alter them on SQLite (batch mode) and PostgreSQL alike.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, from the organisation's clock (api/clock.py), so every stamp follows one clock."""
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned with its offset (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must carry an offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Timestamped(SQLModel):
    """Columns every table has."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    # Bumped on every change; the ETag, and the guard against two systems overwriting each other.
    version: int = Field(default=1, nullable=False)


# Whether the transactions begun in this context may write. SQLite only: there a plain (deferred) BEGIN
# takes the write lock at the first write, and a transaction that has read and then writes while another
# writer holds the lock fails at once with SQLITE_BUSY (its snapshot is stale), so busy_timeout never
# applies. BEGIN IMMEDIATE takes the lock first, so writers queue for up to busy_timeout instead. The
# request middleware (api/errors.py) clears it for GET and HEAD, so reads never wait for a writer; code
# outside a request (the webhook worker, the command line) writes, so the default is to take the lock.
may_write: ContextVar[bool] = ContextVar("may_write", default=True)


@dataclass
class Writes:
    """The transactions with changes that one request committed: whether a failure left anything behind."""

    committed: int = 0
    # A commit of changes was sent and its answer never came: the changes may or may not be saved.
    in_doubt: bool = False


request_writes: ContextVar[Writes | None] = ContextVar("request_writes", default=None)


@contextmanager
def uncounted() -> Iterator[None]:
    """Commits in this block are bookkeeping (a rate-limit count, an idempotency claim), not the request's
    changes, so they never make a failed request's answer say that something was saved."""
    token = request_writes.set(None)
    try:
        yield
    finally:
        request_writes.reset(token)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: object) -> None:
    session.info["wrote"] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["wrote"] = True


@event.listens_for(Session, "before_commit")
def _committing(session: Session) -> None:
    writes = request_writes.get()
    # before_commit comes before the final flush, so pending changes count as writes too.
    pending = session.info.get("wrote", False) or session.new or session.dirty or session.deleted
    if writes is not None and pending:
        # Cleared by after_commit; still set if the COMMIT fails, when the database may have saved it.
        writes.in_doubt = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    writes = request_writes.get()
    if session.info.pop("wrote", False) and writes is not None:
        writes.committed += 1
        writes.in_doubt = False


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost one: what it wrote is either committed or gone
        session.info.pop("wrote", None)


def make_engine(url: str, *, limit_statements: bool = True) -> Engine:
    """The engine for `url`, with the timeouts from the settings, so a database that fails or hangs is an
    error within a bound rather than a request that waits forever. `limit_statements=False` lifts the limit
    on one statement's time (migrations may rewrite big tables)."""
    s = get_settings()
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_timeout"] = s.database_pool_timeout_seconds
            # A request holds its connection from its first statement to its session's close. With the
            # pool's default five kept, a burst of more requests than that closed every connection over five
            # on its return and opened another for the next request (the file, its WAL and shared memory,
            # three PRAGMAs, an empty page cache; bench/README.md, "Branch perf-me2"). A SQLite connection
            # has no server process behind it, so as many are kept as the thread pool can run requests at
            # once; they are opened only when a burst needs them, and the most recently returned is handed
            # out first, so the few a steady load needs stay warm.
            kwargs["pool_size"] = s.threadpool_size
            kwargs["pool_use_lifo"] = True
    else:
        kwargs["pool_timeout"] = s.database_pool_timeout_seconds
        connect_args: dict[str, Any] = {
            # libpq counts whole seconds and treats anything under 2 as 2.
            "connect_timeout": max(2, math.ceil(s.database_connect_timeout_seconds)),
            # A server that stops acknowledging what is sent (host gone, network cut): the connection is
            # dropped after this long, rather than waiting for the kernel's retransmissions (many minutes).
            "tcp_user_timeout": int(s.database_connect_timeout_seconds * 1000),
        }
        if limit_statements:
            connect_args["options"] = (
                f"-c statement_timeout={int(s.database_statement_timeout_seconds * 1000)}"
            )
        kwargs["connect_args"] = connect_args
    # A database error's text leaves out the statement's parameters (a child's name, an email): it is what
    # an unexpected error's traceback prints into the log.
    engine = create_engine(url, hide_parameters=True, **kwargs)
    if not url.startswith("sqlite"):
        ping_when_idle(engine)
        _note_writes(engine)
        drop_connections_on_stale_plans(engine)
    if url.startswith("sqlite"):
        # SQLite has no statement timeout of its own; what makes a statement wait is another writer's lock.
        busy_ms = int(s.database_statement_timeout_seconds * 1000)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Foreign keys are off by default in SQLite; WAL lets readers run beside a writer.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.close()
            # pysqlite's own transaction handling breaks SAVEPOINTs; let SQLAlchemy emit BEGIN itself.
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if may_write.get() else "BEGIN")

    return engine


# A pooled connection is pinged before use only if it has lain idle this long (seconds). A server restart,
# a failover or an idle timeout in between (the server's, a proxy's, a firewall's) kills idle connections;
# one used a moment ago is alive, and pinging it on every checkout (`pool_pre_ping`) cost every request a
# round trip of its own (bench/README.md, "Signed-in request, session 5").
IDLE_BEFORE_PING = 5.0
_RETURNED_AT = "returned_at"


def ping_when_idle(engine: Engine) -> None:
    """Ping a connection on checkout when it has lain in the pool over IDLE_BEFORE_PING seconds (not one
    just opened), as `pool_pre_ping` does on every checkout: a dead one is discarded and the pool hands out
    another (SQLAlchemy retries a checkout that raises DisconnectionError). A connection that dies while
    in use fails its request with the usual 503 (api/errors.py `DATABASE_ERRORS`), and SQLAlchemy then
    invalidates every connection of the pool older than the failure, so a restart costs at most that one
    request per process."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        # `info` goes with the driver's connection: one just opened has no stamp and needs no ping.
        returned = record.info.get(_RETURNED_AT)
        if returned is None or time.monotonic() - returned < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                raise DisconnectionError() from exc
            raise


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_connect_url())


def open_session() -> Iterator[Session]:
    """A session closed when the generator ends, for code that runs its statements in a worker thread
    already (the Idempotency-Key middleware's bookkeeping)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


# Marks a session `get_session` opened for one request, which `run_then_release` may close (a test's override
# serves many requests from one session, which must stay open).
_REQUEST_SESSION = "request_session"
_T = TypeVar("_T")


async def get_session() -> AsyncIterator[Session]:
    """A route's session. Async, so FastAPI opens it on the event loop rather than handing the opening to the
    thread pool and back (opening a `Session` does no I/O: the connection is taken at its first statement).
    Closing one that holds a connection ends its transaction (`release`) and returns it to the pool: on
    PostgreSQL a round trip that must not block the loop, so only that goes to the thread pool
    (bench/README.md, "Signed-in request, session 5"). On SQLite it is a few calls into the file's locks
    that never wait (ending a transaction releases its locks, it takes none), done at once: no hand-off
    ("Branch perf-me2"). A test's override may still be a sync generator."""
    engine = get_engine()
    session = Session(engine, expire_on_commit=False)
    session.info[_REQUEST_SESSION] = True
    failed = False
    try:
        yield session
    except BaseException:
        failed = True
        raise
    finally:
        if session.in_transaction() and engine.dialect.name != "sqlite":
            # Shielded: a request cancelled (the client gone) still rolls back and returns its connection.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(partial(release, session, failed=failed))
        else:
            release(session, failed=failed)


_WROTE = "esafety_wrote"


def _note_writes(engine: Engine) -> None:
    """Mark a connection's transaction as written by any statement that is not a read, whatever sent it
    (the ORM, a Core statement on the connection, raw SQL): `release` never commits it for a ROLLBACK."""

    @event.listens_for(engine, "before_cursor_execute")
    def _noted(
        conn: sa.Connection, _cursor: Any, statement: str, _params: Any, context: Any, *_: Any
    ) -> None:
        if api.facts_sql.sql_writes(statement):
            conn.info[_WROTE] = True
            # A write in a WITH (PostgreSQL alone has them), whatever the statement around it.
            ctes = getattr(getattr(context, "compiled", None), "ctes", None) or ()
            if any(isinstance(c.element, UpdateBase) for c in ctes):
                conn.info[api.facts.HIDDEN_WRITE] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _ended(conn: sa.Connection) -> None:
        # An invalidated connection (lost under a statement) has no info left to clear, and asking for it
        # raises: the request would get a 500 in place of the lost connection's 503.
        if not conn.invalidated:
            conn.info.pop(_WROTE, None)
            conn.info.pop(api.facts.HIDDEN_WRITE, None)


def release(session: Session, *, failed: bool) -> None:
    """End a request's session. On PostgreSQL, a transaction that wrote nothing, in a request that did not
    fail, ends in a COMMIT rather than the ROLLBACK that closing sends: the same to the database (there is
    nothing to undo), but psycopg forgets every prepared statement at a ROLLBACK, so reads that end in one
    plan their statements afresh on every request. Anything written, pending or failed rolls back."""
    if (
        not failed
        and session.in_transaction()
        and session.get_bind().dialect.name == "postgresql"
        and not (session.info.get("wrote") or session.new or session.dirty or session.deleted)
        and not api.facts.pending(session)
        and not session.connection().info.get(_WROTE)
    ):
        try:
            session.commit()
        except sa.exc.DBAPIError:
            # Nothing was written, so nothing is lost: the connection is dropped as a failed ROLLBACK's would
            # be, and the request keeps the answer it already has.
            session.invalidate()
        finally:
            session.close()
        return
    session.close()


async def run_then_release(session: Session, work: Callable[[], _T]) -> _T:
    """`work()` in the thread pool, then in the same hand-off the end of the request's transaction and the
    return of its connection to the pool, which `get_session` would otherwise hand to the pool on its own
    afterwards: one hand-off where a sync route and its session's close take two (bench/README.md, "Branch
    `perf-group`"). For an async route whose answer is complete when `work` returns (bytes, no ORM object
    read later); `work`'s errors propagate after the rollback, as from a sync route. A session that
    `get_session` did not open (a test's, shared by many requests) is left open for its owner."""

    def run() -> _T:
        failed = True
        try:
            answer = work()
            failed = False
            return answer
        finally:
            if session.info.get(_REQUEST_SESSION):
                release(session, failed=failed)

    # Not abandoned if the request is cancelled: anyio waits for the thread, so the connection always returns.
    return await anyio.to_thread.run_sync(run)


def reads_on_loop(session: Session) -> bool:
    """Whether a route may run a short read (a statement or two on small tables, by key) on the event loop
    rather than hand it to the thread pool: on SQLite, where it is a few calls into the file that, in WAL
    mode, take no lock a writer holds and so do not wait (as `get_session`'s close there), and where the
    hand-off and the loop's wake-up cost more than the read. Never on PostgreSQL: a round trip."""
    return session.get_bind().dialect.name == "sqlite"


# A route's database session (a test overrides `get_session` to run each test in one rolled-back transaction).
SessionDep = Annotated[Session, Depends(get_session)]


def enum_type(enum_cls: type[StrEnum]) -> sa.Enum:
    """Enums stored as VARCHAR: no native PostgreSQL enum types to migrate, the same on SQLite."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


def table_of(model: type[SQLModel]) -> sa.Table:
    """The Core table of a table model, for statements built from its columns (SQLModel leaves
    `__table__` untyped). Importing the model is what registers the table, so a module that reads a table
    names its model rather than looking the table up in the metadata by name."""
    table: sa.Table = model.__table__  # type: ignore[attr-defined]
    return table


# The facts versions' hooks (api/facts.py) go wherever sessions do, so no process writes without moving them;
# imported last, so its table gets the naming convention above.
import api.facts  # noqa: E402
import api.facts_sql  # noqa: E402
