"""Run the statements that load compliance facts on the driver's own cursor; on PostgreSQL, in one round trip.

SQLAlchemy still writes every statement: it compiles it for the dialect and works out the final SQL and the
bound values (`construct_expanded_state`). What it adds to each execution beyond that (an execution context,
a result object, a row object per row) was about a third of a 100-member group's loading time on SQLite; and
on PostgreSQL every statement cost a round trip of its own. psycopg's pipeline mode sends the statements
together and reads the answers back in order. bench/README.md has the figures.

Rows come back exactly as the driver returns them (see `Reader`): no SQLAlchemy type processing; on
PostgreSQL ids and JSON come back as text, as SQLite gives them: only the few ids an answer names need to
be UUIDs, text ids are cheaper keys to match rows on, and a handful of distinct JSON texts are parsed once
each by their reader (bench/README.md). Each statement still fires SQLAlchemy's `before_cursor_execute`
event, so statement logging and the query-count tests see it like any other; a driver error is raised as
SQLAlchemy's own exception (a database outage is still a 503, not a 500).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa
from psycopg.types.string import TextLoader
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import CompoundSelect, Select
from sqlalchemy.sql.compiler import SQLCompiler

from api import clock

Row = tuple[Any, ...]
Statement = Select[Any] | CompoundSelect[Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement ready for the driver: its SQL, and its parameters in the driver's order with the values
    written into the statement (an IN list of constants, a filter's date) already converted."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]
    processors: Mapping[str, Callable[[Any], Any]]
    positional: bool

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values = dict(self.constants)
        for name, value in params.items():
            if name in self.names:
                processor = self.processors.get(name)
                values[name] = processor(value) if processor is not None else value
        if self.positional:
            return tuple(values[n] for n in self.names)
        return values


def _plan(statement: Statement, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    state = compiled.construct_expanded_state(dict(params))
    for name in params:
        # A caller's value is bound per call: only a scalar (a list would change the SQL itself).
        if name in state.parameter_expansion:
            raise ValueError(f"parameter {name!r} expands: pass lists as constants in the statement")
    # The expanded parameters' converters come with the expanded state; the others from each one's type.
    processors: dict[str, Callable[[Any], Any]] = {}
    for name in state.parameters:
        bind = compiled.binds.get(name)
        processor = bind.type.bind_processor(dialect) if bind is not None else None
        if processor is not None:
            processors[name] = processor
    processors.update(state.processors)
    constants = {
        name: (processors[name](value) if name in processors else value)
        for name, value in state.parameters.items()
        if name not in params
    }
    names = tuple(state.positiontup) if state.positiontup is not None else tuple(state.parameters)
    return _Plan(state.statement, names, constants, processors, state.positiontup is not None)


# Plans of the statements built once at import (the one-group loads): a statement is kept with its plan, so
# its id cannot be reused by another object while the entry exists.
_PLANS: dict[tuple[int, str], tuple[Statement, _Plan]] = {}


def _cached_plan(statement: Statement, dialect: Dialect, params: Mapping[str, Any]) -> _Plan:
    key = (id(statement), dialect.name)
    held = _PLANS.get(key)
    if held is None:
        held = _PLANS[key] = (statement, _plan(statement, dialect, params))
    return held[1]


def fetch_all(
    conn: sa.Connection,
    statements: Sequence[Statement],
    params: Mapping[str, Any],
    *,
    reuse: bool = False,
    early: Mapping[int, Callable[[list[Row]], Any]] | None = None,
) -> list[Any]:
    """Every row of each statement, in order, in the connection's transaction. `params` are the named bound
    parameters the statements share (scalars). With `reuse`, the statements are module constants: their
    compiled form is kept for the next call. `early`: for a statement's index, what to make of its rows as
    soon as they are read, before any later statement's are (its answer stands in the list for them): on
    PostgreSQL the database works out the later statements meanwhile, so the two overlap. It must not use
    the connection."""
    dialect = conn.dialect
    make = _cached_plan if reuse else _plan
    calls = [(p.sql, p.arguments(params)) for p in (make(s, dialect, params) for s in statements)]
    driver = conn.connection.driver_connection
    error = dialect.loaded_dbapi.Error
    early = early or {}
    try:
        if isinstance(driver, psycopg.Connection):
            # A pipeline costs more than it saves for one statement (its entry and sync are round trips'
            # worth of work of their own): every cached read sends one, the facts versions.
            if len(calls) > 1:
                return _pipelined(conn, driver, calls, early)
            return _one_by_one(conn, driver, calls, early, as_text=_AS_TEXT)
        return _one_by_one(conn, driver, calls, early)
    except error as exc:
        # Through SQLAlchemy's own handling of a statement's failure, not only its exception class: the
        # engine's `handle_error` listeners (a plan kept prepared that a migration made stale is a lost
        # connection, api/stale_plans.py) and its disconnect detection (the pool replaces its connections)
        # apply as to any statement it sends, so the request gets the 503 it would, never a 500. The first
        # statement stands for the batch: in a pipeline, which one failed is not known here.
        conn._handle_dbapi_exception(exc, calls[0][0], calls[0][1], None, None)


# A statement not sent: its rows are none (`fetch_sent`), where a load has what it would read already.
NOTHING = sa.select(sa.null())


def fetch_sent(
    conn: sa.Connection,
    statements: Sequence[Statement],
    params: Mapping[str, Any],
    reuse: bool,
    early: Mapping[int, Callable[[list[Row]], Any]] | None = None,
) -> list[Any]:
    """`fetch_all` of the statements but `NOTHING`, whose rows are an empty list in its place (`early`
    applies to those sent, by their index in `statements`, and to the empty list of one not sent)."""
    sent = [i for i, s in enumerate(statements) if s is not NOTHING]
    at = {i: n for n, i in enumerate(sent)}
    early = early or {}
    rows = fetch_all(
        conn,
        [statements[i] for i in sent],
        params,
        reuse=reuse,
        early={at[i]: make for i, make in early.items() if i in at},
    )
    return [rows[at[i]] if i in at else (early[i]([]) if i in early else []) for i in range(len(statements))]


_AS_TEXT = ("uuid", "json", "jsonb")


def _pipelined(
    conn: sa.Connection,
    driver: psycopg.Connection[Any],
    calls: list[tuple[str, Any]],
    early: Mapping[int, Callable[[list[Row]], Any]],
) -> list[Any]:
    cursors = []
    with driver.pipeline():
        for sql, args in calls:
            cursor = driver.cursor()
            # Ids and JSON as text: this cursor's own adapters (a copy), so the connection's other reads
            # are untouched.
            for type_name in _AS_TEXT:
                cursor.adapters.register_loader(type_name, TextLoader)
            conn.dispatch.before_cursor_execute(conn, cursor, sql, args, None, False)
            # Prepared by psycopg once run often enough (`prepare_threshold`), and kept for the connection's
            # next requests: a read's transaction ends in COMMIT, which leaves them (`db.release`).
            cursor.execute(sql, args)
            cursors.append(cursor)
        # Read inside the pipeline, in order: a cursor's rows wait only for its own statement's answer
        # (psycopg asks the server to flush what it has), so what `early` makes of them is made while the
        # server still works out the statements after it.
        return [_made(early, i, list(c.fetchall())) for i, c in enumerate(cursors)]


def _made(early: Mapping[int, Callable[[list[Row]], Any]], i: int, rows: list[Row]) -> Any:
    make = early.get(i)
    return rows if make is None else make(rows)


def _one_by_one(
    conn: sa.Connection,
    driver: Any,
    calls: list[tuple[str, Any]],
    early: Mapping[int, Callable[[list[Row]], Any]],
    as_text: tuple[str, ...] = (),
) -> list[Any]:
    cursor = driver.cursor()
    for type_name in as_text:  # psycopg: as `_pipelined` reads them
        cursor.adapters.register_loader(type_name, TextLoader)
    try:
        results = []
        for i, (sql, args) in enumerate(calls):
            conn.dispatch.before_cursor_execute(conn, cursor, sql, args, None, False)
            cursor.execute(sql, args)
            results.append(_made(early, i, list(cursor.fetchall())))
        return results
    finally:
        cursor.close()


def _same(value: Any) -> Any:
    return value


def _uuid_from_hex(value: str) -> uuid.UUID:
    # From SQLite's 32 hex digits through `int=`: cheaper than `hex=`, which strips and checks first.
    return uuid.UUID(int=int(value, 16))


def _uuid_from_text(value: str) -> uuid.UUID:
    # psycopg's text form of a UUID, with hyphens.
    return uuid.UUID(value)


def _org_day_from_text(value: str) -> date:
    # SQLite keeps a timestamp as UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff' (see api.db.UTCDateTime).
    return clock.day_of(datetime.fromisoformat(value).replace(tzinfo=UTC))


def _org_day(value: datetime) -> date:
    # psycopg answers in the session's time zone; the organisation's day is the same whatever that is.
    return clock.day_of(value)


def _json_from_text(value: str | None) -> Any:
    return orjson.loads(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class Reader:
    """Turns the driver's values into Python ones. SQLite returns ids as 32 hex digits, dates and timestamps
    as ISO text and JSON as text; psycopg returns ids as hyphenated text and JSON as text (`fetch_all` asks
    it to), dates and aware datetimes. Booleans are 0/1 or True/False: read them through `bool`. The two
    drivers' id texts differ, but each is the same for one id in every statement, so rows can be matched
    on them as read."""

    uuid: Callable[[Any], uuid.UUID]
    day: Callable[[Any], date]
    org_day: Callable[[Any], date]
    json: Callable[[Any], Any]


SQLITE = Reader(_uuid_from_hex, date.fromisoformat, _org_day_from_text, _json_from_text)
POSTGRESQL = Reader(_uuid_from_text, _same, _org_day, _json_from_text)


def reader(conn: sa.Connection) -> Reader:
    return SQLITE if conn.dialect.name == "sqlite" else POSTGRESQL
