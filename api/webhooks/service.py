"""Webhooks: the verbs. `emit` is how the rest of the service announces an event."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from api import crud
from api.audit import service as audit
from api.auth.principal import Principal
from api.common import Page, PageParams
from api.config import get_settings
from api.db import utcnow
from api.errors import Conflict, Unprocessable
from api.webhooks import destinations, payload, signing
from api.webhooks.models import (
    WebhookAttempt,
    WebhookAttemptPublic,
    WebhookCreate,
    WebhookDelivery,
    WebhookDeliveryPublic,
    WebhookEndpoint,
    WebhookEvent,
    WebhookUpdate,
)


def emit(
    session: Session, event_type: WebhookEvent, data: payload.Payload, *, now: datetime | None = None
) -> list[WebhookDelivery]:
    """Queue the event for every endpoint subscribed to it, in the caller's transaction (not committed here).

    The caller's commit stores the deliveries with the change, so an event is never lost and never sent
    for a change that was rolled back. `data` may hold only ids, enums, dates and counts.
    """
    return emit_many(session, event_type, [data], now=now)


def emit_many(
    session: Session,
    event_type: WebhookEvent,
    events: Sequence[payload.Payload],
    *,
    now: datetime | None = None,
) -> list[WebhookDelivery]:
    """`emit` for several events of one type, reading the endpoints once (one query however many)."""
    if not events:
        return []
    at = now or utcnow()
    bodies = [payload.render(event_type, at, data) for data in events]
    # No autoflush: the caller's pending change is flushed by its own commit, where its errors are handled.
    with session.no_autoflush:
        endpoints = session.exec(
            select(WebhookEndpoint)
            .where(col(WebhookEndpoint.disabled_at).is_(None))
            .order_by(col(WebhookEndpoint.id))
        ).all()
    deliveries = [
        WebhookDelivery(endpoint_id=e.id, event_type=event_type, body=body, next_attempt_at=at)
        for body in bodies
        for e in endpoints
        if event_type in e.events
    ]
    session.add_all(deliveries)
    return deliveries


def get(*, session: Session, webhook_id: uuid.UUID) -> WebhookEndpoint:
    """One endpoint, or 404."""
    return crud.get_or_404(session, WebhookEndpoint, webhook_id, "webhook")


def list_(*, session: Session, paging: PageParams) -> Page[WebhookEndpoint]:
    """Endpoints, newest first."""
    query = select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at).desc(), col(WebhookEndpoint.id))
    return crud.paged(session, query, paging)


def check_destination(url: str) -> None:
    """422 naming `url` unless webhooks may be sent there (api/webhooks/destinations.py `check_url`, under
    the settings in force): the same check at registration and at a change of URL."""
    settings = get_settings()
    try:
        destinations.check_url(
            url, production=settings.environment == "production", allowed=settings.webhook_allowed_networks
        )
    except destinations.RefusedDestination as exc:
        raise Unprocessable.field("url", str(exc)) from None


def create(*, session: Session, caller: Principal, data: WebhookCreate) -> WebhookEndpoint:
    """Register an endpoint with a new signing secret."""
    url = str(data.url)
    check_destination(url)
    endpoint = WebhookEndpoint(
        url=url,
        description=data.description,
        events=list(data.events),
        secret=signing.new_secret(),
        created_by_id=caller.id if caller.kind == "user" else None,
    )
    # The audit event names what was registered, never the secret.
    changes = {"url": url, "events": [e.value for e in endpoint.events]}
    return audit.commit_recorded(
        session, endpoint, actor=caller, action="webhook_endpoint.create", changes=changes
    )


def disable(
    *, session: Session, caller: Principal, endpoint: WebhookEndpoint, expected_version: int | None = None
) -> WebhookEndpoint:
    """Stop sending to an endpoint; deliveries still pending are marked failed by the worker. Errors: 412 on
    a stale If-Match, 409 if already disabled or changed meanwhile."""
    crud.check_version(endpoint, expected_version)
    if endpoint.disabled_at is not None:
        raise Conflict("This webhook is already disabled")
    # Conditional on the version read, so two disables (or a disable on a stale ETag) cannot both succeed.
    crud.claim_version(session, endpoint, expected_version)
    at = utcnow()
    endpoint.disabled_at = endpoint.updated_at = at
    changes = {"disabled_at": {"before": None, "after": at.isoformat()}}
    return audit.commit_recorded(
        session, endpoint, actor=caller, action="webhook_endpoint.disable", changes=changes
    )


def _typed_events(endpoint: WebhookEndpoint) -> None:
    # A JSON column reads back plain strings; the model (and its snapshot for the audit diff) holds enums.
    endpoint.events = [WebhookEvent(e) for e in endpoint.events]


def update(
    *,
    session: Session,
    caller: Principal,
    endpoint: WebhookEndpoint,
    data: WebhookUpdate,
    expected_version: int | None,
) -> WebhookEndpoint:
    """Change the URL, events or description. A new URL is checked as at registration (422 naming `url`);
    deliveries not yet sent go to the new URL, and the new events apply to events announced from now on.
    Errors: 412 on a stale If-Match, 409 if changed by someone else meanwhile."""
    if data.url is not None:
        check_destination(str(data.url))
    _typed_events(endpoint)
    before = crud.apply(endpoint, data)
    if data.url is not None:
        endpoint.url = str(data.url)  # stored as text, as at registration
    # The audit diff (crud.save) names the URL and events, never a secret (crud.IGNORED_FIELDS).
    return crud.save(
        session,
        endpoint,
        actor=caller,
        action="webhook_endpoint.update",
        before=before,
        expected_version=expected_version,
    )


def enable(
    *, session: Session, caller: Principal, endpoint: WebhookEndpoint, expected_version: int | None
) -> WebhookEndpoint:
    """Send to a disabled endpoint again, its failure count back at 0. Deliveries failed while it was
    disabled stay failed (redeliver them one by one). Errors: 409 if it is not disabled, 412 on a stale
    If-Match."""
    crud.check_version(endpoint, expected_version)
    if endpoint.disabled_at is None:
        raise Conflict("This webhook is not disabled")
    _typed_events(endpoint)
    before = crud.snapshot(endpoint)
    endpoint.disabled_at = None
    endpoint.failure_count = 0
    return crud.save(
        session,
        endpoint,
        actor=caller,
        action="webhook_endpoint.enable",
        before=before,
        expected_version=expected_version,
    )


def list_deliveries(
    *, session: Session, endpoint: WebhookEndpoint, paging: PageParams
) -> Page[WebhookDeliveryPublic]:
    """The delivery log of one endpoint, newest first, each with its attempts."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(col(WebhookDelivery.created_at).desc(), col(WebhookDelivery.id))
    )
    found = crud.paged(session, query, paging)
    return crud.recast(found, public_deliveries(session, found.items))


def public_deliveries(session: Session, deliveries: Sequence[WebhookDelivery]) -> list[WebhookDeliveryPublic]:
    """Deliveries as the API shows them: each with its payload and its attempts, oldest first."""
    attempts: dict[uuid.UUID, list[WebhookAttemptPublic]] = {d.id: [] for d in deliveries}
    if deliveries:
        rows = session.exec(
            select(WebhookAttempt)
            .where(col(WebhookAttempt.delivery_id).in_(list(attempts)))
            .order_by(col(WebhookAttempt.attempted_at), col(WebhookAttempt.id))
        ).all()
        for row in rows:
            attempts[row.delivery_id].append(WebhookAttemptPublic.model_validate(row, from_attributes=True))
    return [
        WebhookDeliveryPublic.model_validate(
            {**d.model_dump(), "payload": json.loads(d.body), "attempt_log": attempts[d.id]}
        )
        for d in deliveries
    ]
