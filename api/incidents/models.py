"""Incidents: the incident, the people it involves, its chronology of entries, its transitions and its
corrections (follow_up_models.py: notifications, referrals, views, the timeline)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from sqlmodel import JSON, Field, SQLModel

from api.common import NOT_BLANK, Flag, Instant, NonBlank, Patch, Whole, forbid_extra

# One scale for incidents and rules; importers of it here keep working.
from api.common import Severity as Severity
from api.db import Timestamped, UTCDateTime, enum_type
from api.described import DESCRIBED, DescribedEnum


class Category(DescribedEnum):
    """What kind of incident it is, in the policy's words ("breaches of filtering, illegal use,
    cyberbullying, or use of ICT to groom a child or to perpetrate abuse", and the policy's other
    rules).

    - filtering_breach: the organisation's web filtering was got round or let something unsuitable
      through.
    - illegal_use: use of ICT that breaks the law.
    - cyberbullying: bullying online or by phone, by a young person or an adult.
    - grooming: use of ICT to groom a child.
    - abuse: use of ICT to perpetrate abuse.
    - personal_account_contact: staff contacting a young person from a personal account, by chat or
      private message, or as a personal friend or follower (the policy allows only groups where all
      members see messages, and official email).
    - image_misuse: an image of a child used without consent or beyond the purpose consented.
    - personal_data_published: personal information of staff, volunteers or young people (names included)
      published on the website or elsewhere.
    - inappropriate_content: content unsuitable for the young people involved, posted or shared.
    - other: any other inappropriate ICT use, complaint or allegation."""

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


class IncidentStatus(DescribedEnum):
    """Where the incident is in its handling ("deal firmly, fairly and decisively"). Moves only by a
    transition, each kept with its reason.

    - reported: recorded, not yet looked at by the coordinator.
    - triaged: read and its seriousness judged; next steps decided.
    - investigating: being looked into.
    - action_taken: action has been taken; waiting to be closed.
    - closed: finished, with an outcome; may be reopened by a transition."""

    reported = "reported"
    triaged = "triaged"
    investigating = "investigating"
    action_taken = "action_taken"
    closed = "closed"


class IncidentOutcome(DescribedEnum):
    """How a closed incident ended.

    - no_further_action: looked into; nothing more was needed.
    - resolved_internally: dealt with inside the organisation (advice, warnings, settings changed).
    - referred_externally: handed to an outside agency (see the incident's referrals).
    - disciplinary: dealt with under the staff disciplinary procedure.
    - other: another outcome, described in outcome_summary."""

    no_further_action = "no_further_action"
    resolved_internally = "resolved_internally"
    referred_externally = "referred_externally"
    disciplinary = "disciplinary"
    other = "other"


class IncidentBase(SQLModel):
    model_config = DESCRIBED
    category: Category = Field(sa_type=enum_type(Category))
    """What kind of incident it is."""
    severity: Severity = Field(sa_type=enum_type(Severity))
    """How serious it is; high and critical incidents need an involved young person's parent or carer
    informed within parent_notification_days (policy settings)."""
    occurred_at: Instant = Field(sa_type=UTCDateTime)
    """When it happened: an ISO 8601 timestamp with an offset (stored in UTC; its day is the
    organisation's calendar day in ORGANISATION_TIMEZONE). Not in the future."""
    group_id: uuid.UUID | None = Field(default=None, foreign_key="online_group.id", index=True)
    """The online group it happened in, if any."""
    summary: str = Field(min_length=1, max_length=500)
    """One line saying what happened; a child may be named only through participant_ids, never in the
    text."""
    details: str | None = Field(default=None, max_length=20_000)
    """The reporter's full account. Not editable after reporting (add an entry instead)."""
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
            "group_id": "e8f2448c-e573-4518-9a53-4dfd9a4c20fc",
            "summary": "A young person was messaged about rehearsal times from a leader's personal account",
            "details": "The young person showed the message to another leader at the next session. The "
            "message itself was about rehearsal times; nothing else was said.",
            "participant_ids": ["bb6bbc4f-db9a-45ae-b169-24a562179a1f"],
            "staff_ids": ["db515799-a6c3-4831-b689-0ed547403508"],
            "rule_ids": ["STF-OFFICIAL-EMAIL"],
        }
    )
    reported_by_id: uuid.UUID | None = Field(
        default=None, description="Defaults to the signed-in user's staff record"
    )
    participant_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    """The young people involved (each within your reach)."""
    staff_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    """The members of staff involved (not the reporter, unless also involved)."""
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
    DESCRIBED_BY = (IncidentBase,)
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"category", "severity", "summary", "rule_ids"})
    category: Category | None = None
    severity: Severity | None = None
    group_id: uuid.UUID | None = None
    summary: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=500)
    rule_ids: list[str] | None = Field(default=None, max_length=50)
    """The compliance rules it concerns (rule ids such as STF-OFFICIAL-EMAIL). Left out: unchanged."""
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
    model_config = DESCRIBED
    before: Any
    """The field's value before the correction."""
    after: Any
    """The field's value after the correction."""


CHANGED: Literal["changed"] = "changed"


class CorrectionPublic(SQLModel):
    model_config = DESCRIBED
    id: uuid.UUID
    """The correction's id."""
    incident_id: uuid.UUID
    """The incident corrected."""
    reason: str
    """Why the headline was corrected."""
    changes: dict[str, FieldChange | Literal["changed"]] = Field(
        description="Each headline field corrected, with its value before and after; a free-text field "
        '(the summary) is `"changed"` for a caller who does not manage incidents'
    )
    actor_id: uuid.UUID
    """The member of staff who corrected it."""
    created_at: datetime
    """When it was corrected (UTC, ISO 8601)."""


class IncidentPublic(IncidentBase):
    id: uuid.UUID
    """The incident's id."""
    status: IncidentStatus
    """Where the incident is in its handling."""
    reported_by_id: uuid.UUID
    """The member of staff who reported it."""
    participant_ids: list[uuid.UUID]
    """The young people involved that you may see (others are left out)."""
    staff_ids: list[uuid.UUID]
    """The members of staff involved."""
    outcome: IncidentOutcome | None
    """How it ended; null until closed."""
    outcome_summary: str | None
    """The outcome in words; null until closed."""
    closed_at: datetime | None
    """When it was last closed (UTC, ISO 8601); null while open."""
    created_at: datetime
    """When it was reported (UTC, ISO 8601)."""
    updated_at: datetime
    """When the record last changed (UTC, ISO 8601)."""
    version: Whole
    """The record's version, raised by one on every change; send it as If-Match to update."""
    parent_notification_overdue: Flag = Field(
        description="High or critical, reported more than `parent_notification_days` ago, and an involved "
        "participant's parent or carer neither informed nor a decision not to inform recorded"
    )


class TransitionCreate(SQLModel):
    model_config = forbid_extra(
        {"to_status": "action_taken", "reason": "The repost was reported to the platform and taken down"},
        {
            "to_status": "closed",
            "reason": "Actions complete and the carer informed",
            "outcome": "resolved_internally",
            "outcome_summary": "The leader was reminded of the policy on official accounts and has signed "
            "the code of conduct again.",
        },
    )
    to_status: IncidentStatus
    """The status to move to; only the moves the lifecycle allows (409 otherwise)."""
    reason: NonBlank = Field(min_length=1, max_length=5000)
    """Why it moves (kept on the timeline)."""
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
    model_config = DESCRIBED
    id: uuid.UUID
    """The transition's id."""
    incident_id: uuid.UUID
    """The incident."""
    from_status: IncidentStatus
    """The status before."""
    to_status: IncidentStatus
    """The status after."""
    reason: str
    """Why it moved."""
    outcome: IncidentOutcome | None
    """The outcome recorded when closing; null otherwise."""
    outcome_summary: str | None
    """The outcome in words when closing; null otherwise."""
    actor_id: uuid.UUID
    """The member of staff who made the change."""
    created_at: datetime
    """When it moved (UTC, ISO 8601)."""


class EntryKind(DescribedEnum):
    """What a chronology entry records.

    - note: an observation or piece of information.
    - action_taken: something done in response.
    - contact_made: contact with someone (a young person, a carer, an agency).
    - decision: a decision and its reasons."""

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
    """What the entry records."""
    text: str = Field(min_length=1, max_length=20_000)
    """The entry itself; never name a child who is not involved."""
    occurred_at: Instant | None = Field(
        default=None, description="When it happened, with an offset; defaults to now. Not in the future."
    )
    corrects_entry_id: uuid.UUID | None = Field(
        default=None, description="The earlier entry of this incident that this one corrects"
    )


class IncidentEntry(Timestamped, table=True):
    """A dated entry in the chronology. Never edited or deleted: a correction is a new entry pointing
    back."""

    __tablename__ = "incident_entry"
    incident_id: uuid.UUID = Field(foreign_key="incident.id", index=True)
    kind: EntryKind = Field(sa_type=enum_type(EntryKind))
    text: str = Field(max_length=20_000)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    author_id: uuid.UUID = Field(foreign_key="staff.id")
    corrects_entry_id: uuid.UUID | None = Field(default=None, foreign_key="incident_entry.id")


class EntryPublic(SQLModel):
    model_config = DESCRIBED
    id: uuid.UUID
    """The entry's id."""
    incident_id: uuid.UUID
    """The incident."""
    kind: EntryKind
    """What the entry records."""
    text: str
    """The entry itself."""
    occurred_at: datetime
    """When it happened (UTC, ISO 8601)."""
    author_id: uuid.UUID
    """The member of staff who wrote it."""
    corrects_entry_id: uuid.UUID | None
    """The earlier entry this one corrects; null if none."""
    corrected_by_ids: list[uuid.UUID] = Field(
        default_factory=list, description="Later entries that correct this one"
    )
    created_at: datetime
    """When it was recorded (UTC, ISO 8601)."""
