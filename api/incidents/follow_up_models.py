"""Incidents: what follows a report (parent or carer notifications, referrals), who read it (views),
and the timeline that puts everything recorded in order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from api.common import NOT_BLANK, Day, Flag, Instant, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type
from api.described import DESCRIBED, DescribedEnum, Values
from api.incidents.models import (
    CorrectionPublic,
    EntryPublic,
    TransitionPublic,
)


class NotificationMethod(DescribedEnum):
    """How a parent or carer was informed ("Informing parents and carers of incidents of concern").

    - phone: by telephone.
    - email: by email from an official account.
    - in_person: face to face.
    - letter: by letter.
    - video_call: by video call.
    - other: another way."""

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
            "participant_id": "5e4456e6-aede-4a2e-9eb8-70aced3466f6",
            "informed_name": "Alison Wragg",
            "method": "phone",
            "informed_at": "2026-11-19T10:20:00Z",
        },
        {
            "participant_id": "5e4456e6-aede-4a2e-9eb8-70aced3466f6",
            "not_informed_reason": "Advised by the LADO not to inform the carer while enquiries continue",
        },
    )
    participant_id: uuid.UUID
    """The involved young person whose parent or carer this is about."""
    informed_name: Annotated[str | None, NOT_BLANK] = Field(
        default=None, min_length=1, max_length=200, description="Who was told"
    )
    method: NotificationMethod | None = None
    """How they were told (with informed_name and informed_at)."""
    informed_at: Instant | None = Field(default=None, description="When, with an offset")
    informed_by_id: uuid.UUID | None = Field(
        default=None, description="The member of staff who told them; defaults to the caller"
    )
    not_informed_reason: Annotated[str | None, NOT_BLANK] = Field(
        default=None, min_length=1, max_length=5000, description="Why the parent or carer is not informed"
    )


class IncidentNotification(Timestamped, table=True):
    """A parent or carer informed of an incident, or the recorded decision not to inform them.
    Append-only."""

    __tablename__ = "incident_notification"
    __table_args__ = (
        sa.CheckConstraint(
            "(informed_name IS NULL) <> (not_informed_reason IS NULL)", name="informed_or_not"
        ),
    )
    incident_id: uuid.UUID = Field(foreign_key="incident.id", index=True)
    participant_id: uuid.UUID = Field(foreign_key="participant.id", index=True)
    informed_name: Annotated[str | None, NOT_BLANK] = Field(default=None, max_length=200)
    method: NotificationMethod | None = Field(default=None, sa_type=enum_type(NotificationMethod))
    informed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    informed_by_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id")
    not_informed_reason: str | None = Field(default=None, max_length=5000)
    recorded_by_id: uuid.UUID = Field(foreign_key="staff.id")


class NotificationPublic(SQLModel):
    model_config = DESCRIBED
    id: uuid.UUID
    """The notification's id."""
    incident_id: uuid.UUID
    """The incident."""
    participant_id: uuid.UUID
    """The involved young person."""
    informed: Flag
    """True if the parent or carer was informed; false if a decision not to inform was recorded."""
    informed_name: str | None
    """Who was told; null for a decision not to inform."""
    method: NotificationMethod | None
    """How they were told; null for a decision not to inform."""
    informed_at: datetime | None
    """When they were told (UTC, ISO 8601); null for a decision not to inform."""
    informed_by_id: uuid.UUID | None
    """The member of staff who told them."""
    not_informed_reason: str | None
    """Why they are not informed; null when they were."""
    recorded_by_id: uuid.UUID
    """The member of staff who recorded it."""
    created_at: datetime
    """When it was recorded (UTC, ISO 8601)."""


class Agency(DescribedEnum):
    """The outside agency an incident was referred to.

    - police: the police.
    - lado: the Local Authority Designated Officer (allegations against people who work with children).
    - ceop: CEOP, the National Crime Agency's child protection command (online sexual abuse and grooming).
    - childrens_services: the local authority's children's social care.
    - platform_report: a report to the platform itself (Facebook, Instagram, Discord...).
    - other: another agency."""

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
    """The agency referred to."""
    referred_on: Day = Field(description="Not in the future")
    reference: str | None = Field(default=None, min_length=1, max_length=200, description="The agency's ref")
    notes: str | None = Field(default=None, max_length=10_000)
    """What was referred and any advice given; never another child's details."""


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
    model_config = DESCRIBED
    id: uuid.UUID
    """The referral's id."""
    incident_id: uuid.UUID
    """The incident."""
    agency: Agency
    """The agency referred to."""
    referred_on: Day
    """The day of the referral (the organisation's calendar day)."""
    reference: str | None
    """The agency's reference; null if none."""
    notes: str | None
    """What was referred; null if none."""
    referred_by_id: uuid.UUID
    """The member of staff who recorded it."""
    created_at: datetime
    """When it was recorded (UTC, ISO 8601)."""


class ViewKind(DescribedEnum):
    """Which read of an incident it was.

    - incident: the incident itself (GET /incidents/{incident_id}).
    - list: the incident appeared in a list of incidents.
    - timeline: its timeline.
    - entries: its chronology entries.
    - notifications: its parent or carer notifications.
    - referrals: its referrals."""

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
    model_config = DESCRIBED
    id: uuid.UUID
    """The view's id."""
    incident_id: uuid.UUID
    """The incident read."""
    viewed_at: datetime
    """When it was read (UTC, ISO 8601)."""
    viewer_kind: str
    """user or api_key."""
    viewer_id: uuid.UUID
    """The user account or API key that read it."""
    viewer_staff_id: uuid.UUID | None
    """The reader's staff record; null for an API key."""
    viewer_label: str
    """The reader's email address or key name."""
    viewer_role: str
    """The reader's role at the time (coordinator, staff, trustee, integration)."""
    via: ViewKind
    """Which read it was."""


TimelineKind = Annotated[
    Literal["entry", "transition", "notification", "referral", "correction"],
    Values(
        "Which kind of event a timeline item is; the field of the same name holds it.",
        {
            "entry": "A chronology entry.",
            "transition": "A status change.",
            "notification": "A parent or carer informed, or a decision not to inform.",
            "referral": "A referral to an outside agency.",
            "correction": "A correction of the incident's headline.",
        },
    ),
]


class TimelineItem(SQLModel):
    """One event of the chronology; exactly the field named by `kind` is set."""

    model_config = DESCRIBED

    kind: TimelineKind
    """Which of entry, transition, notification, referral or correction is set."""
    at: datetime = Field(
        description="When it happened (a referral: the start of its day in the organisation's time zone)"
    )
    recorded_at: datetime
    """When it was recorded (UTC, ISO 8601)."""
    entry: EntryPublic | None = None
    """A chronology entry (kind entry); otherwise null."""
    transition: TransitionPublic | None = None
    """A status change (kind transition); otherwise null."""
    notification: NotificationPublic | None = None
    """A parent or carer notification (kind notification); otherwise null."""
    referral: ReferralPublic | None = None
    """A referral (kind referral); otherwise null."""
    correction: CorrectionPublic | None = None
    """A correction of the headline (kind correction); otherwise null."""
