"""The waiver table, a report's status and the response shapes of the compliance routes.

Reports are built as the engine's frozen dataclasses and serialised with orjson (a 1,000-member group's
evidence is large); the models below describe the same shapes for OpenAPI and are checked against real
responses in the tests.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Described
from sqlmodel import JSON, Field, SQLModel

from api import clock
from api.common import Day, Flag, NonBlank, Whole, forbid_extra, in_force
from api.db import Timestamped, UTCDateTime, enum_type, utcnow


class Status(StrEnum):
    compliant = "compliant"
    at_risk = "at_risk"
    non_compliant = "non_compliant"


class WaiverBase(SQLModel):
    group_id: uuid.UUID = Field(foreign_key="online_group.id", index=True)
    rule_id: str = Field(
        min_length=1, max_length=64, description="A group rule's id, e.g. GRP-PERIODIC-REVIEW"
    )
    reason: str = Field(min_length=1, max_length=2000)
    expires_on: Day = Field(description="The first day the waiver no longer holds")


class Waiver(WaiverBase, Timestamped, table=True):
    """A coordinator's decision that one rule's failure in one group does not count, for a while."""

    __tablename__ = "compliance_waiver"
    granted_by_id: uuid.UUID | None = Field(default=None, description="The user who granted it")
    granted_by_label: str = Field(max_length=254)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by_label: str | None = Field(default=None, max_length=254)

    @property
    def granted_on(self) -> date:
        return clock.day_of(self.created_at)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and in_force(self.granted_on, self.expires_on, clock.today())


class WaiverCreate(WaiverBase):
    model_config = forbid_extra(
        {
            "group_id": "5b0c3e9a-8d2f-4c61-9a7e-2f1d6b8c4e10",
            "rule_id": "GRP-PERIODIC-REVIEW",
            "reason": "The group is paused between funding rounds: nobody posts or joins; it is reviewed "
            "before it reopens.",
            "expires_on": "2029-09-01",
        }
    )
    reason: NonBlank = Field(min_length=1, max_length=2000)


class WaiverPublic(WaiverBase):
    id: uuid.UUID
    granted_on: Day
    granted_by_label: str
    revoked_at: datetime | None
    revoked_by_label: str | None
    is_active: Flag = Field(description="Granted, not revoked, and not yet expired today")
    created_at: datetime
    version: Whole


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClausePublic(_Out):
    id: str
    text: str


class RulePublic(_Out):
    id: str
    title: str
    scope: str
    severity: str
    clause: ClausePublic
    also: list[ClausePublic] = Field(description="Further sentences the same check keeps")
    remediation: str
    applied: Flag = Field(
        description="False when the policy version in force has none of the rule's sentences: it is not "
        "applied (its findings are not_applicable)"
    )


class EvidencePublic(_Out):
    type: str
    id: uuid.UUID | None = Field(description="Null for a young person the caller may not see")
    label: str
    detail: str | None


class WaiverRefPublic(_Out):
    id: uuid.UUID
    group_id: uuid.UUID
    rule_id: str
    reason: str
    granted_on: Day
    expires_on: Day
    revoked_on: Day | None


class FindingPublic(_Out):
    rule_id: str
    title: str
    clause: ClausePublic
    severity: str
    outcome: str
    message: str
    evidence: list[EvidencePublic]
    remediation: str
    waiver: WaiverRefPublic | None
    counts_against_status: Flag
    also: list[ClausePublic] = Field(
        description="Further sentences the rule keeps, in the same version's words"
    )
    since: Day | None = Described(
        default=None,
        description="For a fail or warn: the first day of its current unbroken run of that outcome, as the "
        "compliance history recorded it (null where no history covers it; see `since_before_records`)",
    )
    since_before_records: bool = Described(
        default=False,
        description="True when the run began before the compliance history did: it reaches back to the "
        "group's first recorded day (or nothing is recorded) and the group is older, so the day it began is "
        "unknown and `since` is null",
    )
    since_precision: Literal["day", "month"] = Described(
        default="day",
        description="`day`: `since` is the day. `month`: `since` is the first day of the month the run began "
        "in, because the finding turns on a young person the caller may not see and the exact day could be "
        "their birthday",
    )


class FactsPublic(_Out):
    dated: list[str]
    current: list[str]


AsOfPrecision = Annotated[
    Literal["day", "month"],
    Described(
        description="`day`: evaluated on the `as_of` asked for. `month`: for a caller who may not see every "
        "young person, the `as_of` asked for was snapped to the last day of its month (today in the current "
        "month) and `as_of` is that day, so no two days of a month answer differently (a change could be a "
        "young person's birthday)",
    ),
]


class GroupCompliancePublic(_Out):
    group_id: uuid.UUID
    group_name: str
    platform: str
    as_of: Day
    status: str
    counts: dict[str, int]
    findings: list[FindingPublic]
    facts: FactsPublic
    as_of_precision: AsOfPrecision = "day"


class StaffCompliancePublic(_Out):
    staff_id: uuid.UUID
    staff_name: str
    as_of: Day
    status: str
    counts: dict[str, int]
    findings: list[FindingPublic]
    facts: FactsPublic
    as_of_precision: AsOfPrecision = "day"


class GroupSummaryPublic(_Out):
    group_id: uuid.UUID
    group_name: str
    platform: str
    status: str
    counts: dict[str, int]
    failing_rules: list[str]
    warning_rules: list[str]
    waived_rules: list[str]


class OrganisationFindingsPublic(_Out):
    status: str
    counts: dict[str, int]
    findings: list[FindingPublic]


class TotalsPublic(_Out):
    groups: Whole
    compliant: Whole
    at_risk: Whole
    non_compliant: Whole
    failing_by_rule: dict[str, int]


class OrganisationReportPublic(_Out):
    as_of: Day
    organisation: OrganisationFindingsPublic
    groups: list[GroupSummaryPublic]
    totals: TotalsPublic
    facts: FactsPublic
    as_of_precision: AsOfPrecision = "day"


class GroupComplianceState(SQLModel, table=True):
    """The status last announced for each group: `group.compliance_changed` is sent when the status evaluated
    now differs from this one. Derived state, not a record: it has no audit trail and is never shown."""

    __tablename__ = "group_compliance_state"
    group_id: uuid.UUID = Field(foreign_key="online_group.id", primary_key=True)
    status: Status = Field(sa_type=enum_type(Status))
    as_of: Day
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ForecastChangePublic(_Out):
    before: str = Described(description="The finding's outcome the day before")
    finding: FindingPublic


class ForecastDayPublic(_Out):
    on: Day = Described(description="The day; with `precision` month, the first day of the month meant")
    status: str = Described(description="The group's status from this day, if nothing is done")
    changes: list[ForecastChangePublic]
    precision: Literal["day", "month"] = Described(
        description="`day`: on `on`. `month`: some day in the calendar month beginning on `on`, for a caller "
        "who may not see a young person whose birthday it is (the month's days folded into one)"
    )


class GroupForecastPublic(_Out):
    group_id: uuid.UUID
    group_name: str
    platform: str
    status: str = Described(description="Today's status")
    next_change_on: Day | None = Described(description="The first day a finding gets worse, if any")
    days: list[ForecastDayPublic]
    next_change_precision: Literal["day", "month"] | None = Described(
        description="The precision of `next_change_on` (its day's `precision`)"
    )


class OrganisationForecastPublic(_Out):
    as_of: Day
    until: Day
    groups: list[GroupForecastPublic]


class GroupForecastReportPublic(GroupForecastPublic):
    as_of: Day
    until: Day


class ComplianceHistory(SQLModel, table=True):
    """What was found for a group, from `day` until the group's next row: written by the compliance watch
    (and a backfill) only when the status or the failing, warning or waived rules change, so the state on a
    day is the latest row on or before it. Derived state, not a record: no audit trail, never edited by
    hand. Kept because group settings and policy thresholds change through PATCH with no dated history, so
    the past cannot be recomputed faithfully (see README, "Compliance history")."""

    __tablename__ = "compliance_history"
    group_id: uuid.UUID = Field(foreign_key="online_group.id", primary_key=True)
    day: date = Field(primary_key=True)
    status: Status = Field(sa_type=enum_type(Status))
    # Rule id to "fail" or "warn", for every rule that failed or warned (waived or not).
    outcomes: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    waived: list[str] = Field(default_factory=list, sa_type=JSON)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class HistoryPointPublic(_Out):
    on: Day
    groups: dict[str, int] = Described(
        description="Groups active that day by the status recorded for them (compliant, at_risk, "
        "non_compliant), and `unrecorded`: active, with nothing recorded yet"
    )
    failing_by_rule: dict[str, int]
    warning_by_rule: dict[str, int]
    waived_by_rule: dict[str, int]


class OrganisationHistoryPublic(_Out):
    start: Day
    end: Day
    interval: str
    points: list[HistoryPointPublic]


class GroupHistoryEntryPublic(_Out):
    day: Day = Described(description="From this day until the next entry (see `precision`)")
    status: str
    failing: list[str]
    warning: list[str]
    waived: list[str]
    precision: Literal["day", "month"] = Described(
        default="day",
        description="`day`: the state from `day` until the next entry. `month` (for a caller who may not see "
        "every young person, whose birthdays the exact days could reveal): `day` is the first day of a month "
        "with a change, and `status`, `failing`, `warning` and `waived` are the state after the month's last "
        "change, holding from the month's end until the next entry; `earlier_in_month` names what failed or "
        "warned at some point in the month before that",
    )
    earlier_in_month: list[str] = Described(
        default_factory=list,
        description="With `precision` month: each rule that failed or warned at some point in the month "
        "(including on its first day, carried in from before) but no longer does at the month's end. Empty "
        "with `precision` day",
    )


class GroupHistoryPublic(_Out):
    group_id: uuid.UUID
    group_name: str
    start: Day
    end: Day
    entries: list[GroupHistoryEntryPublic]
