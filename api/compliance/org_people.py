"""The organisation report's members, kept across a write to the organisation's own tables (issue 19).

A write to a table of the organisation's own (a member of staff's record, a declaration, the policy settings
or versions, the controls, the technologies) moves the organisation's counter, which every group's line
checks (api/compliance/org_cache.py): the report's next read loads and evaluates every group afresh. Most of
that load is the groups' members: every current membership, its young person's date of birth and leaving
day, and their consents in force, folded into answers (`answered.people_of`); the rows that grow with the
groups, and none of them from a table of the organisation's own. So what `answered.people_of` made of them
is kept here, one table of every active group's per `as_of` and organisation day, under every group's
counter and the young people's (`facts_people.PEOPLE`), not the organisation's. The next load of every
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
- raw SQL (also carried by a DDL element), a write inside a WITH, a migration, a Core write whose rows
  its parameters do not name (an upsert, an INSERT with values of its own, an UPDATE whose WHERE reads
  another table: api/facts_people.py): `facts.UNKNOWN`.
The counters are read first in the request's transaction (`cache.read_groups`), so what is loaded after is at
least as new as the counters it is kept under; a group new since (its first write makes its counter) or
archived (a write to its row) changes the key too; the key holds the organisation's day, so midnight drops
it. Only the load of every active group, for a caller who reaches them all with no platform asked, keeps
or uses it: its statements and its groups are the same each time.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from api import clock, facts
from api.auth.reach import Reach, Record
from api.compliance import answered, cache, service
from api.compliance.loading import load_active
from api.compliance.snapshot import PolicyFacts, Thresholds
from api.groups.models import Platform

# (as_of, day) -> every active group's `answered.GroupPeople` by raw id, under the counters below. A table
# holds every member of every group: today's and one other day's are kept.
PEOPLE_TABLES = 2
_kept = cache.Lru(most=PEOPLE_TABLES)


def standing(counters: cache.GroupsVersions) -> tuple[tuple[str, int], ...]:
    """What the members kept stand on: every scope `read_groups` read (each group's counter, the young
    people's) but the organisation's."""
    return tuple(scope for scope in counters.every if scope[0] != facts.ORG)


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
    key, versions = (as_of, clock.today()), standing(counters)
    people: dict[Any, answered.GroupPeople] | None = _kept.get(key, versions)
    groups, thresholds, loaded = load_active(session=session, reach=reach, as_of=as_of, people=people)
    if people is None and loaded.people is not None:
        _kept.put(key, versions, loaded.people)
    return service.lines_of(groups, thresholds, loaded, as_of), thresholds, loaded.policy
