from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query, Response, status

from api.accounts import api_key_service as service
from api.auth.models import ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, ApiKeyRotate
from api.auth.permissions import ApiKeysAdmin
from api.common import Page, PageDep, QueryFlag
from api.db import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, conflict
from api.lookups import by_id
from api.preconditions import IfMatch, set_etag
from api.problems import ProblemCode
from api.records import Records, Write

router = APIRouter()

ApiKeyById = Annotated[ApiKey, Depends(by_id(service.get, "key_id"))]
records = Records(router, by_id=ApiKeyById, public=ApiKeyPublic, reader=ApiKeysAdmin, writer=ApiKeysAdmin)

EXPIRED = conflict(ProblemCode.api_key_expired)


@router.get("", response_model=Page[ApiKeyPublic], summary="List API keys")
def list_api_keys(
    session: SessionDep,
    _: ApiKeysAdmin,
    paging: PageDep,
    revoked: Annotated[
        QueryFlag | None, Query(description="Only revoked (true) or working (false) keys")
    ] = None,
) -> Page[ApiKey]:
    """Every key, newest first, with its prefix and when it was last used (never the secret)."""
    return service.list_(session=session, paging=paging, revoked=revoked)


@router.post(
    "",
    response_model=ApiKeyCreated,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key",
)
def create_api_key(
    session: SessionDep, caller: ApiKeysAdmin, data: ApiKeyCreate, response: Response
) -> ApiKeyCreated:
    """Make a key for another system with scopes `read` and/or `sync:write`. The secret (`key`) is in this
    answer only: it is never stored, so it cannot be shown again. Send it as the `X-API-Key` header."""
    key, secret = service.create(session=session, caller=caller, data=data)
    # Never cached, nor kept for Idempotency-Key replays: the secret exists in this one answer only.
    response.headers["Cache-Control"] = "no-store"
    set_etag(response, key.version)
    return ApiKeyCreated.model_validate(key, update={"key": secret})


@records.change(
    "post",
    "/{key_id}/revoke",
    summary="Revoke an API key",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
def revoke_api_key(write: Write, key: ApiKey) -> ApiKey:
    """Stop a key working at once (401 on its next use). Revoking a revoked key is a 409; a stale If-Match
    (the key's ETag, from its creation or the list) is a 412."""
    return write.call(service.revoke, key=key)


@records.change(
    "post",
    "/{key_id}/confirm",
    summary="Confirm an API key for the organisation",
    responses={**NOT_FOUND, **EXPIRED, **PRECONDITION},
)
def confirm_api_key(write: Write, key: ApiKey) -> ApiKey:
    """A key stops working (401 `api_key_unconfirmed`) when the person answerable for it, its creator or
    whoever last confirmed or rotated it, is disabled or leaves. Confirming it says the organisation still
    wants it: it works again, and you become answerable for it. A revoked key is a 409, and so is an expired
    one (`api_key_expired`: rotate it with a new `expires_at` instead)."""
    return write.call(service.confirm, key=key)


@router.post(
    "/{key_id}/rotate",
    response_model=ApiKeyCreated,
    responses={**NOT_FOUND, **EXPIRED, **PRECONDITION},
    summary="Rotate an API key's secret",
)
def rotate_api_key(
    session: SessionDep,
    caller: ApiKeysAdmin,
    key: ApiKeyById,
    expected_version: IfMatch,
    response: Response,
    data: Annotated[ApiKeyRotate, Body()] = ApiKeyRotate(),  # no body: the expiry stays
) -> ApiKeyCreated:
    """Give the key a new secret, in this answer only (the old secret stops at once); name and scopes stay,
    and you become answerable for the key, as when confirming it. The expiry stays unless the optional body
    sets `expires_at` (a future time, or null for none). A revoked key is a 409; an expired key is a 409
    `api_key_expired` unless the body gives it a new expiry."""
    key, secret = service.rotate(
        session=session, caller=caller, key=key, data=data, expected_version=expected_version
    )
    # As at creation: never cached, nor kept for Idempotency-Key replays.
    response.headers["Cache-Control"] = "no-store"
    set_etag(response, key.version)
    return ApiKeyCreated.model_validate(key, update={"key": secret})
