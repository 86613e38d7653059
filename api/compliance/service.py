"""Compliance reports: a group's, a member of staff's and the organisation's, each evaluated over the
snapshots api/compliance/loading.py loads and redacted for the caller's reach before it leaves; the
evaluations and statuses the watch and the sync read; the report as spreadsheet rows.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from api import clock
from api.auth.reach import Reach
from api.compliance import answered, grain, history, org_facts
from api.compliance.engine import (
    Evaluation,
    Finding,
    Precision,
    aggregate_staff_rule,
    cite,
    evaluate,
    finding,
    run,
    summarise,
    verdicts,
)
from api.compliance.loading import _load, _snapshot, _staff_snapshots, load_active, load_group
from api.compliance.models import Status
from api.compliance.policy_facts import _thresholds, policy_on
from api.compliance.queries import _GROUP_COLUMNS, GROUP, STAFF, _queries
from api.compliance.redaction import redact_for
from api.compliance.rules import GROUP_RULE_IDS, GROUP_RULES, ORG_RULES, STAFF_RULES
from api.compliance.rules.base import Outcome
from api.compliance.snapshot import MemberFacts, OrgSnapshot
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
# so they are composed as their answers' models are (`shapes`): what the report is about, then the
# evaluation. A base keeps no slots of its own (`__slots__ = ()`: two bases with slots cannot be combined),
# so each report's own slots hold every field.


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


@dataclass(frozen=True, slots=True)
class GroupReport(_Evaluated, _GroupNamed):
    """A group's report (`shapes.GroupCompliancePublic`)."""


@dataclass(frozen=True, slots=True)
class StaffReport(_Evaluated, _StaffNamed):
    """A member of staff's report (`shapes.StaffCompliancePublic`)."""


@dataclass(frozen=True, slots=True)
class GroupSummary(_GroupNamed):
    """A group's line in the organisation report (`shapes.GroupSummaryPublic`)."""

    status: Status
    counts: dict[str, int]
    failing_rules: list[str]
    warning_rules: list[str]
    waived_rules: list[str]


@dataclass(frozen=True, slots=True)
class Totals:
    groups: int
    compliant: int
    at_risk: int
    non_compliant: int
    failing_by_rule: dict[str, int]


@dataclass(frozen=True, slots=True)
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
    members it was evaluated over, as loaded (api/compliance/cache.py keeps them)."""

    evaluation: Evaluation
    members: tuple[MemberFacts, ...]


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
    same for every caller. `policy_version`, `members`, `people`: as for `loading.load_group`."""
    snapshot, waivers = load_group(
        session=session,
        group_id=group_id,
        as_of=as_of,
        reach=reach,
        policy_version=policy_version,
        members=members,
        people=people,
    )
    g, cited = snapshot.group, cite(evaluate(GROUP_RULES, snapshot, waivers), snapshot.policy)
    return GroupEvaluated(g.id, g.name, g.platform, cited, snapshot.members)


def group_answer(*, session: Session, reach: Reach, evaluated: GroupEvaluated, as_of: date) -> GroupReport:
    """The report for this caller: `evaluated` redacted for their reach, each finding dated."""
    ev = redact_for(session, reach, evaluated.evaluation)
    ev = history.with_since(session=session, group_id=evaluated.group_id, as_of=as_of, evaluation=ev)
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
    snapshots = _staff_snapshots(session, as_of, _thresholds(session), STAFF.c.id == staff_id, policy)
    if not snapshots:
        raise NotFound(f"No staff member with id {staff_id}")
    s = snapshots[0]
    ev = redact_for(session, reach, cite(evaluate(STAFF_RULES, s), policy))
    return StaffReport(
        s.staff.id, s.staff.full_name, as_of, ev.status, ev.counts, ev.findings, FACTS, grain.precision(reach)
    )


def _outcomes(findings: Iterable[Finding], outcome: Outcome, *, waived: bool | None = None) -> list[str]:
    return [
        f.rule_id
        for f in findings
        if f.outcome is outcome and (waived is None or (f.waiver is not None) == waived)
    ]


def _active_on(as_of: date) -> ColumnElement[bool]:
    return sa.and_(
        GROUP.c.started_on <= as_of, sa.or_(GROUP.c.archived_on.is_(None), GROUP.c.archived_on > as_of)
    )


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
    if rule is not None and rule not in GROUP_RULE_IDS:
        raise Unprocessable.field("rule", f"{rule!r} is not a group rule id (see /api/v1/compliance/rules)")
    groups, thresholds, loaded = load_active(session=session, reach=reach, as_of=as_of, platform=platform)

    summaries: list[GroupSummary] = []
    for key, g in groups:
        # A group's line shows no finding: its verdicts alone, without a finding built per rule.
        v = verdicts(GROUP_RULES, _snapshot(key, g, loaded, as_of, thresholds), loaded.waivers.get(key))
        if status is not None and v.status is not status:
            continue
        if rule is not None and rule not in v.failing and rule not in v.warning:
            continue
        summaries.append(
            GroupSummary(g.id, g.name, g.platform, v.status, v.counts, v.failing, v.warning, v.waived)
        )

    staff = _staff_snapshots(session, as_of, thresholds, sa.true(), loaded.policy)
    controls, technologies = org_facts.load(session, as_of, {s.staff.id: s.staff for s in staff})
    org = OrgSnapshot(
        as_of,
        thresholds,
        tuple(s.staff for s in staff if s.staff.is_esafety_coordinator),
        loaded.policy,
        controls,
        technologies,
    )
    org_findings = [finding(r, run(r, org)) for r in ORG_RULES]
    org_findings += [finding(r, aggregate_staff_rule(r, staff)) for r in STAFF_RULES]
    organisation = cite(summarise(org_findings), loaded.policy)
    organisation = redact_for(session, reach, organisation)

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
    return OrganisationReport(as_of, organisation, summaries, totals, FACTS, grain.precision(reach))


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


CSV_COLUMNS = (
    "scope",
    "id",
    "name",
    "platform",
    "status",
    "pass",
    "fail",
    "warn",
    "not_applicable",
    "waived",
    "failing_rules",
    "warning_rules",
    "waived_rules",
)


def report_rows(report: OrganisationReport) -> Iterable[Sequence[object]]:
    """The report as spreadsheet rows: the organisation first, then one row per group."""
    org = report.organisation
    c = org.counts
    yield (
        "organisation",
        "",
        "organisation",
        "",
        org.status,
        c["pass"],
        c["fail"],
        c["warn"],
        c["not_applicable"],
        c["waived"],
        ";".join(_outcomes(org.findings, Outcome.fail)),
        ";".join(_outcomes(org.findings, Outcome.warn)),
        "",
    )
    for g in report.groups:
        c = g.counts
        yield (
            "group",
            g.group_id,
            g.group_name,
            g.platform,
            g.status,
            c["pass"],
            c["fail"],
            c["warn"],
            c["not_applicable"],
            c["waived"],
            ";".join(g.failing_rules),
            ";".join(g.warning_rules),
            ";".join(g.waived_rules),
        )
