"""The forecast: what gets worse in the coming days if nobody does anything.

Every group rule is a pure function of dated facts and the evaluation date, so a group's findings can only
change on a day when some fact's date is reached: a membership or employment starting or ending, a consent
given, expiring or withdrawn, a review, roster, risk assessment or training running out, a waiver ending, a
participant's birthday taking them to an age a rule compares with. The facts are loaded once, exactly as for
one evaluation (the same statements, with the memberships of the whole window), then the group is
evaluated on today and on each of those days only, never day by day.

"Gets worse": a finding's outcome moves towards fail (pass or not applicable to warn or fail, warn to
fail), a failing or warning finding names a record it did not name the day before (another child past the
age range), or a waiver covering a failing or warning finding ends, so it counts against the status again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from api.auth.reach import Reach
from api.compliance import history, service
from api.compliance.engine import Evaluation, Finding, Status, WaiverFacts, evaluate
from api.compliance.models import ComplianceHistory
from api.compliance.rules import GROUP_RULES
from api.compliance.rules.base import Outcome
from api.compliance.snapshot import GroupSnapshot, StaffFacts, Thresholds
from api.errors import NotFound, Unprocessable

MAX_DAYS = 366
DEFAULT_DAYS = 90
_RANK = {Outcome.pass_: 0, Outcome.not_applicable: 0, Outcome.warn: 1, Outcome.fail: 2}


@dataclass(frozen=True, slots=True)
class ForecastChange:
    """One finding that is worse on a day than the day before: its outcome the day before, and the finding
    as it stands that day (message, records involved, remediation)."""

    before: Outcome
    finding: Finding


@dataclass(frozen=True, slots=True)
class ForecastDay:
    on: date
    status: Status  # the group's status from this day, if nothing is done
    changes: tuple[ForecastChange, ...]


@dataclass(frozen=True, slots=True)
class GroupForecast:
    group_id: uuid.UUID
    group_name: str
    platform: str
    status: Status  # today's
    next_change_on: date | None
    days: tuple[ForecastDay, ...]


@dataclass(frozen=True, slots=True)
class OrganisationForecast:
    as_of: date
    until: date
    groups: list[GroupForecast]


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DAYS:
        raise Unprocessable.field("days", f"days must be from 1 to {MAX_DAYS}, not {days}")
    return days


def birthday(date_of_birth: date, age: int) -> date:
    """The day a person born on `date_of_birth` reaches `age`, as `consents.logic.age_on` counts it (a 29
    February birthday is reached on 1 March in other years)."""
    year = date_of_birth.year + age
    try:
        return date_of_birth.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def _staff_dates(st: StaffFacts, thresholds: Thresholds) -> Iterable[date | None]:
    yield st.started_on
    # A declaration counts from the day it was made and goes stale the day after its validity.
    for d in st.declarations:
        yield d.declared_on
        yield d.declared_on + timedelta(days=thresholds.declaration_valid_days + 1)
    yield st.left_on
    yield st.code_of_conduct_signed_on
    trained = st.esafety_training_completed_on
    yield trained
    if trained is not None:
        yield trained + timedelta(days=thresholds.training_valid_days + 1)


def change_dates(s: GroupSnapshot, waivers: Mapping[str, WaiverFacts], start: date, end: date) -> list[date]:
    """Every day after `start`, up to and including `end`, on which a dated fact of the snapshot takes
    effect: the only days the group's findings can change. A rule that reads "older than N days" changes on
    day N + 1 after the fact (exactly N days still holds: `rules.base.stale`)."""
    t = s.thresholds
    g = s.group
    # The ages the group rules compare with: the group's range and the age to consent for oneself.
    ages = {a for a in (g.min_age, None if g.max_age is None else g.max_age + 1) if a is not None}
    ages.add(t.self_consent_min_age)
    review_after = timedelta(days=t.review_interval_days + 1)
    found: list[date | None] = [g.started_on, g.archived_on, g.started_on + review_after]
    for m in s.members:
        found += (m.started_on, m.ended_on)
        if m.staff is not None:
            found += _staff_dates(m.staff, t)
        p = m.participant
        if p is not None:
            found += (p.joined_on, p.left_on)
            found += (birthday(p.date_of_birth, age) for age in ages)
            for c in p.consents:
                found += (c.given_on, c.expires_on, c.withdrawn_on)
    found += (r.reviewed_on for r in s.reviews)
    found += (r.reviewed_on + review_after for r in s.reviews)
    found += (r.captured_on for r in s.rosters)
    found += (r.captured_on + review_after for r in s.rosters)
    risk_after = timedelta(days=t.risk_assessment_valid_days + 1)
    for a in s.risk_assessments:
        found += (a.assessed_on, a.assessed_on + risk_after)
        found += _staff_dates(a.assessor, t)
    for i in s.incidents:
        found += (i.reported_on, i.closed_on)
    for w in waivers.values():
        found += (w.granted_on, w.expires_on, w.revoked_on)
    return sorted({d for d in found if d is not None and start < d <= end})


def _evidence(f: Finding) -> set[tuple[str, uuid.UUID]]:
    return {(e.type, e.id) for e in f.evidence}


def worse(before: Finding | None, after: Finding) -> bool:
    """Whether `after` is worse than `before` (the same rule's finding the day before): see the module's
    docstring."""
    if before is None:
        return _RANK[after.outcome] > 0
    rank_before, rank_after = _RANK[before.outcome], _RANK[after.outcome]
    if rank_after != rank_before:
        return rank_after > rank_before
    if rank_after == 0:
        return False
    if after.counts_against_status and not before.counts_against_status:
        return True
    return not _evidence(after) <= _evidence(before)


def forecast_group(
    snapshot_on: Callable[[date], GroupSnapshot],
    waivers: Mapping[str, WaiverFacts],
    dates: Sequence[date],
    today: Evaluation,
) -> list[ForecastDay]:
    """The days among `dates` on which some finding is worse than the day before. `snapshot_on(day)` builds
    the group's snapshot on a day from facts loaded once; `today` is the group's evaluation on the first
    day."""
    out: list[ForecastDay] = []
    previous = {f.rule_id: f for f in today.findings}
    for day in dates:
        ev = evaluate(GROUP_RULES, snapshot_on(day), waivers)
        changes = tuple(
            ForecastChange(
                previous[f.rule_id].outcome if f.rule_id in previous else Outcome.not_applicable, f
            )
            for f in ev.findings
            if worse(previous.get(f.rule_id), f)
        )
        if changes:
            out.append(ForecastDay(day, ev.status, changes))
        previous = {f.rule_id: f for f in ev.findings}
    return out


def forecast(
    *, session: Session, reach: Reach, as_of: date, days: int, group_id: uuid.UUID | None = None
) -> OrganisationForecast:
    """Each group active today that the caller reaches (or the one group; 404 out of reach), with every day
    in the next `days` on which a finding gets worse. The same statements as one organisation evaluation,
    however many groups and days; participants redacted by reach as in today's reports."""
    until = as_of + timedelta(days=check_days(days))
    chosen = sa.and_(service._active_on(as_of), reach.groups(service.GROUP.c.id))
    if group_id is not None:
        chosen = sa.and_(chosen, service.GROUP.c.id == group_id)
    chosen_ids = sa.select(service.GROUP.c.id).where(chosen)
    groups, thresholds, loaded = service._load(
        session,
        sa.select(*service._GROUP_COLUMNS).where(chosen).order_by(service.GROUP.c.name, service.GROUP.c.id),
        service._queries(lambda column: column.in_(chosen_ids), window=True),
        {"as_of": as_of, "window_from": as_of, "window_to": until},
        as_of,
    )
    if group_id is not None and not groups:
        raise NotFound(f"No group with id {group_id}")

    results: list[tuple[Any, Evaluation, list[ForecastDay]]] = []
    for key, g in groups:
        waivers = loaded.waivers.get(key, {})

        def snapshot_on(day: date, key: Any = key, g: Any = g) -> GroupSnapshot:
            return service._snapshot(key, g, loaded, day, thresholds)

        first = snapshot_on(as_of)
        today = evaluate(GROUP_RULES, first, waivers)
        # Archived groups are not evaluated from their archive day on.
        end = until if g.archived_on is None else min(until, g.archived_on - timedelta(days=1))
        ahead = forecast_group(snapshot_on, waivers, change_dates(first, waivers, as_of, end), today)
        results.append((g, today, ahead))

    # Redacted together: one statement at most, however many groups.
    every = [c.finding for _, _, ahead in results for d in ahead for c in d.changes]
    redacted = iter(
        service._redact_for(session, reach, Evaluation(Status.compliant, {}, tuple(every))).findings
    )
    out = []
    for g, today, ahead in results:
        shown = tuple(
            ForecastDay(d.on, d.status, tuple(ForecastChange(c.before, next(redacted)) for c in d.changes))
            for d in ahead
        )
        out.append(
            GroupForecast(g.id, g.name, g.platform, today.status, shown[0].on if shown else None, shown)
        )
    return OrganisationForecast(as_of, until, out)


def backfill(*, session: Session, start: date, end: date) -> int:
    """Recompute the history of every group from `start` to `end` from the dated facts and record it: each
    group evaluated on the first day and on each day a fact changes (as the forecast does, backwards), a row
    written where its state changes. Today's group settings and thresholds stand for the past, so use it
    only where nothing was recorded (the demo); see `history`. One load, one insert; the caller commits.
    Returns how many rows it wrote."""
    g_ = service.GROUP.c
    chosen = sa.and_(g_.started_on <= end, sa.or_(g_.archived_on.is_(None), g_.archived_on > start))
    chosen_ids = sa.select(g_.id).where(chosen)
    groups, thresholds, loaded = service._load(
        session,
        sa.select(*service._GROUP_COLUMNS).where(chosen),
        service._queries(lambda column: column.in_(chosen_ids), window=True),
        {"as_of": end, "window_from": start, "window_to": end},
        end,
    )
    rows = []
    for key, g in groups:
        waivers = loaded.waivers.get(key, {})
        first = max(start, g.started_on)
        last = end if g.archived_on is None else min(end, g.archived_on - timedelta(days=1))
        held: dict[uuid.UUID, ComplianceHistory] = {}
        opening = service._snapshot(key, g, loaded, first, thresholds)
        for day in [first, *change_dates(opening, waivers, first, last)]:
            ev = evaluate(GROUP_RULES, service._snapshot(key, g, loaded, day, thresholds), waivers)
            for row in history.rows_for({g.id: ev}, day, held):
                rows.append(row)
                held[g.id] = ComplianceHistory(**row)
    history.write(session, rows)
    return len(rows)
