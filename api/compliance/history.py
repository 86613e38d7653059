"""Compliance history: what was found for each group over time, the `since` of a finding, and the
organisation's trend.

Kept as rows written when a group's state changes (`ComplianceHistory`), not recomputed from the dated
facts: a group's settings (visibility, join approval, age range, shares images), the policy's thresholds and
staff flags change through PATCH and keep no dated history, so an evaluation "as of" last March would judge
last March's group by today's settings and rewrite its past. A row says what the service found at the time.
The compliance watch writes them (after each write to a group, and on its interval for every group); a
state holds from its row's day until the group's next row. `backfill.backfill` recomputes a past from the
dated facts where nothing was recorded (the demo, which has no settings history to lose).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from api import facts
from api.auth.reach import Reach
from api.compliance import grain
from api.compliance.engine import Evaluation, Finding, Precision
from api.compliance.models import ComplianceHistory, Status
from api.compliance.rules.base import Outcome
from api.compliance.vocabulary import Interval as Interval
from api.db import utcnow
from api.errors import NotFound, Unprocessable
from api.groups.models import Group

GROUP = sa.inspect(Group).local_table
H = ComplianceHistory
HT = sa.inspect(ComplianceHistory).local_table
BAD = (Outcome.fail, Outcome.warn)
MAX_POINTS = 120


State = tuple[Status, dict[str, str], list[str]]


def state_of(evaluation: Evaluation) -> State:
    """What a history row keeps of an evaluation: the status, each failing or warning rule's outcome, and
    which of those a waiver covers."""
    outcomes = {f.rule_id: f.outcome.value for f in evaluation.findings if f.outcome in BAD}
    waived = sorted(f.rule_id for f in evaluation.findings if f.waiver is not None and f.outcome in BAD)
    return evaluation.status, outcomes, waived


def _latest(session: Session, group_ids: list[uuid.UUID] | None, on: date) -> dict[uuid.UUID, H]:
    """Each group's row in force on `on` (its latest on or before it), in one statement."""
    last = sa.select(col(H.group_id), sa.func.max(col(H.day)).label("day")).where(col(H.day) <= on)
    if group_ids is not None:
        last = last.where(col(H.group_id).in_(group_ids))
    latest = last.group_by(col(H.group_id)).subquery()
    rows = session.exec(
        select(H).join(latest, sa.and_(col(H.group_id) == latest.c.group_id, col(H.day) == latest.c.day))
    ).all()
    return {r.group_id: r for r in rows}


def rows_for(
    evaluations: Mapping[uuid.UUID, Evaluation], day: date, held: Mapping[uuid.UUID, H]
) -> list[dict[str, Any]]:
    """The rows to write on `day`: one for each group whose state differs from the row `held` for it."""
    out = []
    for group_id, ev in evaluations.items():
        status, outcomes, waived = state_of(ev)
        old = held.get(group_id)
        if old is not None and (old.status, old.outcomes, old.waived) == (status, outcomes, waived):
            continue
        out.append(
            {
                "group_id": group_id,
                "day": day,
                "status": status,
                "outcomes": outcomes,
                "waived": waived,
                "recorded_at": utcnow(),
            }
        )
    return out


def write(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert the rows; a row for a group and day already written is replaced (the day's last word)."""
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(H).values(rows)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["group_id", "day"],
            set_={k: statement.excluded[k] for k in ("status", "outcomes", "waived", "recorded_at")},
        ).execution_options(**{facts.FACTS_SCOPES: facts.scopes_of(rows)})
    )


def record(
    session: Session, evaluations: Mapping[uuid.UUID, Evaluation], day: date, *, every: bool = False
) -> int:
    """Write a row for each evaluated group whose state on `day` differs from its last row (`every`: the
    evaluations cover every active group, so the latest rows are read for all). Two statements at most;
    the caller commits. Returns how many rows were written."""
    ids = None if every else sorted(evaluations)
    if ids is not None and not ids:
        return 0
    rows = rows_for(evaluations, day, _latest(session, ids, day))
    write(session, rows)
    return len(rows)


def _with_since(
    evaluation: Evaluation, rows: Sequence[tuple[date, dict[str, str]]], as_of: date, started_on: date | None
) -> Evaluation:
    """`rows`: the group's (day, outcomes), newest first, none after `as_of`; `started_on`: the group's
    first day (None: unknown, taken as older than any row)."""

    def since(f: Finding) -> Finding:
        found = as_of
        for day, outcomes in rows:
            if outcomes.get(f.rule_id) != f.outcome.value:
                return _dated(f, found)
            found = day
        # The run reaches the oldest row (or there is none): it began that day only if the group did.
        if started_on is not None and started_on >= found:
            return _dated(f, found)
        return replace(f, since=None, since_before_records=True)

    return replace(
        evaluation,
        findings=tuple(since(f) if f.outcome in BAD else f for f in evaluation.findings),
    )


def _dated(f: Finding, day: date) -> Finding:
    """`f` with `since` = `day`; by the month only when the finding turns on a young person the caller may
    not see (evidence redacted to no id): the day such a finding began could be their birthday (the day
    they passed the group's age range), which the caller must not be able to read off it."""
    if any(e.type == "participant" and e.id is None for e in f.evidence):
        return replace(f, since=day.replace(day=1), since_precision=Precision.month)
    return replace(f, since=day)


# Each group with its rows (none: a row of nulls), newest first. Built once and run on the session's
# connection: building it and going through the ORM's execution cost more than the statement itself on the
# first read after a write, the one read that cannot come from the cache.
_RUNS = (
    sa.select(GROUP.c.id, GROUP.c.started_on, HT.c.day, HT.c.outcomes)
    .select_from(GROUP.outerjoin(HT, sa.and_(HT.c.group_id == GROUP.c.id, HT.c.day <= sa.bindparam("as_of"))))
    .where(GROUP.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(GROUP.c.id, HT.c.day.desc())
)


def with_since_many(
    *, session: Session, as_of: date, evaluations: Mapping[uuid.UUID, Evaluation]
) -> dict[uuid.UUID, Evaluation]:
    """`dated` for many groups in one statement (none when nothing fails or warns)."""
    wanted = sorted(k for k, ev in evaluations.items() if any(f.outcome in BAD for f in ev.findings))
    if not wanted:
        return dict(evaluations)
    rows: dict[uuid.UUID, list[tuple[date, dict[str, str]]]] = defaultdict(list)
    started: dict[uuid.UUID, date] = {}
    for group_id, started_on, day, outcomes in (
        session.connection().execute(_RUNS, {"ids": wanted, "as_of": as_of}).all()
    ):
        started[group_id] = started_on
        if day is not None:
            rows[group_id].append((day, outcomes))
    return {
        k: _with_since(ev, rows.get(k, []), as_of, started.get(k)) if k in started else ev
        for k, ev in evaluations.items()
    }


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class HistoryPoint:
    on: date
    groups: dict[str, int]  # compliant, at_risk, non_compliant, and unrecorded (active, no row yet)
    failing_by_rule: dict[str, int]
    warning_by_rule: dict[str, int]
    waived_by_rule: dict[str, int]


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class OrganisationHistory:
    start: date
    end: date
    interval: Interval
    points: list[HistoryPoint]


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class GroupHistoryEntry:
    day: date
    status: Status
    failing: list[str]
    warning: list[str]
    waived: list[str]
    precision: Precision = Precision.day
    # Month precision only: rules that failed or warned earlier in the month but not at its end (`by_month`).
    earlier_in_month: tuple[str, ...] = ()


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class GroupHistory:
    group_id: uuid.UUID
    group_name: str
    start: date
    end: date
    entries: list[GroupHistoryEntry]  # the state on `start` (if recorded), then each change up to `end`


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def points(start: date, end: date, interval: Interval) -> list[date]:
    """`start`, then every week or calendar month after it up to `end` (a 31st steps to the month's last
    day), then `end` itself if the steps pass it by; 422 over MAX_POINTS or with `start` after `end`."""
    if start > end:
        raise Unprocessable.field("from", f"from ({start}) is after to ({end})")
    out: list[date] = []
    n = 0
    while True:
        day = start + timedelta(weeks=n) if interval is Interval.week else _add_months(start, n)
        if day > end:
            break
        out.append(day)
        n += 1
        if len(out) > MAX_POINTS:
            raise Unprocessable.field("from", f"more than {MAX_POINTS} points: narrow from..to or use months")
    if out[-1] != end:
        out.append(end)
    return out


def organisation_history(
    *, session: Session, reach: Reach, start: date, end: date, interval: Interval
) -> OrganisationHistory:
    """At each point, the groups in reach active that day counted by the status recorded for them then, and
    the failing, warning and waived findings counted per rule. One statement."""
    days = points(start, end, interval)
    rows = session.execute(
        sa.select(
            GROUP.c.id,
            GROUP.c.started_on,
            GROUP.c.archived_on,
            HT.c.day,
            HT.c.status,
            HT.c.outcomes,
            HT.c.waived,
        )
        .select_from(GROUP.outerjoin(HT, sa.and_(HT.c.group_id == GROUP.c.id, HT.c.day <= end)))
        .where(reach.groups(GROUP.c.id), GROUP.c.started_on <= end)
        .order_by(GROUP.c.id, HT.c.day)
    ).all()
    by_group: dict[uuid.UUID, list[Any]] = defaultdict(list)
    spans: dict[uuid.UUID, tuple[date, date | None]] = {}
    for r in rows:
        spans[r[0]] = (r[1], r[2])
        if r[3] is not None:
            by_group[r[0]].append(r[3:])
    out = []
    for on in days:
        groups = {s.value: 0 for s in Status} | {"unrecorded": 0}
        failing: dict[str, int] = defaultdict(int)
        warning: dict[str, int] = defaultdict(int)
        waived: dict[str, int] = defaultdict(int)
        for group_id, (started, archived) in spans.items():
            if started > on or (archived is not None and archived <= on):
                continue
            held = [r for r in by_group.get(group_id, ()) if r[0] <= on]
            if not held:
                groups["unrecorded"] += 1
                continue
            _, status, outcomes, waivers = held[-1]
            groups[Status(status).value] += 1
            for rule_id, outcome in outcomes.items():
                (failing if outcome == Outcome.fail.value else warning)[rule_id] += 1
            for rule_id in waivers:
                waived[rule_id] += 1
        out.append(
            HistoryPoint(
                on,
                groups,
                dict(sorted(failing.items())),
                dict(sorted(warning.items())),
                dict(sorted(waived.items())),
            )
        )
    return OrganisationHistory(start, end, interval, out)


def group_history(
    *, session: Session, reach: Reach, group_id: uuid.UUID, start: date, end: date
) -> GroupHistory:
    """The group's recorded states from `start` to `end` (404 out of reach)."""
    if start > end:
        raise Unprocessable.field("from", f"from ({start}) is after to ({end})")
    group = session.execute(
        sa.select(GROUP.c.id, GROUP.c.name).where(GROUP.c.id == group_id, reach.groups(GROUP.c.id))
    ).first()
    if group is None:
        raise NotFound(f"No group with id {group_id}")
    rows = session.exec(
        select(H).where(col(H.group_id) == group_id, col(H.day) <= end).order_by(col(H.day))
    ).all()
    first = [r for r in rows if r.day <= start][-1:]
    entries = [
        GroupHistoryEntry(
            r.day,
            r.status,
            sorted(k for k, v in r.outcomes.items() if v == Outcome.fail.value),
            sorted(k for k, v in r.outcomes.items() if v == Outcome.warn.value),
            list(r.waived),
        )
        for r in [*first, *(r for r in rows if r.day > start)]
    ]
    if grain.precision(reach) is Precision.month:
        entries = by_month(entries)
    return GroupHistory(group[0], group[1], start, end, entries)


def by_month(entries: Sequence[GroupHistoryEntry]) -> list[GroupHistoryEntry]:
    """For a caller who may not see every young person (`grain.precision` month): one entry a calendar month
    with a change, dated the month's first day with `precision` month. Its status and rules are the state
    after the month's last change (what holds from the month's end until the next entry), and
    `earlier_in_month` names each rule that failed or warned at some point in the month before that (the
    state carried in on its first day included) but no longer does at its end, so a failure that began and
    ended within the month is not lost. A day a rule began to fail could be a young person's birthday (the
    day they passed the group's age range), so no such caller is shown the day."""
    months: dict[tuple[int, int], list[GroupHistoryEntry]] = {}
    for e in entries:
        months.setdefault((e.day.year, e.day.month), []).append(e)
    out: list[GroupHistoryEntry] = []
    held: GroupHistoryEntry | None = None
    for (y, m), month in months.items():
        last = month[-1]
        before = [*month[:-1], *([held] if held is not None and month[0].day.day != 1 else [])]
        earlier = {r for e in before for r in (*e.failing, *e.warning)} - {*last.failing, *last.warning}
        out.append(
            replace(
                last,
                day=date(y, m, 1),
                precision=Precision.month,
                earlier_in_month=tuple(sorted(earlier)),
            )
        )
        held = last
    return out
