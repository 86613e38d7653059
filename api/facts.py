"""Facts versions: a counter in the database per group, and one for the organisation, that every write which
can change a derived answer moves on, in the write's own transaction, so a cache of answers in any process
(api/compliance/cache.py) can tell in one statement whether what it holds is still the answer.

A counter moves to a random 62-bit number, not to one more: a value is then never seen twice, not after a
rolled-back transaction (whose facts nobody else saw), nor after a database restored from a backup while
workers kept their caches, which an increment would bring back to values already cached.

How a write moves them, whatever path it takes through a `Session`:
- an ORM flush (`before_flush`): each new, changed or deleted object, by its table's rule below;
- a Core statement run through the session (`do_orm_execute`: `session.execute(sa.update(...))`, an insert
  of many rows): by its table and parameters, or by the scopes it names in the execution option
  `FACTS_SCOPES` (history rows written for known groups);
- raw SQL through the session (`session.execute(sa.text(...))`) that is not a read by its first words
  (`sql_writes`), and anything else it runs that is not a SELECT (a DDL element): `UNKNOWN`, the
  organisation's counter, the young people's and `UNPLACED`.
The scopes a transaction touched are collected in `session.info` and the counters moved by one statement
just before its commit (`before_commit`, after a last flush), in a fixed order, so two transactions never
wait for each other's counters in opposite orders (no deadlock on PostgreSQL) and nobody sees a counter
move before the facts it stands for (they commit together).

Each table has a rule, declared by the domain that reads it (`declare`; the compliance rules in
api/compliance/cache.py, imported by api/listeners.py):
- `group_column`: the table's rows belong to one group (a membership's `group_id`, a group's own `id`):
  a write moves that group's counter (the old and the new group, when a row moves);
- `members`: with `group_column`, the rows are the group's members (its memberships): a write moves the
  group's members counter too, which what is loaded about the members alone is kept under (their
  consents, declarations and details, api/compliance/cache.py), so a write to the group's own settings,
  reviews or incidents does not reload a thousand members. Every other way of naming a group (`touch`,
  `FACTS_SCOPES` on a table of no group) moves its two counters and `UNKNOWN`: only a declared table's
  writes are known to leave the members and their own facts alone;
- `person_column`: the table's rows are one young person's own facts (their record, consents, identities;
  the column names them): a write moves, instead of the organisation's counter, the scopes
  `facts_people.scopes_of_people` gives for the people named (api/compliance/people.py: the two counters
  of every group that has any membership of theirs, the counter of every group whose roster names them,
  and `PEOPLE`), found in the write's own transaction at its commit. A row naming nobody (a member of
  staff's identity), a deleted row, or a write whose people the hook cannot read moves `UNKNOWN` (as does
  a write to a group's table whose group the hook cannot read);
- `unread`: nothing derived from facts reads the table (the audit trail, rate-limit counters);
- `ignored`: columns whose change alone moves nothing (bookkeeping such as `last_login_at`);
- anything else, and every table nobody declared: the organisation's counter, which every cached answer
  also checks, but the organisation report's members, which read only memberships, participants and
  consents (api/compliance/org_people.py). So a new table is safe before anyone thinks about it.

A write that bypasses the session (`session.connection().execute(...)`, bulk methods) must call `touch`.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlmodel import Field, SQLModel

from api import facts_people, facts_rows
from api.facts_people import PEOPLE, lock_people, people_of_object, people_of_statement, scopes_of_people
from api.facts_sql import statement_writes

ORG = "org"
# What a write moves when the hooks cannot tell what it changed (a row whose group or young person is not
# known, raw SQL, a write inside a WITH, a migration): `ORG`, `PEOPLE` and `UNPLACED`, which they alone move:
# what is kept under each group's counter and not ORG (api/compliance/org_people.py) stands on it besides.
UNPLACED = "unplaced"
UNKNOWN = frozenset({ORG, PEOPLE, UNPLACED})
# An execution option naming the scopes a Core write touches the hook cannot read (many VALUES rows).
FACTS_SCOPES = "facts_scopes"
# On a connection (api/db.py) after a write in a WITH (`select(update(...).cte())`): the organisation's.
HIDDEN_WRITE = "facts_hidden_write"
_PENDING = "facts_scopes"
_PENDING_PEOPLE = "facts_people"


class FactsVersion(SQLModel, table=True):
    """One row per scope that has ever been written: a group's id (its text form) or "org"."""

    __tablename__ = "facts_version"
    scope: str = Field(primary_key=True, max_length=36)
    version: int = Field(default=0, sa_type=sa.BigInteger, nullable=False)


FACTS_VERSION: sa.Table = FactsVersion.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Rule:
    group_column: str | None = None
    members: bool = False
    unread: bool = False
    ignored: frozenset[str] = frozenset()
    person_column: str | None = None


_rules: dict[str, Rule] = {FACTS_VERSION.name: Rule(unread=True)}


def declare(
    table: sa.Table | str,
    *,
    group_column: str | None = None,
    members: bool = False,
    unread: bool = False,
    ignored: Iterable[str] = (),
    person_column: str | None = None,
) -> None:
    """Say how writes to `table` move the counters (see the module's docstring)."""
    if members and group_column is None:
        raise ValueError("a table of a group's members names its group_column")
    if person_column is not None and (group_column is not None or unread):
        raise ValueError("a table of a person's own facts belongs to no group and is read")
    name = table if isinstance(table, str) else table.name
    _rules[name] = Rule(group_column, members, unread, frozenset(ignored), person_column)


def rules() -> Mapping[str, Rule]:
    """The declared rules, by table name (a table missing here moves the organisation's counter)."""
    return dict(_rules)


def scope_of(group_id: uuid.UUID | str) -> str:
    """A group's scope: its id's text (36 characters)."""
    return str(group_id)


def members_scope_of(group_id: uuid.UUID | str) -> str:
    """A group's members' scope: "m" and its id's 32 hex digits (never a group's scope, which has hyphens)."""
    return "m" + (group_id if isinstance(group_id, uuid.UUID) else uuid.UUID(str(group_id))).hex


def _group_scopes(group_id: uuid.UUID | str) -> tuple[str, str]:
    return scope_of(group_id), members_scope_of(group_id)


def touch(session: Session, scopes: Iterable[str | uuid.UUID]) -> None:
    """Move these scopes' counters at the transaction's commit (a write the hooks cannot see). A group named
    moves its two counters and `UNKNOWN`: a write nobody classified may be to its members' own facts, which
    every group they are in reads. Name the organisation alone for a write of no one group."""
    _add(session, _named(scopes))


def _named(scopes: Iterable[str | uuid.UUID]) -> set[str]:
    named = {m for s in scopes for m in (UNKNOWN if s == ORG else _group_scopes(s))}
    return named | UNKNOWN if named else named


def _add(session: Session, scopes: Iterable[str]) -> None:
    pending: set[str] = session.info.setdefault(_PENDING, set())
    pending.update(scopes)


class Versions(NamedTuple):
    """The counters one group's answer is kept under, 0 for a scope never written: the group's (any write
    about it, its members included), the organisation's, and the group's members' (a write to its
    memberships only)."""

    group: int
    org: int
    members: int


def read(session: Session, group_id: uuid.UUID) -> Versions:
    """The group's `Versions`. One statement, in the session's transaction: run it before the facts it
    vouches for are read."""
    return versions_of(session.connection().execute(READ, params_of(group_id)).all(), group_id)


def params_of(group_id: uuid.UUID) -> dict[str, str]:
    """`READ`'s parameters for a group."""
    return {"group_scope": scope_of(group_id), "members_scope": members_scope_of(group_id)}


def versions_of(rows: Iterable[Sequence[Any]], group_id: uuid.UUID) -> Versions:
    """`read`'s answer from the rows of `READ` (bound by `params_of`), however they were fetched."""
    found = {str(scope): int(version) for scope, version in rows}
    return Versions(
        found.get(scope_of(group_id), 0), found.get(ORG, 0), found.get(members_scope_of(group_id), 0)
    )


# The counters a read vouches for (`read`); module-level, so a caller may keep its compiled form.
READ = sa.select(FACTS_VERSION.c.scope, FACTS_VERSION.c.version).where(
    FACTS_VERSION.c.scope.in_(
        [sa.bindparam("group_scope"), sa.bindparam("members_scope"), sa.literal(ORG), sa.literal(PEOPLE)]
    )
)


# Every group's counter and the organisation's, not the members' (their scopes begin with "m", a group's with
# a hex digit): what an answer about many groups stands on (read by api/compliance/cache.py's `read_groups`).
# In scope order, so two reads of the same counters give the same rows.
READ_GROUPS = (
    sa.select(FACTS_VERSION.c.scope, FACTS_VERSION.c.version)
    .where(FACTS_VERSION.c.scope.not_like("m%"))
    .order_by(FACTS_VERSION.c.scope)
)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value) if isinstance(value, uuid.UUID) else str(uuid.UUID(str(value)))


def _changed(obj: object) -> tuple[set[str], list[Any]]:
    """The column keys changed on a dirty object, and the values its group column held before."""
    state = sa.inspect(obj)
    changed: set[str] = set()
    before: list[Any] = []
    for attr in state.attrs:
        history = attr.history
        if history.has_changes():
            changed.add(attr.key)
            before.extend(history.deleted)
    return changed, before


def _object_scopes(obj: object, kind: str, people: set[uuid.UUID]) -> Iterable[str]:
    """The scopes a write of `obj` moves; the young people it is about (`person_column`) go to `people`."""
    table = getattr(type(obj), "__table__", None)
    if not isinstance(table, sa.Table):
        return ()
    rule = _rules.get(table.name, Rule())
    if rule.unread:
        return ()
    if kind == "dirty":
        changed, _ = _changed(obj)
        if not changed or changed <= rule.ignored:
            return ()
    if rule.person_column is not None:
        named = people_of_object(obj, kind, rule.person_column)
        people.update(named or ())
        return UNKNOWN if named is None else ()
    if rule.group_column is None:
        return (ORG,)  # a table of the organisation's own
    if kind == "dirty":
        history = sa.inspect(obj).attrs[rule.group_column].history
        if history.added and not history.deleted:
            # The group the row left is not known: never loaded (its attributes expired, as a commit in a
            # session that forgets on commit leaves them; SQLAlchemy keeps no old value then), or none.
            return UNKNOWN
    found = {_text(getattr(obj, rule.group_column, None))}
    if kind == "dirty":
        found.update(_text(v) for v in history.deleted)
    found.discard(None)
    if not found:
        return UNKNOWN
    return _scopes(found, rule)  # type: ignore[arg-type]


def _scopes(group_ids: Iterable[str], rule: Rule) -> set[str]:
    """The scopes a write to these groups' rows of a table with `rule` moves."""
    if rule.members:
        return {s for g in group_ids for s in _group_scopes(g)}
    return {scope_of(g) for g in group_ids}


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context: object, _instances: object) -> None:
    scopes: set[str] = set()
    people: set[uuid.UUID] = set()
    for kind, objects in (("new", session.new), ("dirty", session.dirty), ("deleted", session.deleted)):
        for obj in objects:
            scopes.update(_object_scopes(obj, kind, people))
    # Where the rows changed are now, not (only) where their objects say (api/facts_rows.py).
    for name, now in facts_rows.now_in(session, _rules).items():
        rule = _rules[name]
        scopes.update(_scopes({str(_text(v)) for v in now}, rule) if rule.group_column else ())
        people.update(uuid.UUID(str(v)) for v in now if rule.person_column)
    if scopes:
        _add(session, scopes)
    if people:
        _add_people(session, people)


def _add_people(session: Session, people: Iterable[uuid.UUID]) -> None:
    """Note whom the transaction's writes are about, locking the records of those it names for the first time
    before their rows are written (`facts_people.lock_people`)."""
    pending: set[uuid.UUID] = session.info.setdefault(_PENDING_PEOPLE, set())
    named = set(people) - pending
    if named:
        lock_people(session.connection(), named)
        pending.update(named)


def _statement_scopes(state: ORMExecuteState) -> Collection[str]:
    named = state.execution_options.get(FACTS_SCOPES)
    table = getattr(state.statement, "table", None)
    rule = _rules.get(table.name, Rule()) if isinstance(table, sa.Table) else Rule()
    if named:  # naming none (worked out from no rows, say) leaves the write to its table's rule
        # A table of one group's rows moves what its rule says; any other, as `touch` does.
        if rule.group_column is None:
            return _named(named)
        return _scopes({n for n in named if n != ORG}, rule) | (UNKNOWN if ORG in named else set())
    if not isinstance(table, sa.Table):
        return UNKNOWN
    if rule.unread:
        return ()
    # The execution's parameters set columns too, beside `.values()`'s: only a SET read whole is ignored.
    if state.is_update and rule.ignored and not state.parameters:
        values = getattr(state.statement, "_values", None) or {}
        keys = {getattr(k, "key", k) for k in values}
        if keys and keys <= rule.ignored:
            return ()
    if rule.group_column is not None and state.is_insert and facts_people.rows_named(state.statement):
        params = state.parameters
        rows = params if isinstance(params, list) else [params] if params else []
        found = {_text(r.get(rule.group_column)) for r in rows if isinstance(r, Mapping)}
        if rows and None not in found:
            return _scopes(found, rule)  # type: ignore[arg-type]
    if rule.person_column is not None:
        people = people_of_statement(state, table, rule.person_column)
        if people is not None:
            _add_people(state.session, people)
            return ()
    if rule.group_column is None and rule.person_column is None:
        return {ORG}  # a table of the organisation's own
    return UNKNOWN


@event.listens_for(Session, "do_orm_execute")
def _do_orm_execute(state: ORMExecuteState) -> sa.Result[Any] | None:
    if state.is_insert or state.is_update or state.is_delete:
        scopes = _statement_scopes(state)
        if scopes:
            _add(state.session, scopes)
        # Run here (an UPDATE by WHERE): a listener after this one would not see it (api/db.py's is before).
        ran = facts_people.run_picked(state)
        if ran is not None:
            if ran[1]:
                _add(state.session, UNKNOWN)
            return ran[0]
    elif statement_writes(state.statement):
        # Raw SQL through the session (or a DDL element carrying it) names no table the hooks can read:
        # `UNKNOWN`, which every cached answer checks (only a miss, never a stale answer).
        _add(state.session, UNKNOWN)
    return None


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # collects the last flush's scopes, which the commit would flush after this hook
    pending: set[str] = session.info.pop(_PENDING, None) or set()
    if session.connection().info.pop(HIDDEN_WRITE, False):
        pending |= UNKNOWN
    people: set[uuid.UUID] | None = session.info.pop(_PENDING_PEOPLE, None)
    if people:
        # Their groups' counters even when the organisation's moves too: the organisation report's members
        # are kept under each group's, not the organisation's (api/compliance/org_people.py).
        pending |= scopes_of_people(session.connection(), people) or UNKNOWN
    if not pending:
        return
    _move(session.connection(), pending)


def _move(connection: sa.Connection, scopes: Iterable[str]) -> None:
    """Each scope's counter to a new random number, in the connection's transaction."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(FACTS_VERSION).values(scope=sa.bindparam("s"), version=sa.bindparam("v"))
    statement = statement.on_conflict_do_update(
        index_elements=[FACTS_VERSION.c.scope], set_={"version": statement.excluded.version}
    )
    # Sorted: every transaction takes the counters' row locks in the same order.
    connection.execute(statement, [{"s": s, "v": secrets.randbits(62) + 1} for s in sorted(scopes)])


def after_migrations(connection: sa.Connection) -> None:
    """Move the organisation's counter in a migration run's own transaction (alembic/env.py), so that every
    answer cached by a worker still serving is a miss once it commits: a migration writes with no session (a
    data migration rewrites rows; a downgrade and upgrade again makes the counters anew, at 0, the value an
    entry of a group never written is kept under). Nothing to move while the table does not exist (below the
    revision that makes it)."""
    if sa.inspect(connection).has_table(FACTS_VERSION.name):
        _move(connection, UNKNOWN)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # rolled back or committed: nothing of it is pending any more
        session.info.pop(_PENDING, None)
        session.info.pop(_PENDING_PEOPLE, None)


def scopes_of(rows: Iterable[Mapping[str, Any]], column: str = "group_id") -> list[str]:
    """The scopes of rows about to be written (for `FACTS_SCOPES`)."""
    return sorted({scope_of(r[column]) for r in rows})


def pending(session: Session) -> bool:
    """Whether the session's transaction has written, or holds changes not yet flushed, that would move a
    counter: its own reads see facts its counters do not yet vouch for, so it must not use a cache."""
    info, changes = session.info, session.new or session.dirty or session.deleted
    hidden = session.in_transaction() and session.connection().info.get(HIDDEN_WRITE)
    return bool(info.get(_PENDING) or info.get(_PENDING_PEOPLE) or hidden or changes)
