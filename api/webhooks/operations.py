"""Operating an endpoint: rotate its secret, redeliver a delivery, send a test event.

Each is audited (ids, counts and times; never a secret, never a payload) and commits on its own. The sends
themselves are the worker's (api/webhooks/worker.py): a redelivery or a test event is a delivery made due
now, so it is claimed, signed, logged and retried like any other.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, col, or_, update

from api import crud
from api.audit import service as audit
from api.auth.principal import Principal
from api.db import utcnow
from api.errors import Conflict, NotFound
from api.webhooks import payload, signing
from api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent


def rotate_secret(
    *,
    session: Session,
    caller: Principal,
    endpoint: WebhookEndpoint,
    overlap_seconds: int,
    expected_version: int | None,
) -> WebhookEndpoint:
    """Give the endpoint a new secret (on the returned endpoint, to be shown once). For `overlap_seconds`
    from now the old secret signs too, beside the new one; a secret from an earlier rotation still in its
    overlap stops at once (two secrets at most). Errors: 412 on a stale If-Match, 409 if changed meanwhile.
    """
    crud.claim_version(session, endpoint, expected_version)
    at = utcnow()
    overlap = timedelta(seconds=overlap_seconds)
    endpoint.previous_secret = endpoint.secret if overlap else None
    endpoint.previous_secret_expires_at = at + overlap if overlap else None
    endpoint.secret = signing.new_secret()
    endpoint.updated_at = at
    # That it was rotated and how long the old one lasts: neither secret.
    expires = endpoint.previous_secret_expires_at
    changes = {
        "overlap_seconds": overlap_seconds,
        "previous_secret_expires_at": expires.isoformat() if expires else None,
    }
    return audit.commit_recorded(
        session, endpoint, actor=caller, action="webhook_endpoint.rotate_secret", changes=changes
    )


def _usable(endpoint: WebhookEndpoint) -> None:
    if endpoint.disabled_at is not None:
        raise Conflict("This webhook is disabled: enable it first")


def redeliver(
    *, session: Session, caller: Principal, endpoint: WebhookEndpoint, delivery_id: uuid.UUID
) -> WebhookDelivery:
    """Send one of the endpoint's deliveries again: the same `webhook-id` and body, a new attempt in its log
    and the whole retry schedule again, from now. Any delivery may be redelivered (delivered, failed, or
    pending, which is brought forward). Errors: 404 for a delivery not of this endpoint, 409 if the
    endpoint is disabled or a worker is sending it at this moment."""
    delivery = session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFound(f"No delivery with id {delivery_id} for this webhook")
    _usable(endpoint)
    at = utcnow()
    # Conditional on no live claim, in one statement, so a worker sending it now is not raced.
    made_due = session.exec(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery.id,
            or_(col(WebhookDelivery.claimed_until).is_(None), col(WebhookDelivery.claimed_until) < at),
        )
        .values(
            status=DeliveryStatus.pending,
            next_attempt_at=at,
            attempts_before_redelivery=col(WebhookDelivery.attempts),
            updated_at=at,
            version=col(WebhookDelivery.version) + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if made_due.rowcount != 1:
        session.rollback()
        raise Conflict("A worker is sending this delivery now: look at its log, then try again")
    changes = {"webhook_id": str(endpoint.id), "attempts_before": delivery.attempts}
    return audit.commit_recorded(
        session, delivery, actor=caller, action="webhook_delivery.redeliver", changes=changes
    )


def send_test(*, session: Session, caller: Principal, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a `webhook.test` event for the endpoint, whatever it subscribed to. Its data is the endpoint's
    id only: `{"webhook_id": ...}`. Errors: 409 if the endpoint is disabled."""
    _usable(endpoint)
    at = utcnow()
    body = payload.render(WebhookEvent.webhook_test, at, {"webhook_id": endpoint.id})
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id, event_type=WebhookEvent.webhook_test, body=body, next_attempt_at=at
    )
    changes = {"delivery_id": str(delivery.id)}
    return audit.commit_recorded(
        session, delivery, actor=caller, action="webhook_endpoint.test", changes=changes, entity=endpoint
    )
