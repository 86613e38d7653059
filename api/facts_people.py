"""Whom a write to a table of young people's own facts is about (api/facts.py's `person_column`), read off
an ORM object or a Core statement; None where it cannot tell, and the write then moves the organisation's
counter."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.dml import OnConflictDoUpdate as PostgresUpsert
from sqlalchemy.dialects.sqlite.dml import OnConflictDoUpdate as SqliteUpsert
from sqlalchemy.orm import ORMExecuteState


def _uuid(value: Any) -> uuid.UUID | None:
    if value is None:
        return None
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _all_named(found: set[uuid.UUID | None]) -> set[uuid.UUID] | None:
    return None if None in found else {p for p in found if p is not None}


def people_of_object(obj: object, kind: str, column: str) -> set[uuid.UUID] | None:
    """A new or changed row's person (both, when it changed hands). None for a deleted row (its memberships
    may go with it, so its groups may not be found at commit), one naming nobody (a member of staff's
    identity), or one whose person before the change is not known (never loaded: SQLAlchemy keeps no old
    value of an expired attribute)."""
    if kind == "deleted":
        return None
    found = {_uuid(getattr(obj, column, None))}
    if kind == "dirty":
        history = sa.inspect(obj).attrs[column].history
        if history.added and not history.deleted:
            return None
        found.update(_uuid(v) for v in history.deleted)
    return _all_named(found)


def upserts(statement: object) -> bool:
    """Whether an INSERT updates the rows it conflicts with (ON CONFLICT DO UPDATE), or may replace them (any
    prefix: SQLite's INSERT OR REPLACE deletes the row it conflicts with): those rows are not the ones its
    parameters name (another id, another young person, another group), so nobody can tell from them whom
    or which group the write is about."""
    if getattr(statement, "_prefixes", ()):
        return True
    return isinstance(getattr(statement, "_post_values_clause", None), (PostgresUpsert, SqliteUpsert))


def rows_named(statement: object) -> bool:
    """Whether the rows an INSERT writes are those its execution's parameters name: not for an upsert, nor
    for a statement with values of its own (`.values()`), which may write in their stead (run for many
    parameter sets, an expression there wins over the parameters' value of the same column)."""
    own = any(getattr(statement, a, None) for a in ("_values", "_multi_values", "_ordered_values"))
    return not own and not upserts(statement)


def people_of_statement(state: ORMExecuteState, table: sa.Table, column: str) -> set[uuid.UUID] | None:
    """Whom a Core INSERT (by its parameters) or UPDATE (by the rows its WHERE picks, read first in its own
    transaction) through the session is about. None for a delete, an update with no WHERE, run for many
    parameter sets, or setting the person column itself (rows moved to someone else), and for an upsert."""
    params = state.parameters
    if state.is_insert:
        if not rows_named(state.statement):
            return None
        rows = params if isinstance(params, list) else [params] if params else []
        if not rows:
            return None
        return _all_named({_uuid(r.get(column)) if isinstance(r, Mapping) else None for r in rows})
    where = getattr(state.statement, "whereclause", None)
    values = getattr(state.statement, "_values", None) or {}
    if not state.is_update or params or where is None or column in {getattr(k, "key", k) for k in values}:
        return None
    if not _reads_only(where, table):
        return None
    # Locked (PostgreSQL), so that no row picked is given to someone else before the UPDATE reaches it.
    pick = sa.select(table.c[column]).where(where).with_for_update(of=table)
    picked = state.session.connection().execute(pick).scalars().all()
    state.session.info[_PICKED] = len(picked)
    return _all_named({_uuid(v) for v in picked})


_PICKED = "facts_picked"


def _reads_only(where: sa.ColumnElement[Any], table: sa.Table) -> bool:
    """Whether `where` reads nothing but `table`'s own row (its columns, values, functions of them): no other
    table, alias, subquery or SQL text. The pick locks the rows it finds, so none of them can stop
    matching, and a row that starts to match makes the UPDATE reach more rows than were picked
    (`run_picked`); but under READ COMMITTED the UPDATE reads any other table afresh, after the pick: a
    concurrent write to it (a membership moved) can swap the rows reached for as many others, whose people
    were not read."""
    # The ORM hands the table, and the columns its attributes name, annotated: each compared as itself. SQL
    # text, or a column named by text alone, may read anything.
    own, read = table._deannotate(), (sa.FromClause, sa.sql.expression.SelectBase)
    for element in sa.sql.visitors.iterate(where):
        found = element.table if isinstance(element, sa.ColumnClause) else element
        if found is None or isinstance(found, sa.TextClause):
            return False
        if isinstance(found, read) and found._deannotate() is not own:
            return False
    return True


def run_picked(state: ORMExecuteState) -> tuple[sa.Result[Any], bool] | None:
    """An UPDATE whose people `people_of_statement` read from the rows its WHERE picked, run, and whether it
    reached more rows than were picked: under READ COMMITTED it sees rows another transaction committed
    after the pick, whose people were not read (the caller then moves the organisation's counter). None for
    any other statement, which the caller lets run as it would."""
    picked = state.session.info.pop(_PICKED, None)
    if picked is None:
        return None
    result = state.invoke_statement()
    return result, getattr(result, "rowcount", -1) != picked


# The scope every write to a young person's own facts moves, beside their groups' (api/facts.py reads it
# with a group's counters, in `READ`).
PEOPLE = "people"


def people_of(rows: Iterable[Sequence[Any]]) -> int:
    """`PEOPLE`'s counter in the rows of `facts.READ` (0 if never written): what the young people's own facts
    kept for a group stand on, beside its members' counter (api/compliance/cache.py's `_people`)."""
    return next((int(version) for scope, version in rows if scope == PEOPLE), 0)


# How to find the scopes a write to these young people's own facts moves, on the write's connection at its
# commit, and how to lock their records when a write first names them: set by the domain that knows which
# answers read them (api/compliance/people.py).
Finder = Callable[[sa.Connection, Collection[uuid.UUID]], set[str]]
Locker = Callable[[sa.Connection, Collection[uuid.UUID]], None]
_finders: list[tuple[Finder, Locker]] = []


def find_scopes_with(finder: Finder, lock: Locker) -> None:
    """Say how to find the scopes a write to young people's own facts moves (`facts.Rule.person_column`), and
    how to lock their records against a membership made at the same time (`lock_people`)."""
    _finders[:] = [(finder, lock)]


def lock_people(connection: sa.Connection, people: Collection[uuid.UUID]) -> None:
    """Lock `people`'s records in the write's transaction, before the write's own rows are written: see
    api/compliance/people.py for why, and why not at the commit."""
    if _finders and people:
        _finders[0][1](connection, people)


def scopes_of_people(connection: sa.Connection, people: Collection[uuid.UUID]) -> set[str] | None:
    """The scopes a write to `people`'s own facts moves, with `PEOPLE`; None while nobody said how to find
    them (the write then moves the organisation's counter)."""
    return _finders[0][0](connection, people) | {PEOPLE} if _finders else None
