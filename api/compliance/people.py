"""A write about one young person moves only the groups that person is in (issue 19): the scopes a write to a
young person's own facts moves (api/facts.py's `person_column`), found in the write's own transaction at its
commit.

Which tables are a young person's own facts, and how each compliance answer reaches them. Every statement of
every answer that reads `participant`, `consent` or `platform_identity`:
- a group's evaluation (cache.py; `queries._ONE_GROUP_QUERIES`, `loading.load_group`): the members statement
  joins `participant` to the group's memberships current on `as_of`; the consents statement reads the
  consents of the participants of those memberships; `_ONE_GROUP_MEMBERSHIPS` reads memberships alone; the
  roster entries statement joins `participant` to the entries of the group's latest roster by
  `roster_entry.participant_id`, NOT through a membership: a roster may name a young person who is no
  member of the group (a match the coordinator has not resolved, a former member), whose name, dates and
  date of birth its evidence shows;
- the organisation report's lines, the dashboard's and the workbook's evaluations (org_cache.py;
  `answered.answered_queries`, `service.group_lines`, `service.group_evaluations`): `participant` through
  the groups' current memberships; the consents statement of a load of most groups reads EVERY
  participant's in-force consents (`every_participant`), but `answered.people_of` folds and keeps only
  those of the groups' members, so a line stands on its members' consents alone;
- the organisation's own findings (`service.organisation_evaluation`: staff, controls, technologies, group
  names and memberships): no young person's facts;
- the forecast (forecast_cache.py; `queries._queries(window=True)`) and a backfilled history
  (backfill.py): `participant` and consents through the memberships current on any day of the window,
  past or ahead, so through memberships ended or not yet begun on `as_of`;
- a group's history and the staff report, coverage and the watch evaluate afresh (nothing kept); redaction
  and a forecast's months (`redaction.redact_for`, `forecast.shown`) read which young people the caller
  reaches on every request, through the caller's memberships, after the cache;
- `platform_identity`: no answer reads it (a roster upload matches entries against it and stores the match
  on `roster_entry`, a write to the roster's group); its writes are declared a person's all the same, so
  that a statement reading it later is covered;
- `incident_participant` and `incident_notification` name young people too and are read by no answer
  (cache.UNREAD_TABLES); `roster_entry` names them as well and keeps moving the organisation's counter (it
  is written with its roster, and matches against every participant); `membership` is a group's table.
So a write to a young person's own facts changes, of every kept answer, only those of a group that has a
membership of theirs (any, ended or not: a report `as_of` a past day, the forecast's window and a history
read memberships of other days) or a roster entry naming them. `scopes_of` moves those groups' counters (and
the members' counter of the groups they are a member of, which what is kept about the members stands on),
and `facts_people.PEOPLE`, which the people kept across a membership write stand on (cache.py's `_people`)
and, as every scope is, the organisation's own findings. tests/test_people_cache.py holds a rule to every
foreign key to `participant`.

Why no write is missed by a membership made at the same time: the groups are read at commit, in the write's
transaction, with the participants' rows locked (PostgreSQL: `FOR UPDATE`, which waits for any transaction
that has inserted a membership or a roster entry naming them, or set one to name them, since that takes a
share of the participant's key, and makes any that starts later wait for this one). So a membership
committed before it is read here, and one committed after moves its own group, whose answer is then worked
out after this write. SQLite runs one writer at a time.

The lock is taken when a write first names the young person (`facts_people.lock_people`, from the flush or
statement that writes their rows), before those rows are written, not at the commit: a consent or an
identity written for them takes a share of their record's key too (its foreign key), so two writes about
one young person at once, each locking at its commit, would each wait for the other's share (a deadlock,
one aborted). Taken first, the second write waits for the first to commit, as two changes of one record do.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

import sqlalchemy as sa

from api import facts, facts_people
from api.compliance.queries import MEMBERSHIP, PARTICIPANT, ROSTER, ROSTER_ENTRY

# Tables of a young person's own facts, by the column naming them.
PERSON_TABLES = {"participant": "id", "consent": "participant_id", "platform_identity": "participant_id"}

_IDS: sa.BindParameter[uuid.UUID] = sa.bindparam("ids", expanding=True)
_LOCK = sa.select(PARTICIPANT.c.id).where(PARTICIPANT.c.id.in_(_IDS)).order_by(PARTICIPANT.c.id)
# Every group with a membership of theirs (1), or a roster whose entries name them (0).
_GROUPS = sa.union(
    sa.select(MEMBERSHIP.c.group_id, sa.literal(1)).where(MEMBERSHIP.c.participant_id.in_(_IDS)),
    sa.select(ROSTER.c.group_id, sa.literal(0))
    .select_from(ROSTER_ENTRY.join(ROSTER, ROSTER.c.id == ROSTER_ENTRY.c.roster_id))
    .where(ROSTER_ENTRY.c.participant_id.in_(_IDS)),
)


# Their memberships, shared-locked at the commit before their groups are read (see `scopes_of`).
_MEMBERSHIPS = (
    sa.select(MEMBERSHIP.c.id)
    .where(MEMBERSHIP.c.participant_id.in_(_IDS))
    .order_by(MEMBERSHIP.c.id)
    .with_for_update(read=True)
)


def lock(connection: sa.Connection, people: Collection[uuid.UUID]) -> None:
    """Lock `people`'s records (PostgreSQL: `FOR UPDATE`, in id order; SQLite runs one writer at a time)."""
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK.with_for_update(), {"ids": sorted(people)}).all()


def scopes_of(connection: sa.Connection, people: Collection[uuid.UUID]) -> set[str]:
    """The scopes a write to `people`'s own facts moves (see the module's docstring). Their records are locked
    again first: held since the write named them, this waits for nothing, unless a savepoint rolled back
    since then released the lock taken inside it.

    Their memberships are then locked against change (PostgreSQL: `FOR SHARE`) until this write commits: a
    membership moved to another group (its `group_id` changed) takes no share of their record's key, so it
    does not wait for their record's lock. Moved after the groups are read here and committed before this
    write, a reader in between would keep the new group without this write under that group's counter, which
    this write then does not move. Locked, the move waits for this write's commit and moves the new group
    after it; moved before, this waits for it, and reads the new group."""
    ids = sorted(people)
    lock(connection, ids)
    if connection.dialect.name == "postgresql":
        connection.execute(_MEMBERSHIPS, {"ids": ids}).all()
    scopes: set[str] = set()
    for group_id, member in connection.execute(_GROUPS, {"ids": ids}).all():
        scopes.add(facts.scope_of(group_id))
        if member:
            scopes.add(facts.members_scope_of(group_id))
    return scopes


facts_people.find_scopes_with(scopes_of, lock)
