"""The compliance tables (waivers, the status last announced, the history) and the waivers' request and
response shapes. A report's words (`Status`, ...) are in `vocabulary.py` and the reports' shapes in
`shapes.py`, both named here too so that their importers need not know the split."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlmodel import JSON, Field, SQLModel

from api import clock
from api.common import Day, Flag, NonBlank, Whole, forbid_extra, in_force
from api.compliance.shapes import ClausePublic as ClausePublic
from api.compliance.shapes import EvidencePublic as EvidencePublic
from api.compliance.shapes import FactsPublic as FactsPublic
from api.compliance.shapes import FindingPublic as FindingPublic
from api.compliance.shapes import ForecastChangePublic as ForecastChangePublic
from api.compliance.shapes import ForecastDayPublic as ForecastDayPublic
from api.compliance.shapes import GroupCompliancePublic as GroupCompliancePublic
from api.compliance.shapes import GroupForecastPublic as GroupForecastPublic
from api.compliance.shapes import GroupForecastReportPublic as GroupForecastReportPublic
from api.compliance.shapes import GroupHistoryEntryPublic as GroupHistoryEntryPublic
from api.compliance.shapes import GroupHistoryPublic as GroupHistoryPublic
from api.compliance.shapes import GroupSummaryPublic as GroupSummaryPublic
from api.compliance.shapes import HistoryPointPublic as HistoryPointPublic
from api.compliance.shapes import OrganisationFindingsPublic as OrganisationFindingsPublic
from api.compliance.shapes import OrganisationForecastPublic as OrganisationForecastPublic
from api.compliance.shapes import OrganisationHistoryPublic as OrganisationHistoryPublic
from api.compliance.shapes import OrganisationReportPublic as OrganisationReportPublic
from api.compliance.shapes import RulePublic as RulePublic
from api.compliance.shapes import StaffCompliancePublic as StaffCompliancePublic
from api.compliance.shapes import TotalsPublic as TotalsPublic
from api.compliance.shapes import WaiverRefPublic as WaiverRefPublic
from api.compliance.vocabulary import Status as Status
from api.db import Timestamped, UTCDateTime, enum_type, utcnow


class WaiverBase(SQLModel):
    group_id: uuid.UUID = Field(
        foreign_key="online_group.id", index=True, description="The group whose finding it covers"
    )
    rule_id: str = Field(
        min_length=1, max_length=64, description="A group rule's id, e.g. GRP-PERIODIC-REVIEW"
    )
    reason: str = Field(
        min_length=1, max_length=2000, description="Why the rule's failure does not count for now"
    )
    expires_on: Day = Field(description="The first day the waiver no longer holds (exclusive)")


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
    reason: NonBlank = Field(
        min_length=1, max_length=2000, description="Why the rule's failure does not count for now"
    )


class WaiverPublic(WaiverBase):
    """A waiver: one group rule's failure or warning that does not count against the group's status, from
    the day it is granted until `expires_on` (exclusive) or its revocation."""

    id: uuid.UUID = Field(description="The waiver's id")
    granted_on: Day = Field(description="The day it was granted, its first day in force (inclusive)")
    granted_by_label: str = Field(description="Who granted it: a user's email, or `api key {name}`")
    revoked_at: datetime | None = Field(description="When it was revoked (UTC); null if it never was")
    revoked_by_label: str | None = Field(description="Who revoked it; null if nobody did")
    is_active: Flag = Field(description="Granted, not revoked, and not yet expired today")
    created_at: datetime = Field(description="When it was recorded (UTC)")
    version: Whole = Field(description="The record's version: 1 when granted, one more with each change")


class GroupComplianceState(SQLModel, table=True):
    """The status last announced for each group: `group.compliance_changed` is sent when the status evaluated
    now differs from this one. Derived state, not a record: it has no audit trail and is never shown."""

    __tablename__ = "group_compliance_state"
    group_id: uuid.UUID = Field(foreign_key="online_group.id", primary_key=True)
    status: Status = Field(sa_type=enum_type(Status))
    as_of: Day
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ComplianceWatchRun(SQLModel, table=True):
    """When the compliance watch last went over every active group (one row per kind of pass; today only
    `interval`, the worker's pass every COMPLIANCE_WATCH_SECONDS): what /metrics reports, so an operator
    sees a worker that stopped. Derived state, overwritten by each pass, never shown in the API."""

    __tablename__ = "compliance_watch_run"
    watch: str = Field(max_length=32, primary_key=True)
    finished_at: datetime = Field(sa_type=UTCDateTime)
    groups_evaluated: int
    changes_announced: int


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
