"""Who is calling: a signed-in user (bearer JWT) or another system (X-API-Key). Denied by default."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.models import OpenAPI
from fastapi.routing import iter_route_contexts
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select
from starlette.routing import BaseRoute

from api import clock, ratelimit
from api.auth import tokens
from api.auth.models import ApiKey, User
from api.auth.roles import ApiKeyScope, Permission, Role, permissions_for
from api.common import in_force
from api.config import get_settings
from api.db import get_session, table_of, uncounted, utcnow
from api.errors import Forbidden, Unauthorized
from api.problems import ProblemCode
from api.staff.models import Staff

# The two ways in, as the OpenAPI document declares them (Swagger UI's Authorize, each signed-in route's
# `security`: `declare_security`). Declared only, not dependencies: `current_principal` reads both headers
# itself as these would, since FastAPI solved each as a dependency of its own on every request
# (bench/README.md, "Branch perf-me2").
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="Another system's API key")
SECURITY_SCHEMES = (oauth2, api_key_header)

SIGNED_IN = "signed_in_user"

# last_used_at is written at most this often, so a busy key does not write on every read.
LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "api_key"
    id: uuid.UUID
    role: Role
    label: str
    staff_id: uuid.UUID | None = None
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    # An API key created with `require_if_match`: api/preconditions.py refuses its changes without If-Match.
    require_if_match: bool = False


def hash_api_key(key: str) -> str:
    # A fast hash is right here: the key is long and random, and it is checked on every request.
    return hashlib.sha256(key.encode()).hexdigest()


def _api_key_row(session: Session, key: str) -> ApiKey:
    """The working key with this secret, else 401: unknown, revoked, expired, or the person answerable for
    it (whoever last confirmed or rotated it, else its creator) disabled or gone (issue 11: a key must not
    outlive the person who made it until a coordinator confirms it). One query."""
    answerable = aliased(User)
    row = session.exec(
        select(ApiKey, col(answerable.is_active), col(Staff.left_on))
        .outerjoin(
            answerable, col(answerable.id) == func.coalesce(ApiKey.confirmed_by_id, ApiKey.created_by_id)
        )
        .outerjoin(Staff, col(Staff.id) == col(answerable.staff_id))
        .where(ApiKey.key_hash == hash_api_key(key))
    ).first()
    if row is None or row[0].revoked_at is not None:
        raise Unauthorized("Unknown or revoked API key")
    key_row, is_active, left_on = row
    if key_row.expires_at is not None and key_row.expires_at <= utcnow():
        raise Unauthorized("This API key has expired", code=ProblemCode.api_key_expired)
    if (key_row.confirmed_by_id or key_row.created_by_id) is not None and not (
        is_active and in_force(None, left_on, clock.today())
    ):
        raise Unauthorized(
            "This API key's creator has left or been disabled: a coordinator must confirm or rotate it",
            code=ProblemCode.api_key_unconfirmed,
        )
    return key_row


def _api_key_principal(row: ApiKey) -> Principal:
    scopes = frozenset(ApiKeyScope(s) for s in row.scopes)
    return Principal(
        kind="api_key",
        id=row.id,
        role=Role.integration,
        label=f"api key {row.name}",
        permissions=permissions_for(Role.integration, scopes),
        require_if_match=row.require_if_match,
    )


def _from_api_key(session: Session, key: str) -> Principal:
    row = _api_key_row(session, key)
    now = utcnow()
    # End the read first, so the count begins a transaction of its own: on SQLite a transaction that has
    # read cannot wait for another writer's lock when it then writes; one that starts by writing can.
    session.commit()
    with uncounted():  # bookkeeping, not a change the caller made
        ratelimit.hit(session, api_key_id=row.id, limit=get_settings().api_key_rate_per_minute, now=now)
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_GRANULARITY:
            row.last_used_at = now
            session.add(row)
            session.commit()
    return _api_key_principal(row)


def authenticate(session: Session, *, api_key: str | None, token: str | None) -> Principal:
    """Who sent these credentials, checked as every request is (an API key first, as `current_principal`
    does), but without counting the request: for the Idempotency-Key middleware, which must know the caller
    and that they may still act before it replays anything. Raises Unauthorized."""
    if api_key:
        return _api_key_principal(_api_key_row(session, api_key))
    if token:
        return _from_token(session, token)
    raise Unauthorized()


def request_owner(session: Session, api_key: str | None, token: str | None) -> str | None:
    """Who owns a request's Idempotency-Key (`user:<id>`, `api_key:<id>`), authenticated as `authenticate`
    does; None if the credentials would not be let in (the app then answers its 401). For
    api.idempotency.middleware, which is given it by api/main.py."""
    try:
        principal = authenticate(session, api_key=api_key, token=token)
    except Unauthorized:
        return None
    return f"{principal.kind}:{principal.id}"


_USER, _STAFF = table_of(User), table_of(Staff)
# The account's columns that /auth/me answers with and the checks need, and only the staff row's leaving date:
# one statement, read as one row (building an ORM `User` through the ORM's execution path cost more than
# running the statement; bench/README.md, "Branch perf-me2"). Built once with the id as a bound parameter:
# building the statement and working out its cache key on every request cost more than running it
# ("Signed-in request, session 5").
SIGNED_IN_ACCOUNT = (
    sa.select(
        _USER.c.id,
        _USER.c.staff_id,
        _USER.c.email,
        _USER.c.role,
        _USER.c.is_active,
        _USER.c.token_epoch,
        _USER.c.last_login_at,
        _USER.c.created_at,
        _STAFF.c.left_on,
    )
    .join(_STAFF, _STAFF.c.id == _USER.c.staff_id)
    .where(_USER.c.id == sa.bindparam("user_id"))
)


def _from_token(session: Session, token: str) -> Principal:
    try:
        claims = tokens.verify(token, secret=get_settings().secret_key.get_secret_value())
    except tokens.InvalidToken as exc:
        raise Unauthorized("Invalid or expired token") from exc
    account = session.connection().execute(SIGNED_IN_ACCOUNT, {"user_id": claims.user_id}).first()
    if account is None:
        raise Unauthorized("Invalid or expired token")
    # A disabled account, a changed password or role (epoch), or a departed member of staff: refused at once.
    if not account.is_active or account.token_epoch != claims.epoch:
        raise Unauthorized("Token revoked")
    if not in_force(None, account.left_on, clock.today()):
        raise Unauthorized("Access ended when employment ended")
    # Kept for the request: /auth/me answers with it, with no statement of its own.
    session.info[SIGNED_IN] = account
    return account_principal(id=account.id, role=account.role, email=account.email, staff_id=account.staff_id)


def user_principal(user: User) -> Principal:
    """The principal a signed-in user acts as (also the actor of their own sign-in's audit event)."""
    return account_principal(id=user.id, role=user.role, email=user.email, staff_id=user.staff_id)


def account_principal(*, id: uuid.UUID, role: Role, email: str, staff_id: uuid.UUID) -> Principal:
    """The principal of the user account `id`: its role's permissions, labelled with its email."""
    return Principal(
        kind="user", id=id, role=role, label=email, staff_id=staff_id, permissions=permissions_for(role)
    )


def credentials(request: Request) -> tuple[str | None, str | None]:
    """The bearer token and the API key a request carries, each None when absent or empty, read as
    `oauth2` and `api_key_header` read them: `Authorization: Bearer <token>` (the scheme in any case) and
    `X-API-Key`."""
    authorization = request.headers.get("authorization")
    scheme, param = get_authorization_scheme_param(authorization)
    token = param if authorization and scheme.lower() == "bearer" else None
    return token, request.headers.get(api_key_header.model.name) or None


def current_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> Principal:
    """Who sends this request (an API key first, else a bearer token), checked and, for a key, counted
    against its rate limit. Raises Unauthorized (401)."""
    token, api_key = credentials(request)
    return identify(request, session, token=token, api_key=api_key)


def identify(request: Request, session: Session, *, token: str | None, api_key: str | None) -> Principal:
    """`current_principal` for credentials found elsewhere (the dashboard's session cookie, say): kept on
    `request.state.principal` for the access log. Raises Unauthorized (401)."""
    if api_key:
        principal = _from_api_key(session, api_key)
    elif token:
        principal = _from_token(session, token)
    else:
        raise Unauthorized()
    request.state.principal = principal
    return principal


def declare_security(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """`schema` (FastAPI's generated OpenAPI document) with SECURITY_SCHEMES declared as FastAPI declares a
    dependency's security schemes: each in `components.securitySchemes`, and either one (`security`) on
    every operation whose route depends on `current_principal`. Encoded again through FastAPI's OpenAPI model
    as FastAPI encodes its own document, so the keys come out in the order FastAPI gives them."""
    signed_in: set[tuple[str, str]] = set()
    for route in iter_route_contexts(routes):
        dependant = getattr(route, "dependant", None)
        if dependant is not None and route.include_in_schema and _depends_on(dependant, current_principal):
            signed_in.update((route.path_format or "", method.lower()) for method in route.methods or ())
    requirement: list[dict[str, list[str]]] = [{scheme.scheme_name: []} for scheme in SECURITY_SCHEMES]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if (path, method) in signed_in:
                operations[method] = _with_security(operation, requirement)
    schemes = {
        scheme.scheme_name: jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        for scheme in SECURITY_SCHEMES
    }
    schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(schemes)
    encoded: dict[str, Any] = jsonable_encoder(OpenAPI(**schema), by_alias=True, exclude_none=True)
    return encoded


# An operation's keys that FastAPI writes before its `security` (fastapi.openapi.utils.get_openapi_path).
_BEFORE_SECURITY = frozenset({"tags", "summary", "description", "operationId", "deprecated"})


def _with_security(operation: dict[str, Any], requirement: list[dict[str, list[str]]]) -> dict[str, Any]:
    keys = list(operation)
    at = next((i for i, key in enumerate(keys) if key not in _BEFORE_SECURITY), len(keys))
    before, after = keys[:at], keys[at:]
    return {**{k: operation[k] for k in before}, "security": requirement, **{k: operation[k] for k in after}}


def _depends_on(dependant: Any, call: Callable[..., Any]) -> bool:
    return any(sub.call is call or _depends_on(sub, call) for sub in dependant.dependencies)


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets the call through only if the caller's role holds `permission`."""

    # async: a check on data already in hand, so it runs on the event loop rather than costing a hand-off to
    # the thread pool and back (every sync dependency does).
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if permission not in principal.permissions:
            raise Forbidden(f"Your role ({principal.role}) may not do this ({permission})")
        return principal

    dependency.permission = permission  # type: ignore[attr-defined]  # read by the permission-matrix test
    dependency.__name__ = f"require_{permission.name.lower()}"
    return dependency
