"""The forecast: what gets worse in the coming days if nobody does anything.

Every group rule is a pure function of dated facts and the evaluation date, so a group's findings can only
change on a day when some fact's date is reached: a membership or employment starting or ending, a consent
given, expiring or withdrawn, a review, roster, risk assessment or training running out, a waiver ending, a
participant's birthday taking them to an age a rule compares with. The facts are loaded once, exactly as for
one evaluation (the same statements, with the memberships of the whole window), then the group is
evaluated on today and on each of those days only, never day by day.

A day that is the birthday of a young person the caller may not see (a trustee; staff outside that child's
groups) would give that child's date of birth away, named or not. So for a caller who may not see every young
person in a group, every day of that group's forecast is shown only by its calendar month (`precision`
"month"), and neither a later day nor a count of days back ("91 days ago") is left in the findings' words:
folding only the months that hold such a birthday would single them out. See `coarsen`.

"Gets worse": a finding's outcome moves towards fail (pass or not applicable to warn or fail, warn to
fail), a failing or warning finding names a record it did not name the day before (another child past the
age range), or a waiver covering a failing or warning finding ends, so it counts against the status again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api.auth.reach import Reach, Record
from api.compliance import grain, loading, policy_facts, queries, redaction
from api.compliance.engine import Evaluation, Finding, Precision, WaiverFacts, cite, evaluate
from api.compliance.models import Status
from api.compliance.rules import GROUP_RULES
from api.compliance.rules.base import Evidence, Outcome
from api.compliance.snapshot import GroupFacts, GroupSnapshot, PolicyFacts, StaffFacts, Thresholds
from api.errors import NotFound, Unprocessable
from api.participants.models import Participant

MAX_DAYS = 366
DEFAULT_DAYS = 90
_RANK = {Outcome.pass_: 0, Outcome.not_applicable: 0, Outcome.warn: 1, Outcome.fail: 2}


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class ForecastChange:
    """One finding that is worse on a day than the day before: its outcome the day before, and the finding
    as it stands that day (message, records involved, remediation)."""

    before: Outcome
    finding: Finding


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class ForecastDay:
    on: date
    status: Status  # the group's status from this day (a month's: from its last change), if nothing is done
    changes: tuple[ForecastChange, ...]
    precision: Precision = Precision.day

    def label(self) -> str:
        """`on` as a reader should see it: the day, or the month ("December 2026")."""
        return month_label(self.on) if self.precision is Precision.month else self.on.isoformat()


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class GroupForecast:
    group_id: uuid.UUID
    group_name: str
    platform: str
    status: Status  # today's
    next_change_on: date | None  # the first day's `on`, as precise as it is
    days: tuple[ForecastDay, ...]
    next_change_precision: Precision | None = None


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
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


def _evidence(f: Finding) -> set[tuple[str, uuid.UUID | None]]:
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
        snapshot = snapshot_on(day)
        ev = cite(evaluate(GROUP_RULES, snapshot, waivers), snapshot.policy)
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


def month_label(day: date) -> str:
    return day.strftime("%B %Y")


def _reachable_children(session: Session, reach: Reach) -> frozenset[uuid.UUID] | None:
    """The young people the caller may see today (None: every one), as `redaction.redact_for` judges it;
    one statement only for a caller who reaches some but not all (staff: their groups')."""
    if reach.reads_every(Record.participant):
        return None
    if not reach.reads(Record.participant):
        return frozenset()
    return frozenset(
        session.exec(select(col(Participant.id)).where(reach.participants(Participant.id))).all()
    )


def sees_everyone(children: frozenset[uuid.UUID], seen: frozenset[uuid.UUID] | None) -> bool:
    """Whether a caller who may see the young people `seen` (None: every one) sees every one of `children`
    (a group's young people over the window: `GroupAhead.children`)."""
    return seen is None or children <= seen


# A day written out, and a count of days back from the day judged ("91 days ago", "400 days old"): either
# would let a reader work the folded day out from a date they can see.
_ISO_DAY = re.compile(r"( on )?\b(\d{4})-(\d{2})-(\d{2})\b", re.ASCII)
_RELATIVE = (
    (re.compile(r" \(\d+ days? ago\)", re.ASCII), ""),
    (re.compile(r", \d+ days? ago", re.ASCII), ""),
    (re.compile(r" \d+ days? ago", re.ASCII), " earlier"),
    (re.compile(r"\bis \d+ days? old", re.ASCII), "is too old"),
    (re.compile(r"\b\d+ days? old", re.ASCII), "too old"),
)


def _blur(text: str | None, after: date) -> str | None:
    """`text` with each day after `after` written as its month ("on 2026-12-14" as "in December 2026") and
    every count of days back from the day judged taken out."""
    if text is None:
        return None

    def month(m: re.Match[str]) -> str:
        try:
            on = date(int(m[2]), int(m[3]), int(m[4]))
        except ValueError:
            return m[0]
        if on <= after:
            return m[0]
        return f"{' in ' if m[1] else ''}{month_label(on)}"

    text = _ISO_DAY.sub(month, text)
    for pattern, replacement in _RELATIVE:
        text = pattern.sub(replacement, text)
    return text


def _blurred(f: Finding, after: date) -> Finding:
    return replace(
        f,
        message=_blur(f.message, after) or "",
        evidence=tuple(
            Evidence(e.type, e.id, _blur(e.label, after) or "", _blur(e.detail, after)) for e in f.evidence
        ),
    )


def coarsen(days: Sequence[ForecastDay], as_of: date) -> list[ForecastDay]:
    """`days` with each calendar month folded into one day with `precision` "month": `on` the month's first
    day, the status after its last change, each rule's change from its outcome before the month's first
    change to its finding at the last, and no day after `as_of`, nor any count of days back from the day
    judged, in the findings' words. Every month goes, not only one holding a hidden child's birthday: a
    month folded alone, or the order and status of a month's days, would single the birthday out."""
    out: list[ForecastDay] = []
    by_month: dict[tuple[int, int], list[ForecastDay]] = {}
    for d in days:
        by_month.setdefault((d.on.year, d.on.month), []).append(d)
    for key, folded in by_month.items():
        merged: dict[str, ForecastChange] = {}
        for fd in folded:
            for c in fd.changes:
                first = merged.get(c.finding.rule_id)
                before = c.before if first is None else first.before
                merged[c.finding.rule_id] = ForecastChange(before, _blurred(c.finding, as_of))
        out.append(ForecastDay(date(*key, 1), folded[-1].status, tuple(merged.values()), Precision.month))
    return out


@dataclass(frozen=True, slots=True)
class GroupAhead:
    """A group's forecast before any caller's part (coarsening, redaction): the same for every caller, so
    api/compliance/forecast_cache.py keeps it. `children`: the young people in its memberships over the
    window; `days`: every day a finding gets worse, by the day."""

    group: GroupFacts
    status: Status  # today's
    children: frozenset[uuid.UUID]
    days: tuple[ForecastDay, ...]


def group_aheads(
    groups: Sequence[tuple[Any, GroupFacts]],
    thresholds: Thresholds,
    loaded: loading._Loaded,
    ahead_policies: Sequence[tuple[date, PolicyFacts]],
    as_of: date,
    until: date,
) -> list[GroupAhead]:
    """Each loaded group's `GroupAhead` from `as_of` to `until`, in the load's order. `ahead_policies`:
    `policy_facts.policies_ahead` over the window, from today's policy (`loaded.policy`)."""
    out = []
    for key, g in groups:
        waivers = loaded.waivers.get(key, {})

        def snapshot_on(day: date, key: Any = key, g: GroupFacts = g) -> GroupSnapshot:
            snapshot = loading._snapshot(key, g, loaded, day, thresholds)
            return replace(snapshot, policy=policy_facts.policy_for(day, loaded.policy, ahead_policies))

        first = snapshot_on(as_of)
        today = evaluate(GROUP_RULES, first, waivers)
        # Archived groups are not evaluated from their archive day on.
        end = until if g.archived_on is None else min(until, g.archived_on - timedelta(days=1))
        # A version coming into force is a change date too: rules may stop or start, declarations fall due.
        dates = sorted(
            {*change_dates(first, waivers, as_of, end), *(on for on, _ in ahead_policies if on <= end)}
        )
        children = frozenset(m.participant.id for m in first.members if m.participant is not None)
        out.append(
            GroupAhead(g, today.status, children, tuple(forecast_group(snapshot_on, waivers, dates, today)))
        )
    return out


def shown(session: Session, reach: Reach, aheads: Sequence[GroupAhead], as_of: date) -> list[GroupForecast]:
    """The caller's part of a forecast: each group's days by the month where the caller may not see every
    young person in it (`coarsen`), and every finding redacted for them (`redaction.redact_for`: one
    statement at most, however many groups; one more for a caller who sees some young people)."""
    seen = _reachable_children(session, reach)
    results = [
        (a, coarsen(a.days, as_of) if a.days and not sees_everyone(a.children, seen) else a.days)
        for a in aheads
    ]
    every = Evaluation(
        Status.compliant, {}, tuple(c.finding for _, ahead in results for d in ahead for c in d.changes)
    )
    found = redaction.redact_for(session, reach, every)
    redacted = iter(found.findings)
    out = []
    for a, ahead in results:
        # Rebuilt only where the redaction changed something (not for a caller who reads everything).
        days = (
            tuple(ahead)
            if found is every
            else tuple(
                replace(d, changes=tuple(ForecastChange(c.before, next(redacted)) for c in d.changes))
                for d in ahead
            )
        )
        first = days[0] if days else None
        g = a.group
        on, precision = (first.on, first.precision) if first else (None, None)
        out.append(GroupForecast(g.id, g.name, g.platform, a.status, on, days, precision))
    return out


def forecast(
    *, session: Session, reach: Reach, as_of: date, days: int, group_id: uuid.UUID | None = None
) -> OrganisationForecast:
    """Each group active today that the caller reaches (or the one group; 404 out of reach), with every day
    in the next `days` on which a finding gets worse. The same statements as one organisation evaluation,
    however many groups and days; participants redacted by reach as in today's reports. Evaluated afresh:
    api/compliance/forecast_cache.py serves it from the compliance cache."""
    until = grain.forecast_until(reach, as_of, check_days(days))
    chosen = chosen_groups(reach, group_id)
    chosen_ids = sa.select(queries.GROUP.c.id).where(chosen)
    groups, thresholds, loaded = loading._load(
        session,
        sa.select(*queries._GROUP_COLUMNS).where(chosen).order_by(queries.GROUP.c.name, queries.GROUP.c.id),
        queries._queries(lambda column: column.in_(chosen_ids), window=True),
        window(as_of, until),
        as_of,
    )
    if group_id is not None and not groups:
        raise NotFound(f"No group with id {group_id}")
    ahead_policies = policy_facts.policies_ahead(session, loaded.policy, as_of, until)
    aheads = group_aheads(groups, thresholds, loaded, ahead_policies, as_of, until)
    return OrganisationForecast(as_of, until, shown(session, reach, aheads, as_of))


def window(as_of: date, until: date) -> dict[str, date]:
    """The parameters of a load of the window from `as_of` to `until` (`queries._queries(window=True)`)."""
    return {"as_of": as_of, "window_from": as_of, "window_to": until}


def chosen_groups(reach: Reach, group_id: uuid.UUID | None) -> sa.ColumnElement[bool]:
    """The groups a forecast is about: active on the bound `as_of`, in the caller's reach, the one asked."""
    chosen = sa.and_(queries._ACTIVE, reach.groups(queries.GROUP.c.id))
    return chosen if group_id is None else sa.and_(chosen, queries.GROUP.c.id == group_id)
