from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response, status

from api.auth.permissions import WebhooksAdmin
from api.common import Page, PageParams
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION
from api.lookups import by_id
from api.preconditions import IfMatch, set_etag
from api.records import Records, Write
from api.sub_records import SubRecords
from api.webhooks import operations, service
from api.webhooks.models import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPublic,
    WebhookEndpoint,
    WebhookPublic,
    WebhookRotate,
    WebhookSecretRotated,
    WebhookUpdate,
)

router = APIRouter()

WebhookById = Annotated[WebhookEndpoint, Depends(by_id(service.get, "webhook_id"))]
records = Records(router, by_id=WebhookById, public=WebhookPublic, reader=WebhooksAdmin, writer=WebhooksAdmin)
filed = SubRecords(records)


records.list(
    "list_webhooks",
    "List webhooks",
    "Registered endpoints, newest first, disabled ones included.",
    call=service.list_,
)


@router.post(
    "",
    response_model=WebhookCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Register a webhook",
)
def create_webhook(
    session: SessionDep, caller: WebhooksAdmin, data: WebhookCreate, response: Response
) -> WebhookEndpoint:
    """Register an endpoint for some events. The answer holds the signing secret, shown this once only.

    Each delivery is a POST of `{"type", "timestamp", "data"}` (ids, enums, dates and counts only) with
    the Standard Webhooks headers `webhook-id`, `webhook-timestamp` and `webhook-signature`
    (`v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`, keyed with the base64-decoded part of the
    secret after `whsec_`). Failed deliveries are retried after 1 min, 5 min, 30 min, 2 h and 12 h.

    A URL pointing at an internal address (loopback, private, link-local, unique-local, multicast,
    reserved, a cloud metadata service; in any spelling, IPv4 inside IPv6 included), at `localhost`, with a
    user name or password in it, or using `http` in production is a 422 naming `url`. A name is resolved
    at each send, and an internal answer refuses that send (`destination refused` in the delivery log).
    Private networks in the WEBHOOK_ALLOWED_NETWORKS setting are allowed.
    """
    # Never cached, nor kept for Idempotency-Key replays: the secret exists in one answer only.
    response.headers["Cache-Control"] = "no-store"
    endpoint = service.create(session=session, caller=caller, data=data)
    set_etag(response, endpoint.version)
    return endpoint


records.get(
    "/{webhook_id}",
    "get_webhook",
    "Get a webhook",
    "One endpoint (without its secret). The ETag header is the version to send back in If-Match.",
)


@records.change(
    "post",
    "/{webhook_id}/disable",
    summary="Disable a webhook",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
def disable_webhook(write: Write, webhook: WebhookEndpoint) -> WebhookEndpoint:
    """Stop sending to this endpoint. Deliveries not yet sent are marked failed. Nothing is deleted.
    Disabling twice is a 409; a stale If-Match is a 412."""
    return write.call(service.disable, endpoint=webhook)


@filed.list("/{webhook_id}/deliveries", public=WebhookDeliveryPublic, summary="List a webhook's deliveries")
def list_webhook_deliveries(
    read: Write, webhook: WebhookEndpoint, paging: PageParams
) -> Page[WebhookDeliveryPublic]:
    """The delivery log, newest first: each event sent (or waiting), its status and every attempt."""
    return service.list_deliveries(session=read.session, endpoint=webhook, paging=paging)


@records.change(
    "patch",
    "/{webhook_id}",
    summary="Change a webhook's URL or events",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
def update_webhook(write: Write, webhook: WebhookEndpoint, data: WebhookUpdate) -> WebhookEndpoint:
    """Change the URL, the events or the description; fields left out keep their values. A new URL is
    refused exactly as at registration (422 naming `url`: internal addresses, `localhost`, credentials in
    the URL, `http` in production). Deliveries not yet sent go to the new URL. A stale If-Match is a 412."""
    return write.call(service.update, endpoint=webhook, data=data)


@records.change(
    "post",
    "/{webhook_id}/enable",
    summary="Re-enable a disabled webhook",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
def enable_webhook(write: Write, webhook: WebhookEndpoint) -> WebhookEndpoint:
    """Send to this endpoint again, with its `failure_count` back at 0. Deliveries marked failed while it
    was disabled stay failed: redeliver the ones still wanted. An endpoint not disabled is a 409."""
    return write.call(service.enable, endpoint=webhook)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookSecretRotated,
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
    summary="Rotate a webhook's signing secret",
)
def rotate_webhook_secret(
    session: SessionDep,
    caller: WebhooksAdmin,
    webhook: WebhookById,
    expected_version: IfMatch,
    response: Response,
    data: Annotated[WebhookRotate, Body()] = WebhookRotate(),  # no body: the default overlap
) -> WebhookEndpoint:
    """A new signing secret, in this answer only. For `overlap_seconds` (default 86400, at most 604800)
    every delivery is signed with both the new and the old secret (`webhook-signature: v1,<new> v1,<old>`),
    so the receiver may switch to the new secret at any moment in that window; after it only the new one
    signs. `previous_secret_expires_at` says when the overlap ends. Body optional. A stale If-Match is a
    412."""
    # As at registration: never cached, nor kept for Idempotency-Key replays.
    response.headers["Cache-Control"] = "no-store"
    endpoint = operations.rotate_secret(
        session=session,
        caller=caller,
        endpoint=webhook,
        overlap_seconds=data.overlap_seconds,
        expected_version=expected_version,
    )
    set_etag(response, endpoint.version)
    return endpoint


@router.post(
    "/{webhook_id}/test",
    response_model=WebhookDeliveryPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Send a test event to a webhook",
)
def send_webhook_test(
    session: SessionDep, caller: WebhooksAdmin, webhook: WebhookById
) -> WebhookDeliveryPublic:
    """Queue a `webhook.test` event for this endpoint, whatever events it subscribed to, signed and retried
    like any delivery. Its `data` is `{"webhook_id": ...}` only. The answer is the queued delivery; follow
    it in the delivery log. A disabled endpoint is a 409."""
    delivery = operations.send_test(session=session, caller=caller, endpoint=webhook)
    return service.public_deliveries(session, [delivery])[0]


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response_model=WebhookDeliveryPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Redeliver one delivery",
)
def redeliver_webhook_delivery(
    session: SessionDep, caller: WebhooksAdmin, webhook: WebhookById, delivery_id: uuid.UUID
) -> WebhookDeliveryPublic:
    """Send a past delivery again: the same `webhook-id` and body (receivers deduplicate on the id), signed
    afresh at sending, with a new attempt in its log and the whole retry schedule again from now. A pending
    delivery is brought forward. A delivery of another webhook is a 404; a disabled endpoint, or a delivery a
    worker is sending at this moment, a 409."""
    delivery = operations.redeliver(session=session, caller=caller, endpoint=webhook, delivery_id=delivery_id)
    return service.public_deliveries(session, [delivery])[0]
