from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from api.auth.principal import Principal, require
from api.auth.roles import Permission
from api.common import Page, PageDep
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION
from api.preconditions import set_etag
from api.records import Records, Write
from api.webhooks import service
from api.webhooks.models import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryPublic,
    WebhookEndpoint,
    WebhookPublic,
)

router = APIRouter()

Admin = Annotated[Principal, Depends(require(Permission.WEBHOOK_ADMIN))]


def webhook_or_404(webhook_id: uuid.UUID, session: SessionDep) -> WebhookEndpoint:
    return service.get(session=session, webhook_id=webhook_id)


WebhookById = Annotated[WebhookEndpoint, Depends(webhook_or_404)]
records = Records(router, by_id=WebhookById, public=WebhookPublic, reader=Admin, writer=Admin)


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
    session: SessionDep, caller: Admin, data: WebhookCreate, response: Response
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


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[WebhookDeliveryPublic],
    responses=NOT_FOUND,
    summary="List a webhook's deliveries",
)
def list_webhook_deliveries(
    session: SessionDep, _: Admin, webhook: WebhookById, paging: PageDep
) -> Page[WebhookDeliveryPublic]:
    """The delivery log, newest first: each event sent (or waiting), its status and every attempt."""
    return service.list_deliveries(session=session, endpoint=webhook, paging=paging)
