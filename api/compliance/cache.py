"""The compliance cache: a group's answer, kept per group and day, served while nothing it was computed from
has changed.

What is cached, in each process (a bounded LRU, `COMPLIANCE_CACHE_ENTRIES` entries a kind; 0 turns it off):
- the group's evaluation (`service.GroupEvaluated`: loaded, evaluated, cited, before any caller's
  redaction), keyed by group, `as_of` and the organisation's day it was computed on;
- the answer's bytes, keyed as well by everything about the caller that changes them, for callers whose
  redaction reads nothing from the database: the coordinator (every young person) and those who read no
  young person (trustees). The key holds which roster contents, whose declarations and which young people
  they see, and the day's precision (`grain.precision`: trustees get month-snapped answers). A member of
  staff, who sees some young people, gets the cached evaluation redacted afresh (that redaction depends on
  their own memberships, in other groups too).
- on a miss, the policy the evaluation reads (thresholds, the version in force on `as_of`), by the
  organisation's facts version and `as_of` (`policy_facts.policy_kept`): a write to one group reloads that
  group's facts only;
- on a miss, what is loaded about the group's members alone (each member's details, a young person's consents,
  a member of staff's declarations: `service.GroupEvaluated.members`), by group, `as_of` and day, under the
  group's members counter and the organisation's: a write to the group's own row, reviews, rosters, risk
  assessments, incidents or waivers re-evaluates the group over the members kept, and only a write to its
  memberships, to one of its young people's own facts (api/compliance/people.py), or organisation-wide reloads
  them; after a write to its memberships alone, with the organisation's counter and the young people's
  (`facts_people.PEOPLE`, which every write to any young person's own facts moves) unchanged, only who is a
  member (as what, since when) is read again and each person's own facts are taken from the members kept
  before (`_people`), unless someone is new to them, when everyone is loaded afresh. The statements that load
  them read memberships, staff, participants, consents and declarations only; tests/test_compliance_cache.py
  checks, for a write to every table, that the members are reloaded unless the write is to one of the group's
  own tables, and that the answer is the fresh one;
- for the organisation report (api/compliance/org_cache.py, whose docstring says more), each group's line
  (its verdicts: status, counts, failing, warning and waived rules) by group, `as_of` and day under the
  group's counter and the organisation's, as its evaluation here; and the organisation's own findings under
  the organisation's counter and every group's. Those counters are read in one statement, first, by
  `read_groups` (`GroupsVersions`), as `look_up` reads one group's; and what its load of every group read
  about their members (memberships, young people, consents), each group's under its counter and
  `facts.UNPLACED`, not the organisation's (api/compliance/org_people.py);
- for the forecast (api/compliance/forecast_cache.py, whose docstring says more), each group's forecast before
  any caller's part (today's status, its young people over the window, every day ahead a finding gets worse,
  by the day: before coarsening and redaction) by group, `as_of`, day and the window's end, under the group's
  counter and the organisation's, as the organisation report's lines (at most `forecast_cache.TABLES` tables,
  each every group's forecast over a window); and the policy versions coming into force in the window under
  the organisation's counter, for as many windows. The groups in the caller's reach, the months and the
  redaction are decided afresh on every request.

Why it can never be stale. Each entry is stored with the facts versions (api/facts.py) it was computed
under, the group's and the organisation's (the members' and the organisation's, for the members kept), and
served only while they still stand:
- every write through a session that touches a table compliance reads moves the group's counter (its
  memberships, which move its members' counter too, reviews, risk assessments, rosters, incidents, waivers,
  history, the group itself; a group named by hand moves the organisation's too), the counters of every group
  a young person is in or a roster names, for a write to their own facts (their record, consents, identities:
  `PERSON_TABLES`; api/compliance/people.py lists every answer's reads of them) or the organisation's (staff,
  declarations, controls, technologies, accounts, policy settings and versions, roster entries, and any table
  nobody has classified), in the write's own transaction, so the new facts and the new counter commit
  together; `tables` below is that list, and tests/test_compliance_cache.py checks that it covers every table
  and that each write's answer is the fresh one;
- the counters are read first, in the same transaction as the facts, so an entry's facts are at least as
  new as the counters it is filed under (a write racing the read can only make the entry newer than its
  key, never older), and the counters live in the database, so every worker and replica sees each write;
- the key holds the organisation's day, so midnight makes every entry a miss without any write (facts that
  turn on the date: ages, expiries, reviews falling due, the policy in force);
- a session with writes of its own not yet committed neither reads nor fills the cache (`facts.pending`).
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

import orjson
from sqlmodel import Session

from api import clock, facts, facts_people
from api.auth.reach import Reach, Record
from api.compliance import fetch, grain, people, policy_facts, service
from api.compliance.rules.base import forget_participant_refs
from api.config import get_settings

# How writes to each table move the facts versions (api/facts.py). Tables whose rows belong to one group:
GROUP_TABLES = {
    "online_group": "id",
    "membership": "group_id",
    "group_review": "group_id",
    "risk_assessment": "group_id",
    "group_roster": "group_id",
    "incident": "group_id",  # an incident on no group moves the organisation's counter
    "compliance_waiver": "group_id",
    "compliance_history": "group_id",  # `since` is read from it
}
# Tables no compliance answer reads (tests/test_compliance_cache.py checks that no evaluation's statement
# names one): writes to them move nothing, so signing in, rate limits and the audit trail keep the cache.
UNREAD_TABLES = frozenset(
    {
        "api_key",
        "api_key_rate_window",
        "user_rate_window",
        "login_throttle",
        "audit_event",
        "idempotency_key",
        "webhook_endpoint",
        "webhook_delivery",
        "webhook_attempt",
        "group_compliance_state",
        "compliance_watch_run",
        "incident_correction",
        "incident_entry",
        "incident_notification",
        "incident_participant",
        "incident_referral",
        "incident_staff",
        "incident_transition",
        "incident_view",
    }
)
# Columns whose change alone changes no answer: a sign-in's stamp, a password.
IGNORED_COLUMNS = {"user_account": ("last_login_at", "password_hash", "updated_at", "version")}
# A record's bookkeeping, which no compliance statement reads: `crud` claims a record's version with a Core
# UPDATE of `version` alone, before the change itself is flushed (and moves the counters by its table's
# rule). On a group's table that UPDATE names no group the hook can read, so unless ignored it moved the
# organisation's counter: every change made through the API to a group's row, a membership, a waiver or an
# incident dropped every group's answers and members kept.
BOOKKEEPING_COLUMNS = ("updated_at", "version")

# Of those, the tables of the group's members: all that is loaded about the members alone (their details,
# consents and declarations) is kept under the group's members counter, which only these move.
MEMBER_TABLES = frozenset({"membership"})

# Tables of a young person's own facts (api/compliance/people.py, whose docstring holds how every answer
# reads them): a write moves the groups they are in or a roster names, not the organisation's counter.
PERSON_TABLES = people.PERSON_TABLES

for _table, _column in GROUP_TABLES.items():
    facts.declare(_table, group_column=_column, members=_table in MEMBER_TABLES, ignored=BOOKKEEPING_COLUMNS)
for _table, _column in PERSON_TABLES.items():
    facts.declare(_table, person_column=_column, ignored=BOOKKEEPING_COLUMNS)
for _table in UNREAD_TABLES:
    facts.declare(_table, unread=True)
for _table, _columns in IGNORED_COLUMNS.items():
    facts.declare(_table, ignored=_columns)

_off: ContextVar[bool] = ContextVar("compliance_cache_off", default=False)


@contextmanager
def disabled() -> Iterator[None]:
    """Evaluate afresh in this block, reading and filling nothing (the tests' reference answer)."""
    token = _off.set(True)
    try:
        yield
    finally:
        _off.reset(token)


class Lru:
    """A bounded map of key -> (versions, value), least recently used out first; safe across threads. Every
    one made is emptied by `clear_groups` (api/compliance/org_cache.py's too). `most`: fewer entries than
    `COMPLIANCE_CACHE_ENTRIES`, for a kind whose entries are large (a forecast's table of every group)."""

    def __init__(self, most: int | None = None) -> None:
        self._most = most
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()
        _made.append(self)

    def get(self, key: Hashable, versions: Hashable) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != versions:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def peek(self, key: Hashable) -> tuple[Any, Any] | None:
        """The entry under `key` whatever its versions, as (versions, value), for what of it still holds."""
        with self._lock:
            return self._entries.get(key)

    def entries(self) -> list[tuple[Hashable, Hashable, Any]]:
        """Every entry as (key, versions, value), most recently used last: for a kind found by more than its
        key (api/compliance/org_people.py)."""
        with self._lock:
            return [(key, found[0], found[1]) for key, found in self._entries.items()]

    def put(self, key: Hashable, versions: Hashable, value: Any) -> None:
        limit = get_settings().compliance_cache_entries
        if self._most is not None:
            limit = min(limit, self._most)
        with self._lock:
            self._entries[key] = (versions, value)
            self._entries.move_to_end(key)
            while len(self._entries) > limit:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_made: list[Lru] = []
_evaluations = Lru()
_answers = Lru()
_members = Lru()


def clear() -> None:
    """Forget every entry, the kept policies and participants' evidence too (nothing needs it for correctness:
    the versions decide)."""
    clear_groups()
    policy_facts.forget_policies()
    forget_participant_refs()


def clear_groups() -> None:
    """Forget every group's entries, as a write to each group's memberships would (bench/evaluation.py's
    first read), the organisation report's too."""
    for kept in _made:
        kept.clear()


def used(session: Session) -> bool:
    """Whether this read may use the cache: not turned off (`disabled`, no entries), and no writes of the
    session's own pending (`facts.pending`)."""
    return not _off.get() and get_settings().compliance_cache_entries > 0 and not facts.pending(session)


def _caller_key(reach: Reach) -> Hashable | None:
    """What about the caller changes the answer's bytes, when their redaction reads nothing from the
    database (`redaction.redact_for`); None when it does (a caller who sees some young people)."""
    if reach.reads(Record.participant) and not reach.reads_every(Record.participant):
        return None
    staff_id = reach.caller.staff_id
    declarations = (
        "every"
        if reach.reads_every(Record.declaration)
        else str(staff_id)
        if reach.reads_declaration_answers(staff_id)
        else "none"
    )
    rosters = reach.reads(Record.roster) and not reach.reads_counts_only(Record.roster)
    return (rosters, declarations, reach.reads(Record.participant), grain.precision(reach))


def _in_reach(session: Session, reach: Reach, group_id: uuid.UUID) -> bool:
    # An entry exists only for a group that exists (records end, they are not deleted): what is left to
    # check is this caller's reach, as `loading.load_group` does on a miss.
    return reach.reads_every(Record.group) or reach.holds(session, reach.groups, group_id)


def _versions(session: Session, group_id: uuid.UUID) -> tuple[facts.Versions, int]:
    """`facts.read` on the driver's own cursor (`fetch.fetch_all`, its compiled form kept): every read runs
    it, hit or miss, and SQLAlchemy's execution around one small statement was a noticeable part of a hit.
    With the young people's counter (`facts_people.PEOPLE`), which only `_people` reads."""
    (rows,) = fetch.fetch_all(session.connection(), (facts.READ,), facts.params_of(group_id), reuse=True)
    return facts.versions_of(rows, group_id), facts_people.people_of(rows)


@dataclass(frozen=True, slots=True)
class GroupsVersions:
    """Every group's counter and the organisation's, as `read_groups` read them: what an answer about many
    groups stands on (api/compliance/org_cache.py, api/compliance/forecast_cache.py)."""

    # Each scope's (scope, version) in scope order, the organisation's among them, no members' scope: the
    # key of what reads every group (the organisation's own findings). Equal for the same counters.
    every: tuple[tuple[str, int], ...]
    org: int
    _groups: Mapping[str, int] = field(repr=False, compare=False)

    def of(self, group_id: uuid.UUID) -> tuple[int, int]:
        """What one group's entry is kept under: its counter (0 for a group never written, which its first
        write moves) and the organisation's."""
        return self._groups.get(facts.scope_of(group_id), 0), self.org


def read_groups(session: Session) -> GroupsVersions:
    """Every group's counter and the organisation's, in one statement (`facts.READ_GROUPS`, on the driver's
    own cursor). Run it first in the request's transaction, before any fact they vouch for: whatever is
    computed after is then at least as new as the counters it is filed under."""
    (rows,) = fetch.fetch_all(session.connection(), (facts.READ_GROUPS,), {}, reuse=True)
    every = tuple((str(scope), int(version)) for scope, version in rows)
    found = dict(every)
    return GroupsVersions(every, found.get(facts.ORG, 0), MappingProxyType(found))


def _people(key: tuple[uuid.UUID, date, date], org: int, people_version: int) -> tuple[Any, ...] | None:
    """The group's members kept under an earlier members' version, while the organisation's version and the
    young people's they were loaded under stand: each person's own facts (details, consents, declarations)
    read only tables of staff (under the organisation's counter) and young people's own (under the young
    people's: a write to them moves it, and the members' counter of their groups, which is how this is
    reached), so they still hold; who is a member, as what and since when is read again."""
    found = _members.peek(key)
    if found is None or found[0][1] != org or found[1][0] != people_version:
        return None
    kept: tuple[Any, ...] = found[1][1]
    return kept


@dataclass(frozen=True, slots=True)
class Looked:
    """What `look_up` found: the facts versions (read first in the request's transaction), the entry's key,
    the caller's (`_caller_key`), and the answer's bytes when kept for this caller and in their reach."""

    versions: facts.Versions
    key: tuple[uuid.UUID, date, date]
    caller: Hashable | None
    body: bytes | None
    people: int = 0  # the young people's counter, read with `versions`


def look_up(*, session: Session, reach: Reach, group_id: uuid.UUID, as_of: date) -> Looked | None:
    """The part of `group_report_json` that evaluates nothing: one statement (the facts versions) and the
    reach check, so that a route may run it where a hand-off to the thread pool would cost more than it
    (`db.reads_on_loop`). None where the cache is not used (turned off, or writes of the session's own)."""
    if not used(session):
        return None
    versions, people_version = _versions(session, group_id)  # first: the facts read after it are as new
    key = (group_id, as_of, clock.today())
    caller = _caller_key(reach)
    body: bytes | None = None
    if caller is not None:
        body = _answers.get((key, caller), versions)
        if body is not None and not _in_reach(session, reach, group_id):
            body = None
    return Looked(versions, key, caller, body, people_version)


def group_report_json(
    *, session: Session, reach: Reach, group_id: uuid.UUID, as_of: date, looked: Looked | None = None
) -> bytes:
    """`service.group_report` as JSON bytes, from the cache while the group's facts stand (see the module's
    docstring); byte for byte what a fresh evaluation answers. 404 out of reach, as for an unknown id.
    `looked`: `look_up`'s answer for this very request, in this session's transaction, already made."""
    found = (
        looked
        if looked is not None
        else look_up(session=session, reach=reach, group_id=group_id, as_of=as_of)
    )
    if found is None:
        return orjson.dumps(
            service.group_report(session=session, reach=reach, group_id=group_id, as_of=as_of)
        )
    if found.body is not None:
        return found.body
    evaluated = _evaluated(session, reach, group_id, as_of, found)
    body = orjson.dumps(service.group_answer(session=session, reach=reach, evaluated=evaluated, as_of=as_of))
    if found.caller is not None:
        _answers.put((found.key, found.caller), found.versions, body)
    return body


def group_report(*, session: Session, reach: Reach, group_id: uuid.UUID, as_of: date) -> service.GroupReport:
    """`service.group_report`, its evaluation from the cache while the group's facts stand (the answer's
    bytes are `group_report_json`'s alone): for the pages and files built from the report. 404 out of reach,
    as for an unknown id."""
    found = look_up(session=session, reach=reach, group_id=group_id, as_of=as_of)
    if found is None:
        return service.group_report(session=session, reach=reach, group_id=group_id, as_of=as_of)
    evaluated = _evaluated(session, reach, group_id, as_of, found)
    return service.group_answer(session=session, reach=reach, evaluated=evaluated, as_of=as_of)


def _evaluated(
    session: Session, reach: Reach, group_id: uuid.UUID, as_of: date, found: Looked
) -> service.GroupEvaluated:
    """The group's evaluation kept under `found`'s versions, else loaded (over its members kept, where they
    stand) and kept; 404 out of reach."""
    versions, key = found.versions, found.key
    evaluated: service.GroupEvaluated | None = _evaluations.get(key, versions)
    if evaluated is None or not _in_reach(session, reach, group_id):
        # What is loaded about the members alone reads only their memberships, staff tables (under the
        # organisation's counter) and young people's own (moving the members' counter of their groups).
        members_versions = (versions.members, versions.org)
        # Kept with the young people's counter they were loaded under, for `_people`.
        kept: tuple[int, Any] | None = _members.get(key, members_versions)
        evaluated = service.group_evaluated(
            session=session,
            reach=reach,
            group_id=group_id,
            as_of=as_of,
            policy_version=versions.org,
            members=None if kept is None else kept[1],
            people=_people(key, versions.org, found.people) if kept is None else None,
        )
        _evaluations.put(key, versions, evaluated)
        if kept is None:
            _members.put(key, members_versions, (found.people, evaluated.members))
    return evaluated
