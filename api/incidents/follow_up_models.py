"""Incidents: what follows a report (parent or carer notifications, referrals), who read it (views),
and the timeline that puts everything recorded in order."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.common import NOT_BLANK, Day, Flag, Instant, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type
from api.incidents.models import (
    CorrectionPublic,
    EntryPublic,
    TransitionPublic,
)


class NotificationMethod(StrEnum):
    phone = "phone"
    email = "email"
    in_person = "in_person"
    letter = "letter"
    video_call = "video_call"
    other = "other"


INFORMED_FIELDS = ("informed_name", "method", "informed_at")


class NotificationCreate(SQLModel):
    """Either a parent or carer was informed (`informed_name`, `method`, `informed_at`, optionally
    `informed_by_id`), or a decision not to inform was made (`not_informed_reason`): exactly one of the
    two."""

    model_config = forbid_extra(
        {
            "participant_id": "1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56",
            "informed_name": "Joanne Fairbrook",
            "method": "phone",
            "informed_at": "2025-11-15T10:20:00Z",
        },
        {
            "participant_id": "1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56",
            "not_informed_reason": "Advised by the LADO not to inform the carer while enquiries continue",
        },
    )
    participant_id: uuid.UUID
    informed_name: str | None = Field(default=None, min_length=1, max_length=200, description="Who was told")
    method: NotificationMethod | None = None
    informed_at: Instant | None = Field(default=None, description="When, with an offset")
    informed_by_id: uuid.UUID | None = Field(
        default=None, description="The member of staff who told them; defaults to the caller"
    )
    not_informed_reason: Annotated[str | None, NOT_BLANK] = Field(
        default=None, min_length=1, max_length=5000, description="Why the parent or carer is not informed"
    )


class IncidentNotification(Timestamped, table=True):
    """A parent or carer informed of an incident, or the recorded decision not to inform them. Append-only."""

    __tablename__ = "incident_notification"
    __table_args__ = (
        sa.CheckConstraint(
            "(informed_name IS NULL) <> (not_informed_reason IS NULL)", name="informed_or_not"
        ),
    )
    incident_id: uuid.UUID = Field(foreign_key="incident.id", index=True)
    participant_id: uuid.UUID = Field(foreign_key="participant.id", index=True)
    informed_name: str | None = Field(default=None, max_length=200)
    method: NotificationMethod | None = Field(default=None, sa_type=enum_type(NotificationMethod))
    informed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    informed_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id")
    not_informed_reason: str | None = Field(default=None, max_length=5000)
    recorded_by_id: uuid.UUID = Field(foreign_key="staff.id")


class NotificationPublic(SQLModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    participant_id: uuid.UUID
    informed: Flag
    informed_name: str | None
    method: NotificationMethod | None
    informed_at: datetime | None
    informed_by_id: uuid.UUID | None
    not_informed_reason: str | None
    recorded_by_id: uuid.UUID
    created_at: datetime


class Agency(StrEnum):
    police = "police"
    lado = "lado"
    ceop = "ceop"
    childrens_services = "childrens_services"
    platform_report = "platform_report"
    other = "other"


class ReferralCreate(SQLModel):
    model_config = forbid_extra(
        {
            "agency": "lado",
            "referred_on": "2025-11-17",
            "reference": "LADO-25-0311",
            "notes": "Referred for advice on the leader's contact from a personal account.",
        }
    )
    agency: Agency
    referred_on: Day = Field(description="Not in the future")
    reference: str | None = Field(default=None, min_length=1, max_length=200, description="The agency's ref")
    notes: str | None = Field(default=None, max_length=10_000)


class IncidentReferral(Timestamped, table=True):
    """A referral to an outside agency. Append-only."""

    __tablename__ = "incident_referral"
    incident_id: uuid.UUID = Field(foreign_key="incident.id", index=True)
    agency: Agency = Field(sa_type=enum_type(Agency))
    referred_on: Day
    reference: str | None = Field(default=None, max_length=200)
    notes: str | None = Field(default=None, max_length=10_000)
    referred_by_id: uuid.UUID = Field(foreign_key="staff.id", description="Who recorded it")


class ReferralPublic(SQLModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    agency: Agency
    referred_on: Day
    reference: str | None
    notes: str | None
    referred_by_id: uuid.UUID
    created_at: datetime


class ViewKind(StrEnum):
    """Which read it was."""

    incident = "incident"
    list = "list"
    timeline = "timeline"
    entries = "entries"
    notifications = "notifications"
    referrals = "referrals"


class IncidentView(Timestamped, table=True):
    """One read of an incident by someone. Append-only: who has seen a safeguarding record."""

    __tablename__ = "incident_view"
    incident_id: uuid.UUID = Field(foreign_key="incident.id", index=True)
    viewed_at: datetime = Field(sa_type=UTCDateTime)
    viewer_kind: str = Field(max_length=16, description="user or api_key")
    viewer_id: uuid.UUID = Field(description="The user account (or key) that read it")
    viewer_staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id")
    viewer_label: str = Field(max_length=254)
    viewer_role: str = Field(max_length=32)
    via: ViewKind = Field(sa_type=enum_type(ViewKind))


class ViewPublic(SQLModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    viewed_at: datetime
    viewer_kind: str
    viewer_id: uuid.UUID
    viewer_staff_id: uuid.UUID | None
    viewer_label: str
    viewer_role: str
    via: ViewKind


TimelineKind = Literal["entry", "transition", "notification", "referral", "correction"]


class TimelineItem(SQLModel):
    """One event of the chronology; exactly the field named by `kind` is set."""

    kind: TimelineKind
    at: datetime = Field(
        description="When it happened (a referral: the start of its day in the organisation's time zone)"
    )
    recorded_at: datetime
    entry: EntryPublic | None = None
    transition: TransitionPublic | None = None
    notification: NotificationPublic | None = None
    referral: ReferralPublic | None = None
    correction: CorrectionPublic | None = None
