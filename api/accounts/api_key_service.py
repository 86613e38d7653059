"""API keys for other systems (the CRM): the verbs. Only a key's SHA-256 and a short prefix are stored."""

from __future__ import annotations

import secrets
import uuid

from sqlmodel import Session, col, select

from api import crud
from api.audit import service as audit
from api.auth.models import ApiKey, ApiKeyCreate, ApiKeyRotate
from api.auth.principal import Principal, hash_api_key
from api.common import Page, PageParams
from api.db import utcnow
from api.errors import Conflict, Unprocessable
from api.problems import ProblemCode

KEY_PREFIX = "esk_"
# Enough to recognise a key in a list or a log ("esk_" and 8 random characters), far too little to guess it.
SHOWN_PREFIX_LENGTH = 12


def get(*, session: Session, key_id: uuid.UUID) -> ApiKey:
    """One key, or 404."""
    return crud.get_or_404(session, ApiKey, key_id, "API key")


def list_(*, session: Session, paging: PageParams, revoked: bool | None = None) -> Page[ApiKey]:
    """A page of keys, newest first."""
    query = select(ApiKey)
    if revoked is True:
        query = query.where(col(ApiKey.revoked_at).is_not(None))
    elif revoked is False:
        query = query.where(col(ApiKey.revoked_at).is_(None))
    query = query.order_by(col(ApiKey.created_at).desc(), col(ApiKey.id))
    return crud.paged(session, query, paging)


def _new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create(*, session: Session, caller: Principal, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    """Make a key; the secret is returned this once and never stored. An `expires_at` must be in the
    future (422 naming it)."""
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise Unprocessable.field("expires_at", "must be in the future")
    secret = _new_secret()
    key = ApiKey(
        name=data.name.strip(),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        key_hash=hash_api_key(secret),
        scopes=sorted(set(data.scopes)),
        created_by_id=caller.id if caller.kind == "user" else None,
        expires_at=data.expires_at,
        require_if_match=data.require_if_match,
    )
    return crud.save(session, key, actor=caller, action="api_key.create"), secret


# The 409 code for confirming or rotating an expired key without a new expiry.


def _working(key: ApiKey) -> None:
    if key.revoked_at is not None:
        raise Conflict(f"This key was revoked at {key.revoked_at.isoformat()}")


def _expired(key: ApiKey) -> bool:
    return key.expires_at is not None and key.expires_at <= utcnow()


def confirm(
    *, session: Session, caller: Principal, key: ApiKey, expected_version: int | None = None
) -> ApiKey:
    """A coordinator vouches for a key for the organisation: it works again if its creator was disabled or
    left, and from now on depends on the confirming coordinator staying active instead. 409 if revoked, and
    409 `api_key_expired` if it has expired (confirming would not make it work: rotate it with a new
    `expires_at`)."""
    _working(key)
    if _expired(key):
        raise Conflict(
            "This key has expired: confirming it would not make it work; rotate it with a new expires_at",
            code=ProblemCode.api_key_expired,
        )
    before = audit.snapshot(key)
    key.confirmed_by_id, key.confirmed_at = caller.id, utcnow()
    return crud.save(
        session, key, actor=caller, action="api_key.confirm", before=before, expected_version=expected_version
    )


def rotate(
    *,
    session: Session,
    caller: Principal,
    key: ApiKey,
    data: ApiKeyRotate | None = None,
    expected_version: int | None = None,
) -> tuple[ApiKey, str]:
    """Replace a key's secret (the old one stops at once) and return the new one this once; the rotating
    coordinator becomes answerable for it, as with `confirm`. Name and scopes stay; so does the expiry unless
    `data` sets `expires_at` (a future time, 422 naming it otherwise; or null for none). 409 if revoked, and
    409 `api_key_expired` if the key has expired and no new expiry is given (a new secret that cannot work
    would be useless)."""
    _working(key)
    new_expiry = data is not None and "expires_at" in data.model_fields_set
    if new_expiry and data is not None and data.expires_at is not None and data.expires_at <= utcnow():
        raise Unprocessable.field("expires_at", "must be in the future")
    if _expired(key) and not new_expiry:
        raise Conflict(
            "This key has expired: give a new expires_at (a future time, or null for none) to rotate it",
            code=ProblemCode.api_key_expired,
        )
    before = audit.snapshot(key)
    if new_expiry and data is not None:
        key.expires_at = data.expires_at
    secret = _new_secret()
    key.prefix, key.key_hash = secret[:SHOWN_PREFIX_LENGTH], hash_api_key(secret)
    key.confirmed_by_id, key.confirmed_at = caller.id, utcnow()
    saved = crud.save(
        session, key, actor=caller, action="api_key.rotate", before=before, expected_version=expected_version
    )
    return saved, secret


def revoke(
    *, session: Session, caller: Principal, key: ApiKey, expected_version: int | None = None
) -> ApiKey:
    """Stop a key working at once. The record is kept, for the audit trail."""
    if key.revoked_at is not None:
        raise Conflict(f"This key was already revoked at {key.revoked_at.isoformat()}")
    before = audit.snapshot(key)
    key.revoked_at = utcnow()
    return crud.save(
        session, key, actor=caller, action="api_key.revoke", before=before, expected_version=expected_version
    )
