from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from pydantic import AnyHttpUrl, field_validator
from sqlmodel import JSON, Field, SQLModel

from api.common import Patch, Whole, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type, utcnow
from api.described import DESCRIBED, DescribedEnum


class WebhookEvent(DescribedEnum):
    """An event a webhook endpoint can subscribe to. Payloads carry ids and counts, never a child's
    personal details.

    - incident.reported: an incident was reported.
    - group.compliance_changed: a group's compliance status changed (compliant, at_risk, non_compliant),
      whether through a record changing or time passing (a review falling due, a consent expiring, staff
      leaving).
    - staff.left_with_access: a member of staff has left but still has an enabled sign-in.
    - consent.withdrawn: a consent was withdrawn.
    - group.roster_reconciled: a group's uploaded member list was reconciled against the records.
    - policy.version_published: a new version of the policy text was published.
    - policy.version_withdrawn: a published policy version that had not yet taken effect was withdrawn.
    - control.overdue: a recurring control's check is overdue.
    - webhook.test: a test event a coordinator asked for (`POST /webhooks/{id}/test`), sent whatever the
      endpoint subscribed to; its data is the webhook's id alone."""

    incident_reported = "incident.reported"
    group_compliance_changed = "group.compliance_changed"
    staff_left_with_access = "staff.left_with_access"
    consent_withdrawn = "consent.withdrawn"
    group_roster_reconciled = "group.roster_reconciled"
    policy_version_published = "policy.version_published"
    policy_version_withdrawn = "policy.version_withdrawn"
    control_overdue = "control.overdue"
    # Sent only when a coordinator asks (`POST /webhooks/{id}/test`), whatever the endpoint subscribed to.
    webhook_test = "webhook.test"


class DeliveryStatus(DescribedEnum):
    """Where one delivery of an event to one endpoint stands.

    - pending: not yet delivered; it is sent, or retried with backoff, when next_attempt_at comes.
    - delivered: the receiver answered 2xx.
    - failed: every retry was used up, or the endpoint was disabled; not sent again."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"  # every retry used up, or the endpoint was disabled


class WebhookEndpoint(Timestamped, table=True):
    """A receiver another system registered. The secret signs deliveries; no response model carries it."""

    __tablename__ = "webhook_endpoint"
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    events: list[WebhookEvent] = Field(default_factory=list, sa_type=JSON)
    secret: str = Field(max_length=100)
    # The secret before the last rotation, still signing (beside `secret`) until `previous_secret_expires_at`.
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Deliveries that failed for good (every retry used up) since the last one delivered or the last
    # re-enable: what an operator looks at before switching an endpoint back on.
    failure_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class WebhookDelivery(Timestamped, table=True):
    """One event for one endpoint: the outbox row, written in the same transaction as the change."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (sa.Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)
    endpoint_id: uuid.UUID = Field(foreign_key="webhook_endpoint.id", index=True)
    event_type: WebhookEvent = Field(sa_type=enum_type(WebhookEvent))
    # The exact bytes signed and sent, the same on every retry.
    body: str = Field(sa_type=sa.Text)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=enum_type(DeliveryStatus))
    attempts: int = 0
    # The attempts made before the last redelivery: the retry schedule counts from there, so a redelivered
    # delivery gets the whole schedule again.
    attempts_before_redelivery: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A worker's claim: no other worker sends the row until this passes.
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One try at sending a delivery: the delivery log. Written before the request goes out, so a worker
    that stops while sending leaves the attempt behind with no outcome (`succeeded` null)."""

    __tablename__ = "webhook_attempt"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    delivery_id: uuid.UUID = Field(foreign_key="webhook_delivery.id", index=True)
    attempted_at: datetime = Field(sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    succeeded: bool | None = None


class WebhookCreate(SQLModel):
    model_config = forbid_extra(
        {
            "url": "https://crm.riverbankmusic.example/hooks/esafety",
            "events": ["incident.reported", "group.compliance_changed"],
            "description": "CRM: opens a safeguarding task for the coordinator",
        }
    )
    url: AnyHttpUrl = Field(description="Where deliveries are POSTed (https in production)")
    events: list[WebhookEvent] = Field(min_length=1, description="The events to send here")
    description: str | None = Field(default=None, max_length=500)
    """What the endpoint is for (for example "CRM: opens a safeguarding task")."""

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[WebhookEvent]) -> list[WebhookEvent]:
        return sorted(set(events))


class WebhookUpdate(Patch):
    """A change of URL, events or description: fields left out keep their values. The URL is checked as at
    registration (api/webhooks/destinations.py)."""

    model_config = forbid_extra(
        {
            "url": "https://crm.riverbankmusic.example/hooks/esafety-v2",
            "events": ["incident.reported", "consent.withdrawn"],
        }
    )
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"url", "events"})
    url: AnyHttpUrl | None = Field(default=None, description="Where deliveries are POSTed from now on")
    events: list[WebhookEvent] | None = Field(
        default=None, min_length=1, description="The events to send here from now on (replaces the list)"
    )
    description: str | None = Field(default=None, max_length=500, description="Null clears it")

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[WebhookEvent] | None) -> list[WebhookEvent] | None:
        return None if events is None else sorted(set(events))


# The overlap a rotation may ask for: up to 7 days, time enough for a receiver deployed weekly.
MAX_OVERLAP_SECONDS = 7 * 24 * 3600
DEFAULT_OVERLAP_SECONDS = 24 * 3600


class WebhookRotate(SQLModel):
    model_config = forbid_extra({"overlap_seconds": 3600})
    overlap_seconds: Whole = Field(
        default=DEFAULT_OVERLAP_SECONDS,
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description=(
            "Seconds (0 to 604800, 7 days; default 86400, 24 hours) during which every delivery carries "
            "two signatures in `webhook-signature`, the new secret's and the old one's, separated by a "
            "space, so a receiver can switch secrets at any time in between. 0 switches at once."
        ),
    )


class WebhookPublic(SQLModel):
    model_config = DESCRIBED
    id: uuid.UUID
    """The endpoint's id."""
    url: str
    """Where deliveries are POSTed."""
    description: str | None
    """What the endpoint is for; null if not given."""
    events: list[WebhookEvent]
    """The events sent to it."""
    disabled_at: datetime | None
    """When it was disabled (UTC, ISO 8601); null while enabled. A disabled endpoint is sent nothing."""
    previous_secret_expires_at: datetime | None = Field(
        description=(
            "Until when deliveries are also signed with the secret before the last rotation (null: never "
            "rotated with an overlap). After it, only the current secret signs."
        )
    )
    failure_count: int = Field(
        description=(
            "Deliveries that failed for good (every retry used up) since the last one delivered or the "
            "last re-enable"
        )
    )
    created_at: datetime
    """When it was registered (UTC, ISO 8601)."""
    updated_at: datetime
    """When it last changed (UTC, ISO 8601)."""


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="Signs every delivery (Standard Webhooks); shown this once only")


class WebhookSecretRotated(WebhookPublic):
    secret: str = Field(description="The new signing secret, shown this once only")


ERROR_CLASSES = (
    "What went wrong, as a class (never the network's own message): `connection refused`, `timeout`, "
    "`TLS error`, `connection failed`, `HTTP 3xx`/`4xx`/`5xx`, `destination refused` (the name did not "
    "resolve or resolved to an internal address), `endpoint disabled`"
)


class WebhookAttemptPublic(SQLModel):
    model_config = DESCRIBED
    attempted_at: datetime
    """When the attempt started (UTC, ISO 8601)."""
    status_code: int | None
    """The receiver's HTTP status; null if no answer came."""
    error: str | None = Field(description=ERROR_CLASSES)
    succeeded: bool | None = Field(
        description=(
            "Null: no outcome was recorded, because the worker stopped while sending (or is sending now). "
            "The receiver may have had it; the retry carries the same `webhook-id`."
        )
    )


class WebhookDeliveryPublic(SQLModel):
    model_config = DESCRIBED
    id: uuid.UUID = Field(description="Sent as `webhook-id`; the same on every retry")
    event_type: WebhookEvent
    """The event delivered."""
    status: DeliveryStatus
    """Where the delivery stands."""
    attempts: int
    """How many times it has been sent so far."""
    next_attempt_at: datetime
    """When it is next due to be sent (UTC, ISO 8601), while pending."""
    last_status_code: int | None
    """The receiver's HTTP status at the last attempt; null if no answer came or none was made."""
    last_error: str | None = Field(description=ERROR_CLASSES)
    delivered_at: datetime | None
    """When the receiver accepted it (UTC, ISO 8601); null until then."""
    created_at: datetime
    """When the event happened and the delivery was queued (UTC, ISO 8601)."""
    payload: dict[str, Any]
    """The JSON body sent (the same bytes on every retry), signed per Standard Webhooks."""
    attempt_log: list[WebhookAttemptPublic]
    """Each attempt, oldest first."""
