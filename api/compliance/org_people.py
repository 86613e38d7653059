"""The organisation report's members, kept per group across a write to the organisation's own tables and
across midnight (issue 19).

A write to a table of the organisation's own (a member of staff's record, a declaration, the policy settings
or versions, the controls, the technologies) moves the organisation's counter, which every group's line
checks (api/compliance/org_cache.py), and midnight starts a new day's lines: either way the report's next
read evaluates every group afresh. Most of that load is the groups' members: every current membership, its
young person's date of birth and leaving day, and their consents in force, folded into answers
(`answered.people_of`); the rows that grow with the groups, and none of them from a table of the
organisation's own. So what `answered.people_of` made of them is kept here, each group's under that group's
counter, the whole under `facts.UNPLACED` (which only a write the hooks cannot place moves) and with the
first day after the `as_of` it was loaded for on which any of it could read otherwise (`HORIZON`). The next
load of every group takes the members of each group whose counter still stands from here and reads those of
the others (a write to their memberships or to one of their young people's own facts moved their counters),
reads the rest afresh (the groups, their staff and declarations, reviews, roster counts, risk assessments,
incidents, waivers, the policy), seats the staff (`answered.with_staff`) and evaluates every group's rules
again. When more than half the groups' counters have moved, everything is read again.

Why it can never be stale. `answered.people_of` reads the rows of memberships, participants and consents
only (tests/test_org_people.py checks the statements it is handed), and every write to those moves, in the
write's own transaction (api/facts.py), the counter of each group whose members it can change, or
`facts.UNPLACED`:
- a membership: its group's counter (its members' too); where the hook cannot tell the group,
  `facts.UNKNOWN`, `UNPLACED` among them;
- a young person's record or consents: the counters of every group they have any membership of, ended or
  not yet begun (api/compliance/people.py), even when the same transaction moves the organisation's; where
  the hook cannot tell whom, `facts.UNKNOWN`;
- raw SQL (also carried by a DDL element), a write inside a WITH, a migration, a Core write whose rows its
  parameters do not name (an upsert, an INSERT with values of its own, an UPDATE whose WHERE reads another
  table: api/facts_people.py): `facts.UNKNOWN`;
- a row changed through an object loaded before another transaction moved it: the group or young person
  the row names now, read again at the flush, as well as the object's (api/facts_rows.py); on PostgreSQL a
  young person's memberships are share-locked before their groups are read, so a membership moved at the
  same time waits for the write or is seen by it (api/compliance/people.py).
A group new since (its first write makes its counter) is read as one whose counter moved. The counters are
read first in the request's transaction (`cache.read_groups`), so what is loaded after is at least as new as
the counters it is kept under. What the statements read turns on the day only through their filters on
`as_of` (which memberships and groups are current, which consents in force and recorded by its end);
`HORIZON` finds the first day after `as_of` on which any of those filters lets another row through or keeps
one out, in any group, and the table serves no `as_of` before its own or from that day on. It is read by the
first report of a later day, not by the load (a report of the day loaded needs no such day), in that report's
transaction, the counters read again after it (`_bounded` says why that is as sound). Only the load of
every active group, for a caller who reaches them all with no platform asked, keeps or uses it: its
statements and its groups are the same each time.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from api import clock, facts
from api.auth.reach import Reach, Record
from api.compliance import answered, cache, fetch, service
from api.compliance.loading import load_active
from api.compliance.queries import _AS_OF, _AS_OF_END, CONSENT, GROUP, MEMBERSHIP
from api.compliance.snapshot import PolicyFacts, Thresholds
from api.gc_paused import collection_paused
from api.groups.models import Platform


@dataclass(frozen=True, slots=True)
class _Table:
    """Every active group's members as loaded for an `as_of`: by the group's raw id, with its scope and the
    counters it was read under."""

    counters: Mapping[str, int]  # each group's scope -> its counter, as read before the load
    scopes: Mapping[Any, str]  # a group's raw id -> its scope
    people: Mapping[Any, answered.GroupPeople]
    # The first day after `as_of` it no longer holds (None: no such day), once `bounded` (`_bounded`): only a
    # later `as_of` asks it, so the load that keeps the table does not work it out.
    until: date | None = None
    bounded: bool = False


# as_of -> `_Table`, under `facts.UNPLACED`'s counter. A table holds every member of every group: today's and
# one other `as_of` (a trustee's month) are kept.
PEOPLE_TABLES = 2
_kept = cache.Lru(most=PEOPLE_TABLES)


def _first_after(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """The first of `column`'s days after `as_of`, over the table's rows (null: none)."""
    return sa.func.min(sa.case((column > _AS_OF, column)))


# Every filter on `as_of` of the statements `answered.people_of` decodes (`answered.answered_queries`: the
# members, the consents in force, the groups active), as the first day after `as_of` on which it lets another
# row through or keeps one out (every consent's days, not only those of the kinds read: it may only end a
# table sooner); last, the young people with a consent recorded after `as_of` (it counts from the day it was
# recorded: a table with one of them among its members holds for `as_of` alone).
HORIZON: tuple[fetch.Statement, ...] = (
    sa.select(_first_after(MEMBERSHIP.c.started_on), _first_after(MEMBERSHIP.c.ended_on)),
    sa.select(
        _first_after(CONSENT.c.given_on),
        _first_after(CONSENT.c.expires_on),
        _first_after(CONSENT.c.withdrawn_on),
    ),
    sa.select(_first_after(GROUP.c.started_on), _first_after(GROUP.c.archived_on)),
    sa.select(CONSENT.c.participant_id).where(CONSENT.c.created_at >= _AS_OF_END),
)


def _bounded(
    session: Session,
    loaded_on: date,
    table: _Table,
    people: Mapping[Any, answered.GroupPeople],
    counters: cache.GroupsVersions,
) -> _Table | None:
    """`table` (loaded for `loaded_on`) with its `until`, worked out in this transaction from `HORIZON`;
    `people`: its members whose groups' counters (`counters`, read first in this transaction) still stand.

    Sound though read after the load: the rows of the groups whose counters stand are those the load read
    (every write to them moves a counter), so the days found over every row now are theirs and others', the
    first of them no later than theirs; a consent recorded after `loaded_on` counts only where its young
    person is among `people`. The counters are read again after `HORIZON` (PostgreSQL reads each statement
    afresh): None if a write moved one of them meanwhile."""
    conn = session.connection()
    params = {"as_of": loaded_on, "as_of_end": clock.start_of(loaded_on + timedelta(days=1))}
    (membership,), (consent,), (group,), recorded = fetch.fetch_all(conn, HORIZON, params, reuse=True)
    before, after = dict(counters.every), dict(cache.read_groups(session).every)
    standing = (facts.UNPLACED, *(table.scopes[raw] for raw in people))
    if any(after.get(scope, 0) != before.get(scope, 0) for scope in standing):
        return None
    day = fetch.reader(conn).day
    days = [day(d) for d in (*membership, *consent, *group) if d is not None]
    if recorded:
        # As the load keeps them (`ParticipantFacts.raw_id`, 32 hex digits) and the rows' once stripped.
        members = {
            str(m.participant.raw_id).replace("-", "")
            for found in people.values()
            for m in found.members
            if m is not None and m.participant is not None
        }
        if any(r[0].replace("-", "") in members for r in recorded):
            days.append(loaded_on + timedelta(days=1))
    return replace(table, until=min(days, default=None), bounded=True)


def _group_counters(counters: cache.GroupsVersions) -> dict[str, int]:
    """Each group's scope (its id's text) -> its counter, of the scopes `read_groups` read."""
    return {scope: version for scope, version in counters.every if len(scope) == 36}


def kept_for(
    session: Session, as_of: date, counters: cache.GroupsVersions
) -> tuple[dict[Any, answered.GroupPeople], list[uuid.UUID]] | None:
    """From the table that holds on `as_of` (loaded for it or a day before, nothing its statements read
    changing in between: `_bounded`, worked out in this transaction the first time a later day asks) under
    `counters`' `facts.UNPLACED` (read first in this transaction): the members of every group whose counter
    still stands, and the groups whose counters moved or are new, to be read again; None if there is none,
    or most of its groups' counters moved."""
    unplaced = dict(counters.every).get(facts.UNPLACED, 0)
    for loaded_on, kept_unplaced, table in reversed(_kept.entries()):
        if kept_unplaced != unplaced or not isinstance(table, _Table) or not isinstance(loaded_on, date):
            continue
        if loaded_on > as_of or (table.bounded and table.until is not None and as_of >= table.until):
            continue
        now = _group_counters(counters)
        moved = {s for s, v in now.items() if table.counters.get(s, 0) != v}
        moved |= {s for s, v in table.counters.items() if now.get(s, 0) != v}
        if 2 * len(moved) > len(table.people):
            return None
        people = {raw: found for raw, found in table.people.items() if table.scopes[raw] not in moved}
        if as_of > loaded_on and not table.bounded:
            bounded = _bounded(session, loaded_on, table, people, counters)
            if bounded is None:
                return None
            _kept.put(loaded_on, kept_unplaced, bounded)
            if bounded.until is not None and as_of >= bounded.until:
                continue
        return people, [uuid.UUID(s) for s in sorted(moved)]
    return None


def active_lines(
    *,
    session: Session,
    reach: Reach,
    as_of: date,
    platform: Platform | None,
    counters: cache.GroupsVersions,
) -> tuple[list[service.GroupSummary], Thresholds, PolicyFacts | None]:
    """`service.active_lines`: every active group's line in reach (of `platform` if given), by name, with the
    thresholds and the policy in force read; over the members kept under `counters` (read first in this
    transaction) where the caller reaches every group and asks no platform, keeping them for the next. The
    collector is held off meanwhile (api/gc_paused.py)."""
    with collection_paused():
        if platform is None and reach.reads_every(Record.group):
            found = kept_for(session, as_of, counters)
            people, missing = found if found is not None else (None, [])
            groups, thresholds, loaded = load_active(
                session=session, reach=reach, as_of=as_of, people=people, missing=missing
            )
            if (found is None or missing) and loaded.people is not None:
                to_uuid = fetch.reader(session.connection()).uuid
                table = _Table(
                    _group_counters(counters),
                    {raw: facts.scope_of(to_uuid(raw)) for raw in loaded.people},
                    loaded.people,
                )
                _kept.put(as_of, dict(counters.every).get(facts.UNPLACED, 0), table)
            return service.lines_of(groups, thresholds, loaded, as_of), thresholds, loaded.policy
        return service.active_lines(session=session, reach=reach, as_of=as_of, platform=platform)
