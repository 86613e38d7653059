"""The organisation report's members, kept across a write to the organisation's own tables (issue 19).

A write to a table of the organisation's own (a member of staff's record, a declaration, the policy settings
or versions, the controls, the technologies) moves the organisation's counter, which every group's line
checks (api/compliance/org_cache.py): the report's next read loads and evaluates every group afresh. Most of
that load is the groups' members: every current membership, its young person's date of birth and leaving
day, and their consents in force, folded into answers (`answered.people_of`); the rows that grow with the
groups, and none of them from a table of the organisation's own. So what `answered.people_of` made of them
is kept here, one table of every active group's for the `as_of` it was loaded on, under every group's
counter and the young people's (`facts_people.PEOPLE`), not the organisation's, and with the first day after
it on which any of it could read otherwise (`HORIZON`): it serves every `as_of` from its own to the day
before that one, so the first report after midnight does not read the members again either, unless a
membership begins or ends, a consent is given, expires or is withdrawn, or a group starts or is archived on
the new day. The next load of every
group over them reads the rest afresh (the groups, their staff and declarations, reviews, roster counts,
risk assessments, incidents, waivers, the policy), seats the staff (`answered.with_staff`) and evaluates
every group's rules again: a first evaluation of every group, without reading its members again.

Why it can never be stale. `answered.people_of` reads the rows of memberships, participants and consents
only (tests/test_org_people.py checks the statements it is handed), and every write to those
moves a counter the table is kept under, in the write's own transaction (api/facts.py):
- a membership: its group's counter (and its members'); where the hook cannot tell the group,
  `facts.UNKNOWN`, the young people's counter among them;
- a young person's record or consents: the counters of every group they have a membership of
  (api/compliance/people.py) and the young people's; where the hook cannot tell whom, `facts.UNKNOWN`;
- raw SQL, a write inside a WITH, a migration: `facts.UNKNOWN`.
The counters are read first in the request's transaction (`cache.read_groups`), so what is loaded after is at
least as new as the counters it is kept under; a group new since (its first write makes its counter) or
archived (a write to its row) changes the key too. What the statements read turns on the day only through
their filters on `as_of` (which memberships and groups are current, which consents in force and recorded by
its end); `HORIZON` finds, in the same transaction, the first day after `as_of` on which any of those
filters lets another row through or keeps one out, and the table serves no day from then on. Only the load
of every active group, for a caller who reaches them all with no platform asked, keeps or uses it: its
statements and its groups are the same each time.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from api import facts
from api.auth.reach import Reach, Record
from api.compliance import answered, cache, fetch, service
from api.compliance.loading import load_active
from api.compliance.queries import _AS_OF, _AS_OF_END, CONSENT, GROUP, MEMBERSHIP
from api.compliance.snapshot import PolicyFacts, Thresholds
from api.groups.models import Platform

# as_of -> (the first day it no longer holds, or None, every active group's `answered.GroupPeople` by raw id),
# under the counters below. A table holds every member of every group: today's and one other `as_of` (a
# trustee's month) are kept.
PEOPLE_TABLES = 2
_kept = cache.Lru(most=PEOPLE_TABLES)


def _first_after(column: sa.Column[Any]) -> sa.ColumnElement[Any]:
    """The first of `column`'s days after `as_of`, over the table's rows (null: none)."""
    return sa.func.min(sa.case((column > _AS_OF, column)))


# Every filter on `as_of` of the statements `answered.people_of` decodes (`answered.answered_queries`: the
# members, the consents in force, the groups active), as the first day after `as_of` on which it lets another
# row through or keeps one out; and whether a consent was recorded after `as_of` (it counts from the day it
# was recorded: the table then holds for `as_of` alone). Every consent's days, not only those of the kinds
# read: it may only end a table sooner.
HORIZON: tuple[fetch.Statement, ...] = (
    sa.select(_first_after(MEMBERSHIP.c.started_on), _first_after(MEMBERSHIP.c.ended_on)),
    sa.select(
        _first_after(CONSENT.c.given_on),
        _first_after(CONSENT.c.expires_on),
        _first_after(CONSENT.c.withdrawn_on),
        sa.func.max(sa.case((CONSENT.c.created_at >= _AS_OF_END, 1), else_=0)),
    ),
    sa.select(_first_after(GROUP.c.started_on), _first_after(GROUP.c.archived_on)),
)


def _until(session: Session, as_of: date, rows: list[list[fetch.Row]]) -> date | None:
    """The first day after `as_of` the table loaded with `HORIZON`'s `rows` no longer holds (None: no day)."""
    day = fetch.reader(session.connection()).day
    (membership,), (consent,), (group,) = rows
    days = [day(d) for d in (*membership, *consent[:3], *group) if d is not None]
    if consent[3]:
        days.append(as_of + timedelta(days=1))
    return min(days, default=None)


def standing(counters: cache.GroupsVersions) -> tuple[tuple[str, int], ...]:
    """What the members kept stand on: every scope `read_groups` read (each group's counter, the young
    people's) but the organisation's."""
    return tuple(scope for scope in counters.every if scope[0] != facts.ORG)


def kept_for(as_of: date, versions: tuple[tuple[str, int], ...]) -> dict[Any, answered.GroupPeople] | None:
    """The table kept under `versions` that holds on `as_of` (loaded on it or on a day before, with nothing
    its statements read changing in between), if any."""
    for loaded_on, kept_versions, (until, people) in reversed(_kept.entries()):
        if kept_versions == versions and loaded_on <= as_of and (until is None or as_of < until):
            found: dict[Any, answered.GroupPeople] = people
            return found
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
    transaction) where the caller reaches every group and asks no platform, keeping them for the next."""
    if platform is not None or not reach.reads_every(Record.group):
        return service.active_lines(session=session, reach=reach, as_of=as_of, platform=platform)
    versions = standing(counters)
    people = kept_for(as_of, versions)
    groups, thresholds, loaded = load_active(
        session=session, reach=reach, as_of=as_of, people=people, extra=HORIZON if people is None else ()
    )
    if people is None and loaded.people is not None:
        _kept.put(as_of, versions, (_until(session, as_of, loaded.extra), loaded.people))
    return service.lines_of(groups, thresholds, loaded, as_of), thresholds, loaded.policy
