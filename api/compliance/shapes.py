"""The compliance answers' shapes, for the spec and for generated clients.

The routes serialise the engine's frozen dataclasses with orjson (a 1,000-member group's evidence is large),
so these models never build an answer; they describe it, field for field and in the same order, and the
tests validate real answers against them and check that a model's round trip gives the same bytes
(tests/test_compliance_shapes.py). A status, an outcome, a severity, a scope and a precision are enums
(`vocabulary.py`, `api.common.Severity`), the counts of outcomes and of statuses are objects with a field
each, so a generated client gets types rather than strings and free dictionaries.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.common import Day, Severity
from api.compliance.vocabulary import EvidenceType, Interval, Outcome, Precision, Status, Subject
from api.groups.models import Platform

RULE_ID = "A rule's stable id (`GET /api/v1/compliance/rules` lists them), e.g. `GRP-PERIODIC-REVIEW`"
# A map from rule id to a number: the keys are rule ids, so it is an object of its own, shown with a real one.
RuleCounts = Annotated[
    dict[str, int],
    Field(json_schema_extra={"propertyNames": {"pattern": "^[A-Z]+(-[A-Z0-9]+)+$"}}),
]
RuleIds = Annotated[list[str], Field(examples=[["GRP-AGE-RANGE", "GRP-PERIODIC-REVIEW"]])]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClausePublic(_Out):
    """One sentence of the organisation's e-safety policy."""

    id: str = Field(
        description="The sentence's stable id, kept across policy versions while its sense is kept",
        examples=["REC-FB-TWO-ADMINS"],
    )
    text: str = Field(
        description="The sentence verbatim, in the words of the policy version in force on the answer's day"
    )


class RulePublic(_Out):
    """One compliance rule: the check the service runs and the policy sentence it keeps."""

    id: str = Field(description=RULE_ID, examples=["GRP-TWO-STAFF-ADMINS"])
    title: str = Field(description="What the rule asks, in a line")
    scope: Subject = Field(
        description="What the rule judges: a group, each member of staff, or the organisation"
    )
    severity: Severity = Field(description="How serious its failure is")
    clause: ClausePublic = Field(description="The policy sentence it enforces")
    also: list[ClausePublic] = Field(description="Further sentences the same check keeps")
    remediation: str = Field(description="What to do when it fails or warns")
    applied: bool = Field(
        description="False when the policy version in force has none of the rule's sentences: it is not "
        "applied (its findings are not_applicable)"
    )


class EvidencePublic(_Out):
    """A record a finding involves, as the caller may see it."""

    type: EvidenceType = Field(description="What kind of record it is")
    id: uuid.UUID | None = Field(
        description="The record's id; null for a young person the caller may not see"
    )
    label: str = Field(
        description="The record as a person reads it (a name, `review of 2026-05-01`); a neutral label for a "
        "young person the caller may not see"
    )
    detail: str | None = Field(
        description="Why it is cited (`left on 2026-10-10`, `admin`); null when there is nothing to add or "
        "it would describe a young person the caller may not see"
    )


class WaiverRefPublic(_Out):
    """The waiver in force that keeps a finding from counting against the status."""

    id: uuid.UUID = Field(description="The waiver's id (`/api/v1/compliance/waivers`)")
    group_id: uuid.UUID = Field(description="The group it covers")
    rule_id: str = Field(description=RULE_ID)
    reason: str = Field(description="Why the coordinator waived the rule")
    granted_on: Day = Field(description="The day it was granted, the first day it holds (inclusive)")
    expires_on: Day = Field(description="The first day it no longer holds (exclusive)")
    revoked_on: Day | None = Field(
        description="The day it was revoked, the first day it no longer held; null if never"
    )


class FindingPublic(_Out):
    """One rule's verdict, citing the policy sentence it enforces, with the records involved."""

    rule_id: str = Field(description=RULE_ID)
    title: str = Field(description="The rule's title")
    clause: ClausePublic = Field(description="The policy sentence the rule enforces, in the version in force")
    severity: Severity = Field(description="How serious the rule's failure is")
    outcome: Outcome = Field(description="The rule's true verdict on `as_of` (a waiver never changes it)")
    message: str = Field(
        description="What was found, in a sentence; it never names a young person (only evidence does)"
    )
    evidence: list[EvidencePublic] = Field(description="The records the verdict turns on")
    remediation: str = Field(description="What to do when it fails or warns")
    waiver: WaiverRefPublic | None = Field(
        description="The waiver in force on `as_of` that covers this rule for the group; null if none"
    )
    counts_against_status: bool = Field(
        description="True for a fail or warn with no waiver in force: it decides the status"
    )
    also: list[ClausePublic] = Field(
        description="Further sentences the rule keeps, in the same version's words"
    )
    since: Day | None = Field(
        default=None,
        description="For a fail or warn: the first day of its current unbroken run of that outcome, as the "
        "compliance history recorded it (null where no history covers it; see `since_before_records`)",
    )
    since_before_records: bool = Field(
        default=False,
        description="True when the run began before the compliance history did: it reaches back to the "
        "group's first recorded day (or nothing is recorded) and the group is older, so the day it began is "
        "unknown and `since` is null",
    )
    since_precision: Precision = Field(
        default=Precision.day,
        description="`day`: `since` is the day. `month`: `since` is the first day of the month the run began "
        "in, because the finding turns on a young person the caller may not see and the exact day could be "
        "their birthday",
    )


class OutcomeCounts(_Out):
    """How many findings have each outcome; `waived` counts, among them, those a waiver in force covers."""

    pass_: int = Field(alias="pass", description="Findings that pass", ge=0)
    fail: int = Field(description="Findings that fail, waived ones included", ge=0)
    warn: int = Field(description="Findings that warn, waived ones included", ge=0)
    not_applicable: int = Field(description="Findings with nothing to judge", ge=0)
    waived: int = Field(
        description="Findings a waiver in force covers, whatever their outcome (none counts against status)",
        ge=0,
    )


class FactsPublic(_Out):
    """Which facts the evaluation read as they stood on `as_of`, and which as they stand today (the service
    keeps no dated history of them), in words."""

    dated: list[str] = Field(
        description="Facts taken as they stood on `as_of`", examples=[["memberships (started_on, ended_on)"]]
    )
    current: list[str] = Field(
        description="Facts taken as they stand today, whatever `as_of`",
        examples=[["policy settings (today's thresholds)"]],
    )


AS_OF = "The day evaluated (see `as_of_precision`)"
AS_OF_PRECISION = (
    "`day`: evaluated on the `as_of` asked for. `month`: for a caller who may not see every young person, "
    "the `as_of` asked for was snapped to the last day of its month (today in the current month) and "
    "`as_of` is that day, so no two days of a month answer differently (a change could be a young person's "
    "birthday)"
)


class _GroupNamed(_Out):
    """The group an answer is about, first in each of its answers."""

    group_id: uuid.UUID = Field(description="The group's id")
    group_name: str = Field(description="The group's name")
    platform: Platform = Field(description="Where the group is")


class _StaffNamed(_Out):
    staff_id: uuid.UUID = Field(description="The member of staff's id")
    staff_name: str = Field(description="Their full name")


class _Evaluated(_Out):
    """An evaluation on `as_of`, after what it is about (a subclass names its subject first, as in
    `class GroupCompliancePublic(_Evaluated, _GroupNamed)`: pydantic takes the last base's fields first)."""

    as_of: Day = Field(description=AS_OF)
    status: Status = Field(description="The standing, from the findings that count")
    counts: OutcomeCounts = Field(description="The findings counted by outcome")
    findings: list[FindingPublic] = Field(
        description="One finding per rule of the subject's scope (group rules for a group, staff rules for a "
        "member of staff), in the catalogue's order"
    )
    facts: FactsPublic = Field(description="Which facts were read as of `as_of` and which as of today")
    as_of_precision: Precision = Field(default=Precision.day, description=AS_OF_PRECISION)


class GroupCompliancePublic(_Evaluated, _GroupNamed):
    """A group's compliance on `as_of`: its status, the counts and one finding per group rule."""


class StaffCompliancePublic(_Evaluated, _StaffNamed):
    """A member of staff's compliance with the staff rules on `as_of`."""


class GroupSummaryPublic(_GroupNamed):
    """One group's line in the organisation report."""

    status: Status = Field(description="The group's standing on `as_of`")
    counts: OutcomeCounts = Field(description="The group's findings counted by outcome")
    failing_rules: RuleIds = Field(description="The rules that fail for the group, not waived")
    warning_rules: RuleIds = Field(description="The rules that warn for the group, not waived")
    waived_rules: RuleIds = Field(description="The rules that fail or warn, covered by a waiver in force")


class OrganisationFindingsPublic(_Out):
    """The organisation's own findings: the organisation rules, and each staff rule across all staff."""

    status: Status = Field(description="The organisation's own standing (its groups' are in `groups`)")
    counts: OutcomeCounts = Field(description="These findings counted by outcome")
    findings: list[FindingPublic] = Field(description="One finding per organisation rule and per staff rule")


class TotalsPublic(_Out):
    """Totals over the groups listed (after the filters)."""

    groups: int = Field(description="Groups listed", ge=0)
    compliant: int = Field(description="Of them, `compliant`", ge=0)
    at_risk: int = Field(description="Of them, `at_risk`", ge=0)
    non_compliant: int = Field(description="Of them, `non_compliant`", ge=0)
    failing_by_rule: RuleCounts = Field(
        description="For each rule in at least one listed group's `failing_rules` (unwaived): in how many",
        examples=[{"GRP-PERIODIC-REVIEW": 2, "GRP-TWO-STAFF-ADMINS": 1}],
    )


class OrganisationReportPublic(_Out):
    """The organisation report on `as_of`: its own findings, each active group's line, and totals."""

    as_of: Day = Field(description=AS_OF)
    organisation: OrganisationFindingsPublic = Field(description="The organisation's own findings")
    groups: list[GroupSummaryPublic] = Field(
        description="Each active group the caller reaches, after filters"
    )
    totals: TotalsPublic = Field(description="Totals over `groups`")
    facts: FactsPublic = Field(description="Which facts were read as of `as_of` and which as of today")
    as_of_precision: Precision = Field(default=Precision.day, description=AS_OF_PRECISION)


class ForecastChangePublic(_Out):
    """One finding worse on a day than the day before."""

    before: Outcome = Field(description="The finding's outcome the day before")
    finding: FindingPublic = Field(description="The finding as it will stand that day, if nothing is done")


class ForecastDayPublic(_Out):
    """A day on which the group's findings get worse if nothing is done."""

    on: Day = Field(description="The day; with `precision` month, the first day of the month meant")
    status: Status = Field(description="The group's status from this day, if nothing is done")
    changes: list[ForecastChangePublic] = Field(description="The findings that get worse that day")
    precision: Precision = Field(
        description="`day`: on `on`. `month`: some day in the calendar month beginning on `on`, for a caller "
        "who may not see a young person whose birthday it is (the month's days folded into one)"
    )


class GroupForecastPublic(_GroupNamed):
    """One group's forecast."""

    status: Status = Field(description="Today's status")
    next_change_on: Day | None = Field(description="The first day a finding gets worse, if any (else null)")
    days: list[ForecastDayPublic] = Field(description="Each day a finding gets worse, in order")
    next_change_precision: Precision | None = Field(
        description="The precision of `next_change_on` (its day's `precision`); null with it"
    )


class _ForecastSpan(_Out):
    as_of: Day = Field(description="Today, the day the forecast starts from (excluded)")
    until: Day = Field(description="The last day forecast (inclusive)")


class OrganisationForecastPublic(_ForecastSpan):
    """The forecast for every active group the caller reaches, from tomorrow to `until`."""

    groups: list[GroupForecastPublic] = Field(description="Each active group the caller reaches")


class GroupForecastReportPublic(GroupForecastPublic, _ForecastSpan):
    """One group's forecast from tomorrow to `until` (the span first, then the group's forecast)."""


class GroupsByStatus(_Out):
    """The groups active on a day, counted by the status the compliance history recorded for them."""

    compliant: int = Field(description="Recorded `compliant` that day", ge=0)
    at_risk: int = Field(description="Recorded `at_risk` that day", ge=0)
    non_compliant: int = Field(description="Recorded `non_compliant` that day", ge=0)
    unrecorded: int = Field(description="Active that day, with nothing recorded for them yet", ge=0)


class HistoryPointPublic(_Out):
    """The organisation's groups on one day of its history."""

    on: Day = Field(description="The day")
    groups: GroupsByStatus = Field(description="Groups active that day by the status recorded for them")
    failing_by_rule: RuleCounts = Field(
        description="For each rule recorded failing that day: in how many groups (waived included)",
        examples=[{"GRP-PERIODIC-REVIEW": 2}],
    )
    warning_by_rule: RuleCounts = Field(
        description="For each rule recorded warning that day: in how many groups (waived included)",
        examples=[{"GRP-STAFF-TRAINING": 1}],
    )
    waived_by_rule: RuleCounts = Field(
        description="For each rule a waiver covered that day (failing or warning): in how many groups",
        examples=[{"GRP-PERIODIC-REVIEW": 1}],
    )


class OrganisationHistoryPublic(_Out):
    """The trend: the organisation's groups at `from`, at each interval after it, and at `to`."""

    start: Day = Field(description="The first day (the query's `from`, as taken; inclusive)")
    end: Day = Field(description="The last day (the query's `to`, as taken; inclusive)")
    interval: Interval = Field(description="How far apart the points are")
    points: list[HistoryPointPublic] = Field(description="At most 120 points, oldest first")


class GroupHistoryEntryPublic(_Out):
    """The group's recorded state from `day` until the next entry."""

    day: Day = Field(description="From this day until the next entry (see `precision`)")
    status: Status = Field(description="The group's recorded status")
    failing: RuleIds = Field(description="The rules recorded failing, waived or not")
    warning: RuleIds = Field(description="The rules recorded warning, waived or not")
    waived: RuleIds = Field(description="Of those, the rules a waiver covered")
    precision: Precision = Field(
        default=Precision.day,
        description="`day`: the state from `day` until the next entry. `month` (for a caller who may not see "
        "every young person, whose birthdays the exact days could reveal): `day` is the first day of a month "
        "with a change, and `status`, `failing`, `warning` and `waived` are the state after the month's last "
        "change, holding from the month's end until the next entry; `earlier_in_month` names what failed or "
        "warned at some point in the month before that",
    )
    earlier_in_month: RuleIds = Field(
        default_factory=list,
        description="With `precision` month: each rule that failed or warned at some point in the month "
        "(including on its first day, carried in from before) but no longer does at the month's end. Empty "
        "with `precision` day",
    )


class GroupHistoryPublic(_Out):
    """How a group's recorded compliance changed from `start` to `end`."""

    group_id: uuid.UUID = Field(description="The group's id")
    group_name: str = Field(description="The group's name")
    start: Day = Field(description="The first day (the query's `from`, as taken; inclusive)")
    end: Day = Field(description="The last day (the query's `to`, as taken; inclusive)")
    entries: list[GroupHistoryEntryPublic] = Field(
        description="The state recorded on `start` (if any), then each change up to `end`"
    )
