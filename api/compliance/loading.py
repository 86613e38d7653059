"""Compliance loading: the snapshots the rules read, from the statements of api/compliance/queries.py run
together and their rows decoded into frozen facts (no ORM objects, no lazy loads, no query per member or per
group). The organisation report runs the same statements once for every group at the same time, so its
cost in queries does not grow with the groups."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import Select
from sqlmodel import Session

from api import clock
from api.auth.reach import Reach, Record
from api.compliance import answered, fetch
from api.compliance.decoding import (
    PeopleChanged,
    _Days,
    _declarations_by_staff,
    _entry_facts,
    _groups,
    _Purposes,
    _staff_facts,
    members_from_people,
)
from api.compliance.engine import WaiverFacts
from api.compliance.policy_facts import (
    _POLICY_IN_FORCE,
    _THRESHOLDS,
    _default_thresholds,
    _policy_facts,
    _to_thresholds,
    keep_policy,
    policy_kept,
    policy_key,
)
from api.compliance.queries import (
    _ACTIVE,
    _EVERY_ACTIVE,
    _GROUP_COLUMNS,
    _ONE_GROUP,
    _ONE_GROUP_IN_REACH,
    _ONE_GROUP_MEMBERSHIPS,
    _ONE_GROUP_QUERIES,
    GROUP,
    _Queries,
)
from api.compliance.snapshot import (
    GroupFacts,
    GroupSnapshot,
    IncidentFacts,
    MemberFacts,
    ParticipantFacts,
    PolicyFacts,
    ReviewFacts,
    RiskAssessmentFacts,
    RosterEntryFacts,
    RosterFacts,
    StaffFacts,
    Thresholds,
)
from api.consents.logic import ConsentFact
from api.errors import NotFound


@dataclass
class _Loaded:
    # Keyed by the group's raw id (see `_plain`).
    members: dict[Any, list[MemberFacts]]
    reviews: dict[Any, list[ReviewFacts]]
    rosters: dict[Any, list[RosterFacts]]
    risks: dict[Any, list[RiskAssessmentFacts]]
    # The latest roster's entries, by the roster's raw id (one group's report only).
    roster_entries: dict[Any, list[RosterEntryFacts]]
    incidents: dict[Any, list[IncidentFacts]]
    waivers: dict[Any, dict[str, WaiverFacts]]
    policy: PolicyFacts | None = None
    # The rows of `_load`'s `extra` statements, as the driver returned them.
    extra: list[list[fetch.Row]] = field(default_factory=list)
    # The organisation report's load: its members before their staff (`answered.GroupPeople`), by group.
    people: dict[Any, answered.GroupPeople] | None = None


def _load(
    session: Session,
    groups_statement: Select[Any],
    q: _Queries,
    params: dict[str, Any],
    as_of: date,
    *,
    reuse: bool = False,
    policy_version: int | None = None,
    members_kept: tuple[MemberFacts, ...] | None = None,
    people: tuple[MemberFacts, ...] | None = None,
    extra: tuple[fetch.Statement, ...] = (),
    report_people: dict[Any, answered.GroupPeople] | None = None,
) -> tuple[list[tuple[Any, GroupFacts]], Thresholds, _Loaded]:
    """The groups `groups_statement` names, the policy thresholds and everything the group rules read about
    those groups: ten statements (the last two: the policy in force, staff declarations; eleven with a
    roster's entries), sent together (see `fetch`). With `policy_version`, the organisation's facts version
    read in this transaction before any of it, the thresholds and the policy in force come from
    `policy_facts.policy_kept` when kept under it: two statements fewer. With `members_kept` (one group's
    load only), those are its members and what is loaded about them alone (their consents and declarations)
    is not: three statements fewer, and the rows that grow with the group. With `people` instead (one
    group's members as loaded earlier under the same organisation's facts version), only its memberships
    are read and each member's own facts taken from `people`; `PeopleChanged` if someone is not there.
    `extra`: statements sent with the others, their rows kept undecoded (`_Loaded.extra`). With
    `report_people` (the organisation report's load, `q.staff` set: some groups' members as an earlier load
    found them, under counters that still stand), `q.members` and `q.consents` read the other groups' alone
    (`fetch.NOTHING`: none), and `_Loaded.people` holds them all."""
    conn = session.connection()
    rd = fetch.reader(conn)
    days = _Days(rd.day)
    params = params | {"as_of_end": clock.start_of(as_of + timedelta(days=1))}
    key = policy_key(conn, policy_version, as_of) if policy_version is not None else None
    kept = policy_kept(key) if key is not None else None
    policy_statements = (_THRESHOLDS, _POLICY_IN_FORCE) if kept is None else ()
    if members_kept is not None or people is not None:
        q = replace(q, consents=fetch.NOTHING, members=fetch.NOTHING, declarations=None)
    memberships = (_ONE_GROUP_MEMBERSHIPS,) if people is not None else ()
    statements = (groups_statement, q.consents, q.members, q.reviews, q.risks, q.incidents, q.waivers)
    added = (
        *([q.declarations] if q.declarations is not None else []),
        *([q.staff] if q.staff is not None else []),
        *([q.roster_entries] if q.roster_entries is not None else []),
    )
    (
        group_rows,
        consent_rows,
        member_rows,
        review_rows,
        risk_rows,
        incident_rows,
        waiver_rows,
        *more,
    ) = fetch.fetch_sent(
        conn,
        (*statements, *added, *policy_statements, *memberships, *extra),
        params,
        reuse,
        # The report's consents folded as soon as they are read: on PostgreSQL while the members are found.
        early={1: partial(answered.fold_answers, days=days)} if q.staff is not None else None,
    )
    extra_rows = more[len(more) - len(extra) :]
    del more[len(more) - len(extra) :]
    if people is not None:
        members_kept = members_from_people(more.pop(), people, rd)
        if members_kept is None:
            raise PeopleChanged()
    declaration_rows = more[0] if q.declarations is not None else None
    roster_entries: dict[Any, list[RosterEntryFacts]] = defaultdict(list)
    for r in more[len(added) - 1] if q.roster_entries is not None else ():
        roster_entries[r[0]].append(_entry_facts(r, rd))
    groups = _groups(group_rows, rd)
    if kept is not None:
        thresholds, policy = kept
    else:
        policy_rows, policy_in_force = more[len(added) :]
        if policy_rows:
            p = policy_rows[0]
            thresholds = _to_thresholds((*p[:5], rd.json(p[5]), p[6]))
        else:
            thresholds = _default_thresholds()
        policy = _policy_facts(policy_in_force, rd.day)
        if key is not None:
            keep_policy(key, (thresholds, policy))

    # The hot loops call the reader's converters directly (a None stays None through `x and day(x)`).
    day, to_uuid = rd.day, rd.uuid
    # The per-member and per-consent loops below are the floor's rows: each row becomes its tuple through
    # `tuple.__new__` (a NamedTuple's own constructor is a Python function: a call more per row), and each
    # day and purpose text is decoded once (`_Days`, `_Purposes`).
    new, purposes = tuple.__new__, _Purposes()
    declared = _declarations_by_staff(declaration_rows, rd.uuid, day) if declaration_rows is not None else {}
    consents: dict[Any, list[ConsentFact]] = {}
    members: dict[Any, list[MemberFacts]] = {}
    if q.staff is not None:  # the consents answered, the staff on their own (api/compliance/answered.py)
        staff_rows = more[1 if q.declarations is not None else 0]
        found = answered.people_of(member_rows, consent_rows, days)  # consent_rows: folded (`early`)
        report_people = found if report_people is None else {**report_people, **found}
        members = answered.with_staff(report_people, staff_rows, declared)
        consent_rows = member_rows = []
    for (
        participant_id,
        consent_id,
        kind,
        raw_purposes,
        by,
        given_on,
        expires_on,
        withdrawn_on,
    ) in consent_rows:
        fact = new(
            ConsentFact,
            (
                consent_id,
                kind,
                purposes[raw_purposes],
                by,
                days[given_on],
                days[expires_on],
                days[withdrawn_on],
            ),
        )
        held = consents.get(participant_id)
        if held is None:
            consents[participant_id] = [fact]
        else:
            held.append(fact)

    staff_cache: dict[Any, StaffFacts] = {}
    no_consents: tuple[ConsentFact, ...] = ()
    for r in member_rows:
        staff = participant = None
        if r[5] is not None:
            staff = staff_cache.get(r[5])
            if staff is None:
                staff = staff_cache[r[5]] = _staff_facts(r, 5, declared.get(r[5], ()))
        else:
            held = consents.get(r[1])
            # The id in SQLite's form on both databases (psycopg's text has hyphens), as the readers of
            # `raw_id` expect; str.replace returns SQLite's text itself.
            participant = new(
                ParticipantFacts,
                (
                    r[1].replace("-", ""),
                    r[15],
                    days[r[16]],
                    days[r[17]],
                    days[r[18]],
                    tuple(held) if held else no_consents,
                    None,
                ),
            )
        member = new(MemberFacts, (r[2], days[r[3]], days[r[4]], staff, participant))
        in_group = members.get(r[0])
        if in_group is None:
            members[r[0]] = [member]
        else:
            in_group.append(member)

    reviews: dict[Any, list[ReviewFacts]] = defaultdict(list)
    rosters: dict[Any, list[RosterFacts]] = defaultdict(list)
    raw_roster_ids: dict[uuid.UUID, Any] = {}
    for r in review_rows:  # in the order they were uploaded
        if r[4] is None:
            reviews[r[0]].append(ReviewFacts(to_uuid(r[1]), day(r[2]), to_uuid(r[3])))
        else:
            roster = RosterFacts(
                to_uuid(r[1]), day(r[2]), r[4], r[5], by_person=bool(r[6]), applied=bool(r[7])
            )
            raw_roster_ids[roster.id] = r[1]
            rosters[r[0]].append(roster)
    if q.roster_entries is not None:
        for group_rosters in rosters.values():
            # The latest as the entries' statement picks it: taken last, then uploaded last.
            latest = sorted(group_rosters, key=lambda f: f.captured_on)[-1]
            entries = tuple(roster_entries.get(raw_roster_ids[latest.id], ()))
            group_rosters[group_rosters.index(latest)] = replace(latest, entries=entries)

    risks: dict[Any, list[RiskAssessmentFacts]] = defaultdict(list)
    for r in risk_rows:
        risks[r[0]].append(
            RiskAssessmentFacts(
                to_uuid(r[1]), day(r[2]), _staff_facts(r, 5), bool(r[4]), bool(r[3]), rd.org_day(r[15])
            )
        )

    incidents: dict[Any, list[IncidentFacts]] = defaultdict(list)
    for r in incident_rows:
        # Timestamps are UTC; the day an incident was reported or closed is the organisation's calendar day.
        closed_on = rd.org_day(r[6]) if r[6] is not None else None
        incidents[r[0]].append(IncidentFacts(to_uuid(r[1]), r[2], r[3], r[4], rd.org_day(r[5]), closed_on))

    waivers: dict[Any, dict[str, WaiverFacts]] = defaultdict(dict)
    for r in waiver_rows:
        revoked_on = rd.org_day(r[6]) if r[6] is not None else None
        w = WaiverFacts(to_uuid(r[1]), to_uuid(r[0]), r[2], r[3], rd.org_day(r[4]), day(r[5]), revoked_on)
        # Several waivers of one rule may exist over time: the one in force on as_of is the one that matters.
        held_waiver = waivers[r[0]].get(r[2])
        if held_waiver is None or not held_waiver.in_force_on(as_of):
            waivers[r[0]][r[2]] = w
    if members_kept is not None and groups:
        members = {groups[0][0]: list(members_kept)}
    loaded = _Loaded(members, reviews, rosters, risks, roster_entries, incidents, waivers, policy, extra_rows)
    loaded.people = report_people
    return groups, thresholds, loaded


def _snapshot(
    key: Any, group: GroupFacts, loaded: _Loaded, as_of: date, thresholds: Thresholds
) -> GroupSnapshot:
    return GroupSnapshot(
        as_of=as_of,
        thresholds=thresholds,
        group=group,
        members=tuple(loaded.members.get(key, ())),
        reviews=tuple(loaded.reviews.get(key, ())),
        rosters=tuple(loaded.rosters.get(key, ())),
        risk_assessments=tuple(loaded.risks.get(key, ())),
        incidents=tuple(loaded.incidents.get(key, ())),
        policy=loaded.policy,
    )


def load_group_with(
    *,
    session: Session,
    group_id: uuid.UUID,
    as_of: date,
    reach: Reach | None = None,
    policy_version: int | None = None,
    members: tuple[MemberFacts, ...] | None = None,
    people: tuple[MemberFacts, ...] | None = None,
    extra: tuple[fetch.Statement, ...] = (),
) -> tuple[GroupSnapshot, dict[str, WaiverFacts], list[list[fetch.Row]]]:
    """One group's snapshot and its waivers, in ten statements whatever its size (two fewer with the policy
    kept under `policy_version`, three fewer with its `members` kept, see `_load`); 404 out of reach
    (`reach` None: the system itself, which reaches every group). `members`: as an earlier load of the group
    on this `as_of` and day found them, under facts versions that still stand (api/compliance/cache.py);
    `people`: as found under an earlier members' version, the organisation's still standing (see `_load`;
    a load without them when someone is missing); `extra`: more statements on the group (`group_id`,
    `as_of`), sent with the others: their rows as the driver returned them, third."""
    params: dict[str, Any] = {"group_id": group_id, "as_of": as_of}
    own_groups = reach.own_groups_params() if reach is not None else None
    if own_groups is not None:
        statement, params = _ONE_GROUP_IN_REACH, params | own_groups
    elif reach is None or reach.reads_every(Record.group):
        statement = _ONE_GROUP
    else:
        statement = _ONE_GROUP.where(reach.groups(GROUP.c.id))
    load = partial(_load, session, statement, _ONE_GROUP_QUERIES, params, as_of, reuse=True, extra=extra)
    try:
        kept = {"members_kept": members} if members is not None else {"people": people}
        groups, thresholds, loaded = load(policy_version=policy_version, **kept)
    except PeopleChanged:
        groups, thresholds, loaded = load(policy_version=policy_version)
    if not groups:
        raise NotFound(f"No group with id {group_id}")
    key, group = groups[0]
    return _snapshot(key, group, loaded, as_of, thresholds), dict(loaded.waivers.get(key, {})), loaded.extra


def load_group(
    *, session: Session, group_id: uuid.UUID, as_of: date, reach: Reach | None = None
) -> tuple[GroupSnapshot, dict[str, WaiverFacts]]:
    """`load_group_with` without anything kept or extra: one group's snapshot and its waivers."""
    snapshot, waivers, _ = load_group_with(session=session, group_id=group_id, as_of=as_of, reach=reach)
    return snapshot, waivers


def load_active(
    *,
    session: Session,
    reach: Reach,
    as_of: date,
    platform: str | None = None,
    people: dict[Any, answered.GroupPeople] | None = None,
    missing: Sequence[uuid.UUID] = (),
) -> tuple[list[tuple[Any, GroupFacts]], Thresholds, _Loaded]:
    """Every group active on `as_of` that `reach` reaches (of `platform` if given), by name, with the
    thresholds and everything the group rules read about them for their verdicts, as `_load` loads it with
    `answered.answered_queries` (the consents answered, the staff apart: eleven statements): the
    organisation report's load, for `engine.verdicts` only. A caller who reaches every group, with no
    platform asked, gets statements built once; with `people` (what `_Loaded.people` held for an earlier
    such load, its groups' counters still standing: api/compliance/org_people.py), the memberships and
    consents of the groups of `missing` alone are read (of none when empty). `people` and `missing` are for
    that load only (ValueError for any other)."""
    if platform is None and reach.reads_every(Record.group):
        q, params = answered.EVERY_ACTIVE, {"as_of": as_of}
        if people is not None and missing:
            width, ids = answered.bound(missing)
            of_missing = answered.of_bound_groups(width)[1]
            q, params = replace(q, members=of_missing.members, consents=of_missing.consents), params | ids
        elif people is not None:
            q = replace(q, members=fetch.NOTHING, consents=fetch.NOTHING)
        return _load(session, _EVERY_ACTIVE, q, params, as_of, reuse=True, report_people=people)
    if people is not None or missing:
        raise ValueError("members kept are of every active group's load only")
    active = sa.and_(_ACTIVE, reach.groups(GROUP.c.id))
    if platform is not None:
        active = sa.and_(active, GROUP.c.platform == platform)
    active_ids = sa.select(GROUP.c.id).where(active)
    return _load(
        session,
        sa.select(*_GROUP_COLUMNS).where(active).order_by(GROUP.c.name, GROUP.c.id),
        answered.answered_queries(lambda column: column.in_(active_ids)),
        {"as_of": as_of},
        as_of,
    )
