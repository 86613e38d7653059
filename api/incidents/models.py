"""Incidents: the incident, the people it involves, its chronology of entries, its transitions and its
corrections (follow_up_models.py: notifications, referrals, views, the timeline)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from sqlmodel import JSON, Field, SQLModel

from api.common import NOT_BLANK, Flag, Instant, NonBlank, Patch, Whole, forbid_extra

# One scale for incidents and rules; importers of it here keep working.
from api.common import Severity as Severity
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


class IncidentStatus(StrEnum):
    reported = "reported"
    triaged = "triaged"
    investigating = "investigating"
    action_taken = "action_taken"
    closed = "closed"


class IncidentOutcome(StrEnum):
    no_further_action = "no_further_action"
    resolved_internally = "resolved_internally"
    referred_externally = "referred_externally"
    disciplinary = "disciplinary"
    other = "other"


class IncidentBase(SQLModel):
    category: Category = Field(sa_type=enum_type(Category))
    severity: Severity = Field(sa_type=enum_type(Severity))
    occurred_at: Instant = Field(sa_type=UTCDateTime)
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
    outcome: IncidentOutcome | None = Field(default=None, sa_type=enum_type(IncidentOutcome))
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
    model_config = forbid_extra(
        {
            "category": "personal_account_contact",
            "severity": "medium",
            "occurred_at": "2025-11-14T19:45:00Z",
            "group_id": "5b0c3e9a-8d2f-4c61-9a7e-2f1d6b8c4e10",
            "summary": "A young person was messaged about rehearsal times from a leader's personal account",
            "details": "The young person showed the message to another leader at the next session. The "
            "message itself was about rehearsal times; nothing else was said.",
            "participant_ids": ["1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56"],
            "staff_ids": ["c2e8b4d6-1a3f-4b9e-8d7c-5f0a2e6b9c41"],
            "rule_ids": ["STF-OFFICIAL-EMAIL"],
        }
    )
    reported_by_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the signed-in user's staff record"
    )
    participant_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    staff_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    rule_ids: list[str] = Field(
        default_factory=list, max_length=50, description="Compliance rules it concerns"
    )


# The incident's headline: what a correction may change, each one kept on the timeline with its reason.
HEADLINE = ("category", "severity", "summary", "group_id", "rule_ids")


class IncidentUpdate(Patch):
    """What a coordinator may correct on the incident itself (its headline), always with a `reason`. `details`
    is the reporter's original account and is not editable: add an entry instead. Status changes only through
    a transition."""

    model_config = forbid_extra(
        {
            "severity": "high",
            "rule_ids": ["STF-OFFICIAL-EMAIL", "STF-CODE-OF-CONDUCT"],
            "reason": "Triage found the leader had messaged two young people, not one",
        }
    )
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"category", "severity", "summary", "rule_ids"})
    category: Category | None = None
    severity: Severity | None = None
    group_id: uuid.UUID | None = None
    summary: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=500)
    rule_ids: list[str] | None = Field(default=None, max_length=50)
    reason: Annotated[str | None, NOT_BLANK] = Field(
        default=None,
        min_length=1,
        max_length=5000,
        description="Required: why the headline is corrected (shown on the incident's timeline)",
    )


class IncidentCorrection(Timestamped, table=True):
    """One correction of an incident's headline: what changed, before and after, and why. Append-only: the
    original wording stays here (the audit log records only that free text changed)."""

    __tablename__ = "incident_correction"
    incident_id: uuid.UUID = Field(foreign_key="incident.id", index=True)
    reason: str = Field(max_length=5000)
    changes: dict[str, Any] = Field(
        default_factory=dict, sa_type=JSON, description='{field: {"before": old, "after": new}}'
    )
    actor_id: uuid.UUID = Field(foreign_key="staff.id", description="The member of staff who corrected it")


class FieldChange(SQLModel):
    before: Any
    after: Any


CHANGED: Literal["changed"] = "changed"


class CorrectionPublic(SQLModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    reason: str
    changes: dict[str, FieldChange | Literal["changed"]] = Field(
        description="Each headline field corrected, with its value before and after; a free-text field "
        '(the summary) is `"changed"` for a caller who does not manage incidents'
    )
    actor_id: uuid.UUID
    created_at: datetime


class IncidentPublic(IncidentBase):
    id: uuid.UUID
    status: IncidentStatus
    reported_by_id: uuid.UUID
    participant_ids: list[uuid.UUID]
    staff_ids: list[uuid.UUID]
    outcome: IncidentOutcome | None
    outcome_summary: str | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: Whole
    parent_notification_overdue: Flag = Field(
        description="High or critical, reported more than `parent_notification_days` ago, and an involved "
        "participant's parent or carer neither informed nor a decision not to inform recorded"
    )


class TransitionCreate(SQLModel):
    model_config = forbid_extra(
        {"to_status": "triaged", "reason": "Read by the e-safety coordinator: no immediate risk to anyone"},
        {
            "to_status": "closed",
            "reason": "Actions complete and the carer informed",
            "outcome": "resolved_internally",
            "outcome_summary": "The leader was reminded of the policy on official accounts and has signed "
            "the code of conduct again.",
        },
    )
    to_status: IncidentStatus
    reason: NonBlank = Field(min_length=1, max_length=5000)
    outcome: IncidentOutcome | None = Field(default=None, description="Required when closing")
    outcome_summary: Annotated[str | None, NOT_BLANK] = Field(
        default=None, min_length=1, max_length=5000, description="Required when closing"
    )


class IncidentTransition(Timestamped, table=True):
    """One status change. Append-only: the lifecycle history, reopenings included."""

    __tablename__ = "incident_transition"
    incident_id: uuid.UUID = Field(foreign_key="incident.id", index=True)
    from_status: IncidentStatus = Field(sa_type=enum_type(IncidentStatus))
    to_status: IncidentStatus = Field(sa_type=enum_type(IncidentStatus))
    reason: str = Field(max_length=5000)
    # Kept here as well as on the incident, so a reopened incident still shows how it was first closed.
    outcome: IncidentOutcome | None = Field(default=None, sa_type=enum_type(IncidentOutcome))
    outcome_summary: str | None = Field(default=None, max_length=5000)
    actor_id: uuid.UUID = Field(foreign_key="staff.id", description="The member of staff who made the change")


class TransitionPublic(SQLModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    from_status: IncidentStatus
    to_status: IncidentStatus
    reason: str
    outcome: IncidentOutcome | None
    outcome_summary: str | None
    actor_id: uuid.UUID
    created_at: datetime


class EntryKind(StrEnum):
    note = "note"
    action_taken = "action_taken"
    contact_made = "contact_made"
    decision = "decision"


class EntryCreate(SQLModel):
    model_config = forbid_extra(
        {
            "kind": "action_taken",
            "text": "Met the leader: reminded them to use only their official account; they have deleted "
            "the young person's number from their phone.",
            "occurred_at": "2025-11-17T16:00:00Z",
        }
    )
    kind: EntryKind
    text: str = Field(min_length=1, max_length=20_000)
    occurred_at: Instant | None = Field(
        default=None, description="When it happened, with an offset; defaults to now. Not in the future."
    )
    corrects_entry_id: uuid.UUID | None = Field(
        default=None, description="The earlier entry of this incident that this one corrects"
    )


class IncidentEntry(Timestamped, table=True):
    """A dated entry in the chronology. Never edited or deleted: a correction is a new entry pointing back."""

    __tablename__ = "incident_entry"
    incident_id: uuid.UUID = Field(foreign_key="incident.id", index=True)
    kind: EntryKind = Field(sa_type=enum_type(EntryKind))
    text: str = Field(max_length=20_000)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    author_id: uuid.UUID = Field(foreign_key="staff.id")
    corrects_entry_id: uuid.UUID | None = Field(default=None, foreign_key="incident_entry.id")


class EntryPublic(SQLModel):
    id: uuid.UUID
    incident_id: uuid.UUID
    kind: EntryKind
    text: str
    occurred_at: datetime
    author_id: uuid.UUID
    corrects_entry_id: uuid.UUID | None
    corrected_by_ids: list[uuid.UUID] = Field(
        default_factory=list, description="Later entries that correct this one"
    )
    created_at: datetime
