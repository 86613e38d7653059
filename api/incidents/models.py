from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import JSON, Field, SQLModel

from api.common import FORBID_EXTRA
from api.db import Timestamped, UTCDateTime, enum_type


class Category(StrEnum):
    filtering_breach = "filtering_breach"
    illegal_use = "illegal_use"
    cyberbullying = "cyberbullying"
    grooming = "grooming"
    abuse = "abuse"
    personal_account_contact = "personal_account_contact"
    image_misuse = "image_misuse"
    personal_data_published = "personal_data_published"
    inappropriate_content = "inappropriate_content"
    other = "other"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class IncidentStatus(StrEnum):
    reported = "reported"
    triaged = "triaged"
    investigating = "investigating"
    action_taken = "action_taken"
    closed = "closed"


class Outcome(StrEnum):
    no_further_action = "no_further_action"
    resolved_internally = "resolved_internally"
    referred_externally = "referred_externally"
    disciplinary = "disciplinary"
    other = "other"


class IncidentBase(SQLModel):
    category: Category = Field(sa_type=enum_type(Category))
    severity: Severity = Field(sa_type=enum_type(Severity))
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    group_id: uuid.UUID | None = Field(default=None, foreign_key="online_group.id", index=True)
    summary: str = Field(min_length=1, max_length=500)
    details: str | None = Field(default=None, max_length=20_000)
    rule_ids: list[str] = Field(
        default_factory=list, sa_type=JSON, description="Compliance rules it concerns"
    )


class Incident(IncidentBase, Timestamped, table=True):
    __tablename__ = "incident"
    status: IncidentStatus = Field(default=IncidentStatus.reported, sa_type=enum_type(IncidentStatus))
    reported_by_id: uuid.UUID = Field(foreign_key="staff.id", index=True)
    outcome: Outcome | None = Field(default=None, sa_type=enum_type(Outcome))
    outcome_summary: str | None = Field(default=None, max_length=5000)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IncidentParticipant(SQLModel, table=True):
    """A child or young person involved in an incident."""

    __tablename__ = "incident_participant"
    incident_id: uuid.UUID = Field(foreign_key="incident.id", primary_key=True)
    participant_id: uuid.UUID = Field(foreign_key="participant.id", primary_key=True, index=True)


class IncidentStaff(SQLModel, table=True):
    """A member of staff involved in an incident (not the reporter, unless also involved)."""

    __tablename__ = "incident_staff"
    incident_id: uuid.UUID = Field(foreign_key="incident.id", primary_key=True)
    staff_id: uuid.UUID = Field(foreign_key="staff.id", primary_key=True, index=True)


class IncidentCreate(IncidentBase):
    model_config = FORBID_EXTRA
    reported_by_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the signed-in user's staff record"
    )
    participant_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    staff_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)


class IncidentUpdate(SQLModel):
    model_config = FORBID_EXTRA
    category: Category | None = None
    severity: Severity | None = None
    group_id: uuid.UUID | None = None
    summary: str | None = Field(default=None, min_length=1, max_length=500)
    details: str | None = Field(default=None, max_length=20_000)
    rule_ids: list[str] | None = None


class IncidentPublic(IncidentBase):
    id: uuid.UUID
    status: IncidentStatus
    reported_by_id: uuid.UUID
    participant_ids: list[uuid.UUID]
    staff_ids: list[uuid.UUID]
    outcome: Outcome | None
    outcome_summary: str | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
