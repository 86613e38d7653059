"""The forecast from the compliance cache (issue 19): each group's forecast before any caller's part, kept and
served while nothing it was computed from has changed.

What is kept, in each process (api/compliance/cache.py's bounded LRUs, `COMPLIANCE_CACHE_ENTRIES` entries a
kind; 0 turns it off):
- each group's `forecast.GroupAhead` (the group's row, today's status, the young people in its memberships
  over the window, and every day ahead a finding gets worse, by the day: before coarsening and redaction), in
  one table per `as_of`, organisation day and window end (`until`, which depends on the caller through
  `grain.forecast_until`: a trustee's window ends on a month's last day), each with the group's and the
  organisation's facts versions (api/facts.py) it was computed under, as org_cache.py keeps a group's line;
  at most `TABLES` tables, the least recently used out first. A read takes those whose versions still stand,
  and loads and forecasts the rest in one load restricted to their ids (`_restricted`: a fixed number of
  statements however many groups, their ids bound, so their SQL is written once for each power of two of
  ids); when more than half are missing (a first read, a write to the organisation), the forecast's own load
  of every group the caller asks serves instead;
- the policy versions coming into force in the window (`policy_facts.policies_ahead`), by `as_of`, day and
  `until`, under the organisation's counter, which every write to a policy version or its clauses moves;
  for at most `TABLES` windows, as the tables.
What is not kept: who the caller is. The groups in their reach (and the one asked, `group_id`: 404 out of
reach) are read on every request, in the forecast's order; each group's days are folded by the month for a
caller who may not see every young person in it, and every finding redacted for them (`forecast.shown`).

Why it can never be stale: as cache.py's entries. The counters (every group's and the organisation's, one
statement: `cache.read_groups`) are read first in the request's transaction, before any fact they vouch
for, so whatever is computed after is at least as new as the counters it is filed under; every write that
can change a group's forecast moves that group's counter or the organisation's in its own transaction (a
forecast reads the same tables as the group's evaluation, its memberships over the window too: a write to
a young person's own facts moves every group with any membership of theirs, ended or yet to start,
api/compliance/people.py); a group whose counter is not there yet (never written) stands under 0
(`cache.GroupsVersions.of`), which its first write moves; the key holds the organisation's day, so midnight
makes every entry a miss. A session with writes of its own not yet committed, and the cache turned off
(`cache.disabled`), forecast afresh (`forecast.forecast`). tests/test_forecast_cache.py checks each write's
answer against a fresh one, for every kind of caller.
"""

from __future__ import annotations

import functools
import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import Select
from sqlmodel import Session

from api import clock
from api.auth.reach import Reach
from api.compliance import cache, forecast, grain, loading, policy_facts
from api.compliance.org_cache import _active_ids
from api.compliance.queries import _ACTIVE, _GROUP_COLUMNS, GROUP, _Queries, _queries
from api.compliance.snapshot import GroupFacts, Thresholds
from api.errors import NotFound

# How many tables are kept: each holds every group's days ahead over its window, and a window's end may be
# asked for any of a year's days, so the entries allowed for the small answers of the other kinds would let
# the forecasts fill a worker's memory. The windows in use are few: the dashboard's, the default, a year.
TABLES = 16
# (as_of, day, until) -> {group id: (the group's and the organisation's counters, its `GroupAhead`)}; a table
# is replaced whole, never changed in place, so a reader holding one is never disturbed.
_tables = cache.Lru(most=TABLES)
_Key = tuple[date, date, date]  # as_of, the organisation's day, until
# (as_of, day, until) -> the policy versions coming into force in the window, under the organisation's
# counter. As many windows as the tables: each entry is a window's own copy of every version ahead's words,
# so the entries allowed for the small answers would let a caller stepping `days` keep hundreds of copies.
_policies = cache.Lru(most=TABLES)
_ORDER = (GROUP.c.name, GROUP.c.id)


@functools.cache
def _restricted(width: int) -> tuple[Select[Any], _Queries]:
    """The forecast's statements for `width` ids bound as `group_0`.. (a power of two, the last id repeated
    to fill it), active on the bound `as_of`: built once a width, so that `fetch` writes their SQL once."""
    ids = [sa.bindparam(f"group_{i}", type_=GROUP.c.id.type) for i in range(width)]
    chosen = sa.and_(_ACTIVE, GROUP.c.id.in_(ids))
    chosen_ids = sa.select(GROUP.c.id).where(chosen)
    return sa.select(*_GROUP_COLUMNS).where(chosen).order_by(*_ORDER), _queries(
        lambda column: column.in_(chosen_ids), window=True
    )


def _forecast_loaded(
    session: Session,
    loaded_groups: tuple[list[tuple[Any, GroupFacts]], Thresholds, loading._Loaded],
    key: _Key,
    org: int,
) -> dict[uuid.UUID, forecast.GroupAhead]:
    """Each loaded group's `GroupAhead`, under the policy versions ahead kept (or read, and kept)."""
    groups, thresholds, loaded = loaded_groups
    as_of, _, until = key
    ahead_policies = _policies.get(key, org)
    if ahead_policies is None:
        ahead_policies = policy_facts.policies_ahead(session, loaded.policy, as_of, until)
        _policies.put(key, org, ahead_policies)
    aheads = forecast.group_aheads(groups, thresholds, loaded, ahead_policies, as_of, until)
    return {a.group.id: a for a in aheads}


def _aheads(
    session: Session,
    reach: Reach,
    group_id: uuid.UUID | None,
    counters: cache.GroupsVersions,
    key: _Key,
) -> list[forecast.GroupAhead]:
    """The `GroupAhead` of each group this caller's forecast lists, in order: those kept whose versions
    stand, the rest loaded and forecast together. `key`: `as_of`, the organisation's day and `until`."""
    as_of, _, until = key
    org = counters.org
    kept: dict[uuid.UUID, tuple[tuple[int, int], forecast.GroupAhead]] = _tables.get(key, None) or {}
    ids: list[uuid.UUID] = []
    missed: list[uuid.UUID] = []
    if kept:
        # The groups the organisation report lists for this caller, in the same order (the forecast's).
        ids = [g for g in _active_ids(session, reach, as_of, None) if group_id in (None, g)]
        missed = [g for g in ids if g not in kept or kept[g][0] != counters.of(g)]
    if not kept or 2 * len(missed) > len(ids):
        # Most of them to load: the forecast's own load of the groups asked reads no more, in statements
        # their number does not change, and decides the order itself.
        chosen = forecast.chosen_groups(reach, group_id)
        loaded = loading._load(
            session,
            sa.select(*_GROUP_COLUMNS).where(chosen).order_by(*_ORDER),
            _queries(lambda column: column.in_(sa.select(GROUP.c.id).where(chosen)), window=True),
            forecast.window(as_of, until),
            as_of,
            policy_version=org,
        )
        fresh = _forecast_loaded(session, loaded, key, org)
        ids = list(fresh)
    elif missed:
        width = 1 << (len(missed) - 1).bit_length()
        statement, queries = _restricted(width)
        bound = {f"group_{i}": missed[min(i, len(missed) - 1)] for i in range(width)}
        loaded = loading._load(
            session,
            statement,
            queries,
            forecast.window(as_of, until) | bound,
            as_of,
            reuse=True,
            policy_version=org,
        )
        fresh = _forecast_loaded(session, loaded, key, org)
        # A group missed and not loaded was archived since the ids were read (PostgreSQL reads each
        # statement afresh): a fresh forecast read then would not list it either.
        gone = set(missed) - set(fresh)
        ids = [g for g in ids if g not in gone]
    else:
        fresh = {}
    if fresh:
        table = dict(kept)
        table.update((g, (counters.of(g), a)) for g, a in fresh.items())
        _tables.put(key, None, table)
    return [fresh[g] if g in fresh else kept[g][1] for g in ids]


def served_forecast(
    *, session: Session, reach: Reach, as_of: date, days: int, group_id: uuid.UUID | None = None
) -> forecast.OrganisationForecast:
    """`forecast.forecast`, from the cache for every group whose facts stand (see the module's docstring);
    the same forecast a fresh one gives. 404 for a `group_id` not active or out of reach."""
    if not cache.used(session):
        return forecast.forecast(session=session, reach=reach, as_of=as_of, days=days, group_id=group_id)
    until = grain.forecast_until(reach, as_of, forecast.check_days(days))
    counters = cache.read_groups(session)  # first: the facts read after it are at least this new
    aheads = _aheads(session, reach, group_id, counters, (as_of, clock.today(), until))
    if group_id is not None and not aheads:
        raise NotFound(f"No group with id {group_id}")
    return forecast.OrganisationForecast(as_of, until, forecast.shown(session, reach, aheads, as_of))
