"""Compliance reports: a group's, a member of staff's and the organisation's, each evaluated over the
snapshots api/compliance/loading.py loads and redacted for the caller's reach before it leaves; the
evaluations and statuses the watch and the sync read (the organisation report as spreadsheet rows is in
api/compliance/exports.py).
"""

from __future__ import annotations

import functools
import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from api import clock
from api.auth.reach import Reach
from api.compliance import answered, fetch, grain, history_runs, org_facts
from api.compliance.engine import (
    Evaluation,
    Finding,
    Precision,
    Verdicts,
    aggregate_staff_rule,
    cite,
    evaluate,
    finding,
    run,
    summarise,
    verdicts,
    verdicts_each,
)
from api.compliance.loading import _load, _Loaded, _snapshot, load_active, load_group_with
from api.compliance.models import Status
from api.compliance.policy_facts import _thresholds, policy_on
from api.compliance.queries import _GROUP_COLUMNS, GROUP, STAFF, _Queries, _queries
from api.compliance.redaction import redact_for
from api.compliance.rules import GROUP_RULE_IDS, GROUP_RULES, ORG_RULES, STAFF_RULES
from api.compliance.snapshot import GroupFacts, MemberFacts, OrgSnapshot, PolicyFacts, Thresholds
from api.compliance.staff_snapshots import staff_snapshots
from api.compliance.vocabulary import FACTS
from api.errors import NotFound, Unprocessable
from api.groups.models import Platform

_J = TypeVar("_J")


def check_as_of(as_of: date | None) -> date:
    today = clock.today()
    if as_of is None:
        return today
    if as_of > today:
        raise Unprocessable.field("as_of", f"as_of ({as_of}) is in the future; facts after today are unknown")
    return as_of


# The reports are served as they are (orjson writes a dataclass's fields in order, the last base's first),
# composed as their answers' models are (`shapes`): what the report is about, then the evaluation. Bases keep
# no slots (`__slots__ = ()`), and every dataclass an answer serves keeps a `__dict__`: orjson writes one
# straight from it, one with slots field by field, several times slower (bench/README.md, session 12).
# tests/compliance/test_served_dataclasses.py holds both: the bytes are the fields in order, and no slots.


@dataclass(frozen=True)
class _GroupNamed:
    """The group a report is about."""

    __slots__ = ()
    group_id: uuid.UUID
    group_name: str
    platform: str


@dataclass(frozen=True)
class _StaffNamed:
    """The member of staff a report is about."""

    __slots__ = ()
    staff_id: uuid.UUID
    staff_name: str


@dataclass(frozen=True)
class _Evaluated:
    """An evaluation on `as_of`, after what it is about (`class GroupReport(_Evaluated, _GroupNamed)`)."""

    __slots__ = ()
    as_of: date
    status: Status
    counts: dict[str, int]
    findings: tuple[Finding, ...]
    facts: dict[str, list[str]]
    # Month: `as_of` was snapped to its month's last day (or today) for this caller (`grain.as_of`).
    as_of_precision: Precision = Precision.day


@dataclass(frozen=True)  # no slots: served by orjson (see the note above)
class GroupReport(_Evaluated, _GroupNamed):
    """A group's report (`shapes.GroupCompliancePublic`)."""


@dataclass(frozen=True)  # no slots: served by orjson (see the note above)
class StaffReport(_Evaluated, _StaffNamed):
    """A member of staff's report (`shapes.StaffCompliancePublic`)."""


@dataclass(frozen=True)  # no slots: served by orjson (see the note above)
class GroupSummary(_GroupNamed):
    """A group's line in the organisation report (`shapes.GroupSummaryPublic`)."""

    status: Status
    counts: dict[str, int]
    failing_rules: list[str]
    warning_rules: list[str]
    waived_rules: list[str]


@dataclass(frozen=True)  # no slots: served by orjson (see the note above)
class Totals:
    groups: int
    compliant: int
    at_risk: int
    non_compliant: int
    failing_by_rule: dict[str, int]


@dataclass(frozen=True)  # no slots: served by orjson (see the note above)
class OrganisationReport:
    as_of: date
    organisation: Evaluation
    groups: list[GroupSummary]
    totals: Totals
    facts: dict[str, list[str]]
    # Month: `as_of` was snapped to its month's last day (or today) for this caller (`grain.as_of`).
    as_of_precision: Precision = Precision.day


@dataclass(frozen=True, slots=True)
class GroupEvaluated(_GroupNamed):
    """A group's evaluation before it meets a caller: cited, not yet redacted nor dated (`since`); with the
    members it was evaluated over, as loaded (api/compliance/cache.py keeps them), and the group's history
    up to `as_of` that dates it (read with the load: writes to the history move the group's counter)."""

    evaluation: Evaluation
    members: tuple[MemberFacts, ...]
    runs: history_runs.Runs | None


def group_evaluated(
    *,
    session: Session,
    reach: Reach,
    group_id: uuid.UUID,
    as_of: date,
    policy_version: int | None = None,
    members: tuple[MemberFacts, ...] | None = None,
    people: tuple[MemberFacts, ...] | None = None,
) -> GroupEvaluated:
    """Load and evaluate a group as of a date (404 out of reach): the part of `group_report` that is the
    same for every caller. `policy_version`, `members`, `people`: as for `loading.load_group_with`."""
    snapshot, waivers, (history_rows,) = load_group_with(
        session=session,
        group_id=group_id,
        as_of=as_of,
        reach=reach,
        policy_version=policy_version,
        members=members,
        people=people,
        extra=(history_runs.ONE_GROUP_RUNS,),
    )
    g, cited = snapshot.group, cite(evaluate(GROUP_RULES, snapshot, waivers), snapshot.policy)
    dates = history_runs.runs_of(history_rows, fetch.reader(session.connection()))
    return GroupEvaluated(g.id, g.name, g.platform, cited, snapshot.members, dates)


def group_answer(*, session: Session, reach: Reach, evaluated: GroupEvaluated, as_of: date) -> GroupReport:
    """The report for this caller: `evaluated` redacted for their reach, each finding dated."""
    ev = redact_for(session, reach, evaluated.evaluation)
    ev = history_runs.dated(ev, evaluated.runs, as_of)
    e = evaluated
    return GroupReport(
        e.group_id,
        e.group_name,
        e.platform,
        as_of,
        ev.status,
        ev.counts,
        ev.findings,
        FACTS,
        grain.precision(reach),
    )


def group_report(*, session: Session, reach: Reach, group_id: uuid.UUID, as_of: date) -> GroupReport:
    """A group's compliance as of a date (staff: only a group they are in today)."""
    evaluated = group_evaluated(session=session, reach=reach, group_id=group_id, as_of=as_of)
    return group_answer(session=session, reach=reach, evaluated=evaluated, as_of=as_of)


def staff_report(*, session: Session, reach: Reach, staff_id: uuid.UUID, as_of: date) -> StaffReport:
    """One member of staff's compliance (staff: only their own); 404 out of reach, as for an unknown id."""
    if not reach.holds(session, reach.staff_reports, staff_id):
        raise NotFound(f"No staff member with id {staff_id}")
    policy = policy_on(session, as_of)
    snapshots = staff_snapshots(session, as_of, _thresholds(session), STAFF.c.id == staff_id, policy)
    if not snapshots:
        raise NotFound(f"No staff member with id {staff_id}")
    s = snapshots[0]
    ev = redact_for(session, reach, cite(evaluate(STAFF_RULES, s), policy))
    return StaffReport(
        s.staff.id, s.staff.full_name, as_of, ev.status, ev.counts, ev.findings, FACTS, grain.precision(reach)
    )


def _active_on(as_of: date) -> ColumnElement[bool]:
    return sa.and_(
        GROUP.c.started_on <= as_of, sa.or_(GROUP.c.archived_on.is_(None), GROUP.c.archived_on > as_of)
    )


def check_rule(rule: str | None) -> None:
    """422 naming `rule` unless it is None or a group rule's id (the organisation report's filter)."""
    if rule is not None and rule not in GROUP_RULE_IDS:
        raise Unprocessable.field("rule", f"{rule!r} is not a group rule id (see /api/v1/compliance/rules)")


def group_summary(group: GroupFacts, v: Verdicts) -> GroupSummary:
    """A group's line in the organisation report: its verdicts alone, without a finding built per rule."""
    return GroupSummary(
        group.id, group.name, group.platform, v.status, v.counts, v.failing, v.warning, v.waived
    )


def organisation_evaluation(
    session: Session, as_of: date, thresholds: Thresholds, policy: PolicyFacts | None
) -> Evaluation:
    """The organisation's own findings (ORG_RULES, and each staff rule across all staff), cited, before any
    caller's redaction: the same for every caller."""
    staff = staff_snapshots(session, as_of, thresholds, None, policy)
    controls, technologies = org_facts.load(session, as_of, {s.staff.id: s.staff for s in staff})
    coordinators = tuple(s.staff for s in staff if s.staff.is_esafety_coordinator)
    org = OrgSnapshot(as_of, thresholds, coordinators, policy, controls, technologies)
    org_findings = [finding(r, run(r, org)) for r in ORG_RULES]
    org_findings += [finding(r, aggregate_staff_rule(r, staff)) for r in STAFF_RULES]
    return cite(summarise(org_findings), policy)


def organisation_answer(
    *,
    session: Session,
    reach: Reach,
    as_of: date,
    organisation: Evaluation,
    lines: Iterable[GroupSummary],
    status: Status | None = None,
    rule: str | None = None,
) -> OrganisationReport:
    """The report for this caller: the organisation's findings redacted for their reach, the lines (every
    group in reach, in order) that pass the `status` and `rule` filters, and totals over those."""
    summaries = [
        s
        for s in lines
        if (status is None or s.status is status)
        and (rule is None or rule in s.failing_rules or rule in s.warning_rules)
    ]
    by_rule: dict[str, int] = defaultdict(int)
    for s in summaries:
        for rule_id in s.failing_rules:
            by_rule[rule_id] += 1
    totals = Totals(
        groups=len(summaries),
        compliant=sum(s.status is Status.compliant for s in summaries),
        at_risk=sum(s.status is Status.at_risk for s in summaries),
        non_compliant=sum(s.status is Status.non_compliant for s in summaries),
        failing_by_rule=dict(sorted(by_rule.items())),
    )
    redacted = redact_for(session, reach, organisation)
    return OrganisationReport(as_of, redacted, summaries, totals, FACTS, grain.precision(reach))


def lines_of(
    groups: list[tuple[Any, GroupFacts]], thresholds: Thresholds, loaded: _Loaded, as_of: date
) -> list[GroupSummary]:
    """Each loaded group's line (`loading._load`'s answer for the report's statements), in its order."""
    judged = verdicts_each(
        GROUP_RULES,
        ((_snapshot(k, g, loaded, as_of, thresholds), loaded.waivers.get(k)) for k, g in groups),
    )
    return [group_summary(g, v) for (_, g), v in zip(groups, judged, strict=True)]


def active_lines(
    *, session: Session, reach: Reach, as_of: date, platform: Platform | None = None
) -> tuple[list[GroupSummary], Thresholds, PolicyFacts | None]:
    """The line of every group active on `as_of` in reach (of `platform` if given), by name, in one load for
    them all (`loading.load_active`), with the thresholds and the policy in force it read."""
    groups, thresholds, loaded = load_active(session=session, reach=reach, as_of=as_of, platform=platform)
    return lines_of(groups, thresholds, loaded, as_of), thresholds, loaded.policy


def organisation_report(
    *,
    session: Session,
    reach: Reach,
    as_of: date,
    status: Status | None = None,
    platform: Platform | None = None,
    rule: str | None = None,
) -> OrganisationReport:
    """The organisation's own findings and every active group's status, in a fixed number of queries."""
    check_rule(rule)
    lines, thresholds, policy = active_lines(session=session, reach=reach, as_of=as_of, platform=platform)
    organisation = organisation_evaluation(session, as_of, thresholds, policy)
    return organisation_answer(
        session=session,
        reach=reach,
        as_of=as_of,
        organisation=organisation,
        lines=lines,
        status=status,
        rule=rule,
    )


def _judged(
    session: Session, as_of: date, group_ids: Collection[uuid.UUID] | None, judge: Callable[..., _J]
) -> dict[uuid.UUID, _J]:
    """`judge(GROUP_RULES, snapshot, waivers)` for every group active on `as_of` (or those of `group_ids`
    that are), in the same fixed number of queries as the organisation report, however many groups."""
    if group_ids is not None and not group_ids:
        return {}
    chosen = _active_on(as_of)
    if group_ids is not None:
        chosen = sa.and_(chosen, GROUP.c.id.in_(list(group_ids)))
    chosen_ids = sa.select(GROUP.c.id).where(chosen)
    in_chosen = lambda column: column.in_(chosen_ids)  # noqa: E731
    # Verdicts need outcomes only: the consents answered, the staff apart (`answered`); every active group's
    # read every participant's consents, as the organisation report does.
    queries = (
        answered.answered_queries(in_chosen, every_participant=group_ids is None)
        if judge is verdicts
        else _queries(in_chosen)
    )
    groups, thresholds, loaded = _load(
        session,
        sa.select(*_GROUP_COLUMNS).where(chosen),
        queries,
        {"as_of": as_of},
        as_of,
    )
    return {
        g.id: judge(GROUP_RULES, _snapshot(key, g, loaded, as_of, thresholds), loaded.waivers.get(key))
        for key, g in groups
    }


def group_evaluations(
    *, session: Session, as_of: date, group_ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, Evaluation]:
    """The evaluation of every group active on `as_of` (or of those of `group_ids` that are), in the same
    fixed number of queries as the organisation report, however many groups."""
    return _judged(session, as_of, group_ids, evaluate)


def group_statuses(
    *, session: Session, as_of: date, group_ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, Status]:
    """The status of every group active on `as_of` (or of those of `group_ids` that are), as
    `group_evaluations` decides it, without building the findings (`engine.verdicts`)."""
    found = _judged(session, as_of, group_ids, verdicts)
    return {group_id: v.status for group_id, v in found.items()}


@functools.cache
def _lines_load(width: int) -> tuple[Select[Any], _Queries]:
    """`group_lines`' statements for `width` ids bound (`answered.of_bound_groups`)."""
    chosen, queries = answered.of_bound_groups(width)
    return sa.select(*_GROUP_COLUMNS).where(chosen), queries


def group_lines(
    *, session: Session, as_of: date, group_ids: Sequence[uuid.UUID], policy_version: int | None = None
) -> dict[uuid.UUID, GroupSummary]:
    """The organisation report's line of each group of `group_ids` active on `as_of`, in one load restricted
    to them (the statements of `group_statuses`); `policy_version`: as for `loading._load`."""
    if not group_ids:
        return {}
    width, ids = answered.bound(group_ids)
    statement, queries = _lines_load(width)
    params = {"as_of": as_of} | ids
    loaded = _load(session, statement, queries, params, as_of, reuse=True, policy_version=policy_version)
    return {s.group_id: s for s in lines_of(*loaded, as_of)}
