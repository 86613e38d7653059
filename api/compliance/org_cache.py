"""The organisation report from the compliance cache (issue 19): a group's line, and the organisation's own
findings, kept and served while nothing they were computed from has changed.

What is kept, in each process (api/compliance/cache.py's bounded LRUs, `COMPLIANCE_CACHE_ENTRIES` entries a
kind; 0 turns it off):
- each group's line (`service.GroupSummary`: its name and platform and `engine.verdicts` over it: status,
  counts, failing, warning and waived rules), in one table per `as_of` and organisation day, each line with
  the group's and the organisation's facts versions (api/facts.py) it was computed under: as cache.py keeps
  one group's evaluation. A read takes the lines whose versions still stand, and loads and evaluates the
  rest in one load restricted to them (`service.group_lines`: the statements of the organisation report's
  own load, a fixed number however many groups, their ids bound, so their SQL is written once for each
  power of two of ids); when more than half are missing (a first read, a write to
  the organisation), the report's own load of every group (`service.active_lines`) serves instead: it
  reads every participant's consents rather than asking for the members' alone, which costs less once
  they are most of them (api/compliance/answered.py), over its members kept where they stand
  (api/compliance/org_people.py: after a write to the organisation's own tables or at midnight, every
  group is evaluated again without reading again the members of groups whose counters stand);
- each group's evaluation whole (`service.group_evaluations`: every finding, cited, before any caller's
  redaction and `since`), for the pages and exports that show every group's findings (the trustees'
  dashboard, the workbook: `group_evaluations`), in one table per `as_of` and day as the lines, each under
  the group's and the organisation's counters; the groups missed are loaded and evaluated together;
- the organisation's own findings (`service.organisation_evaluation`: staff, controls, technologies,
  ORG_RULES and STAFF_RULES, cited, before any caller's redaction), by `as_of` and day, under the
  organisation's counter and every group's: they read memberships and group names too (of archived
  groups as well), so a write to any group recomputes them.
What is not kept: who the caller is. The groups in their reach (and of the `platform` asked) are read on
every request, in the report's order, and the organisation's findings redacted for them (`redact_for`), as
are the groups' findings, and dated (`since`), by `exports.group_evaluations`;
the `status` and `rule` filters and the totals apply to the lines afterwards, as a fresh report does.

Why it can never be stale: as cache.py's entries. The counters (every group's and the organisation's, one
statement: `cache.read_groups`) are read first in the request's transaction, before any fact they vouch
for, so whatever is computed after is at least as new as the counters it is filed under; every write that
can change a group's line moves that group's counter or the organisation's in its own transaction; a group
whose counter is not there yet (never written) stands under 0 (`cache.GroupsVersions.of`), which its first
write moves; the key holds the organisation's day, so midnight makes every entry a miss. A session with
writes of its own not yet committed, and the cache turned off (`cache.disabled`), evaluate everything afresh
(`service.organisation_report`). tests/test_org_report_cache.py checks each write's answer against a fresh
one, for every kind of caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from api import clock
from api.auth.reach import Reach, Record
from api.compliance import cache, fetch, org_people, service
from api.compliance.engine import Evaluation
from api.compliance.models import Status
from api.compliance.policy_facts import _thresholds, keep_policy, policy_kept, policy_key, policy_on
from api.compliance.queries import _ACTIVE, GROUP
from api.compliance.snapshot import PolicyFacts, Thresholds
from api.groups.models import Platform


@dataclass(frozen=True, slots=True)
class _Line:
    """A group's line, with the group's and the organisation's counters it was computed under."""

    versions: tuple[int, int]
    summary: service.GroupSummary


@dataclass(frozen=True, slots=True)
class _Evaluated:
    """A group's evaluation whole, with the group's and the organisation's counters it was computed under."""

    versions: tuple[int, int]
    evaluation: Evaluation


# (as_of, day) -> {group id: _Line}; a table is replaced whole, never changed in place, so a reader holding
# one is never disturbed. Each line carries its own versions: the table's are none. Each table (and each
# organisation's findings below) holds every group's, so LINE_TABLES days asked for at most are kept.
LINE_TABLES = 32
_tables = cache.Lru(most=LINE_TABLES)
# (as_of, day) -> {group id: _Evaluated}, replaced whole as `_tables`. Each table holds every group's
# findings, so only a few days' are kept (today's and the past days a workbook was asked for last): asking
# for a workbook of every day of a year must not keep a year of the organisation's findings in memory.
EVALUATION_TABLES = 4
_evaluations = cache.Lru(most=EVALUATION_TABLES)
# (as_of, day) -> the organisation's findings, under every scope's (scope, version) as read.
_organisation = cache.Lru(most=LINE_TABLES)
_NONE: Hashable = None

# The ids of every active group, by name (the report's order): a caller who reaches every group, with no
# platform asked. Built once, so that `fetch` writes its SQL once.
_EVERY_ACTIVE_ID = sa.select(GROUP.c.id).where(_ACTIVE).order_by(GROUP.c.name, GROUP.c.id)


def _active_ids(session: Session, reach: Reach, as_of: date, platform: Platform | None) -> list[uuid.UUID]:
    """The groups the report lists for this caller, in its order: active on `as_of`, in reach, of
    `platform` if given (the filter of `loading.load_active`)."""
    statement, reuse = _EVERY_ACTIVE_ID, True
    if platform is not None or not reach.reads_every(Record.group):
        chosen = [_ACTIVE, reach.groups(GROUP.c.id)]
        if platform is not None:
            chosen.append(GROUP.c.platform == platform)
        statement, reuse = sa.select(GROUP.c.id).where(*chosen).order_by(GROUP.c.name, GROUP.c.id), False
    conn = session.connection()
    (rows,) = fetch.fetch_all(conn, (statement,), {"as_of": as_of}, reuse=reuse)
    to_uuid = fetch.reader(conn).uuid
    return [to_uuid(r[0]) for r in rows]


def _policy(session: Session, org: int, as_of: date) -> tuple[Thresholds, PolicyFacts | None]:
    """The thresholds and the policy in force on `as_of`, as a load reads them, kept under the organisation's
    counter (`policy_facts.policy_kept`)."""
    key = policy_key(session.connection(), org, as_of)
    kept = policy_kept(key)
    if kept is None:
        kept = (_thresholds(session), policy_on(session, as_of))
        keep_policy(key, kept)
    return kept


def _lines(
    session: Session,
    reach: Reach,
    as_of: date,
    platform: Platform | None,
    counters: cache.GroupsVersions,
    key: tuple[date, date],
) -> tuple[list[service.GroupSummary], tuple[Thresholds, PolicyFacts | None] | None]:
    """The lines of the groups this caller's report lists, in order: those kept whose versions stand, the
    rest loaded and evaluated together; with the thresholds and policy when a load of every group read
    them. `key`: `as_of` and the organisation's day."""
    kept: dict[uuid.UUID, _Line] = _tables.get(key, _NONE) or {}
    ids: list[uuid.UUID] = []
    missed: list[uuid.UUID] = []
    if kept:
        ids = _active_ids(session, reach, as_of, platform)
        for group_id in ids:
            line = kept.get(group_id)
            if line is None or line.versions != counters.of(group_id):
                missed.append(group_id)
    policy = None
    if not kept or 2 * len(missed) > len(ids):
        # Most of them to load: the report's own load of every group reads no more, in statements its
        # size does not change, and decides the order itself.
        every, thresholds, in_force = org_people.active_lines(
            session=session, reach=reach, as_of=as_of, platform=platform, counters=counters
        )
        fresh = {s.group_id: s for s in every}
        ids, policy = [s.group_id for s in every], (thresholds, in_force)
        # Read after the organisation's counter: kept under it, for the next load restricted to a few.
        keep_policy(policy_key(session.connection(), counters.org, as_of), policy)
    else:
        fresh = service.group_lines(
            session=session, as_of=as_of, group_ids=missed, policy_version=counters.org
        )
        # A group missed and not loaded was archived since the ids were read (PostgreSQL reads each
        # statement afresh): a fresh report read then would not list it either.
        gone = set(missed) - set(fresh)
        ids = [g for g in ids if g not in gone]
    if fresh:
        table = dict(kept)
        table.update((g, _Line(counters.of(g), s)) for g, s in fresh.items())
        _tables.put(key, _NONE, table)
    return [fresh[g] if g in fresh else kept[g].summary for g in ids], policy


def organisation_report(
    *,
    session: Session,
    reach: Reach,
    as_of: date,
    status: Status | None = None,
    platform: Platform | None = None,
    rule: str | None = None,
) -> service.OrganisationReport:
    """`service.organisation_report`, from the cache for every group and finding whose facts stand (see the
    module's docstring); the same report a fresh evaluation gives."""
    if not cache.used(session):
        return service.organisation_report(
            session=session, reach=reach, as_of=as_of, status=status, platform=platform, rule=rule
        )
    service.check_rule(rule)
    counters = cache.read_groups(session)  # first: the facts read after it are at least this new
    key = (as_of, clock.today())
    lines, policy = _lines(session, reach, as_of, platform, counters, key)
    organisation: Evaluation | None = _organisation.get(key, counters.every)
    if organisation is None:
        thresholds, in_force = policy or _policy(session, counters.org, as_of)
        organisation = service.organisation_evaluation(session, as_of, thresholds, in_force)
        _organisation.put(key, counters.every, organisation)
    return service.organisation_answer(
        session=session,
        reach=reach,
        as_of=as_of,
        organisation=organisation,
        lines=lines,
        status=status,
        rule=rule,
    )


def group_evaluations(
    *, session: Session, as_of: date, group_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Evaluation]:
    """`service.group_evaluations` of `group_ids` (group id -> its evaluation, for those active on `as_of`),
    from the cache for every group whose facts stand, the rest loaded and evaluated together in one load
    restricted to them (see the module's docstring). Nothing here is redacted: the caller's part is
    `exports.group_evaluations`'."""
    if not cache.used(session):
        return service.group_evaluations(session=session, as_of=as_of, group_ids=group_ids)
    counters = cache.read_groups(session)  # first: the facts read after it are at least this new
    key = (as_of, clock.today())
    kept: dict[uuid.UUID, _Evaluated] = _evaluations.get(key, _NONE) or {}
    missed = [g for g in group_ids if g not in kept or kept[g].versions != counters.of(g)]
    fresh = service.group_evaluations(session=session, as_of=as_of, group_ids=missed) if missed else {}
    if fresh:
        table = dict(kept)
        table.update((g, _Evaluated(counters.of(g), e)) for g, e in fresh.items())
        _evaluations.put(key, _NONE, table)
    # A group missed and not loaded is no longer active on `as_of`: a fresh evaluation would not give it, and
    # what is kept of it no longer stands.
    stale = set(missed)
    return {
        g: fresh[g] if g in stale else kept[g].evaluation for g in group_ids if g in fresh or g not in stale
    }
