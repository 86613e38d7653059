from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import Row
from starlette.concurrency import run_in_threadpool

from api.accounts import service
from api.auth import throttle
from api.auth.models import PasswordChange, Token, User, UserPublic
from api.auth.permissions import OwnAccount
from api.db import SessionDep
from api.errors import NOT_FOUND, AnsweringRoute, AppError, validation_errors, validation_problem

router = APIRouter()

# RFC 6749 §5.2 error codes by status: credentials refused, a malformed request, and (RFC 8628 §3.5, the
# token endpoint's code for "slow down") throttled.
OAUTH_ERRORS = {401: "invalid_grant", 422: "invalid_request", 429: "slow_down"}


def oauth_error(status: int, description: str) -> dict[str, str]:
    return {"error": OAUTH_ERRORS.get(status, "invalid_request"), "error_description": description}


class OAuthErrorRoute(AnsweringRoute):
    """The token endpoint's errors carry RFC 6749 §5.2 `error` and `error_description` beside the problem
    details, so an OAuth2 client (Swagger UI's Authorize dialog) can show why sign-in failed and, when
    throttled, how long to wait."""

    def answer(self, exc: Exception) -> Response:
        if isinstance(exc, AppError):
            exc.extra = {**exc.extra, **oauth_error(exc.status_code, exc.detail)}
        elif isinstance(exc, RequestValidationError):
            errors = validation_errors(exc)
            extra = oauth_error(422, "; ".join(f"{e.field}: {e.message}" for e in errors))
            if any(e.field == "grant_type" for e in errors):
                extra["error"] = "unsupported_grant_type"
            return validation_problem(exc, extra)
        raise exc


def client_of(request: Request) -> str:
    """The caller's address, through trusted proxies only (TRUSTED_PROXIES)."""
    peer = request.client.host if request.client else None
    return throttle.client_address(peer, request.headers.getlist("x-forwarded-for"))


def sign_in(
    session: SessionDep, request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    """OAuth2 password sign-in (email as `username`). After `LOGIN_MAX_FAILURES` failed attempts for one
    account, or `LOGIN_CLIENT_MAX_FAILURES` from one address across accounts, within
    `LOGIN_WINDOW_MINUTES`, further attempts get 429 with `Retry-After`, whatever the password. Errors also
    carry OAuth2's `error` and `error_description`."""
    token, expires_in = service.sign_in(
        session=session, email=form.username, password=form.password, client=client_of(request)
    )
    return Token(access_token=token, expires_in=expires_in)


router.add_api_route(
    "/token",
    sign_in,
    methods=["POST"],
    response_model=Token,
    summary="Sign in",
    route_class_override=OAuthErrorRoute,
)


@router.get("/me", response_model=UserPublic, responses=NOT_FOUND, summary="Who am I")
async def me(session: SessionDep, caller: OwnAccount) -> User | Row[Any]:
    """The signed-in user and their role."""
    # The account signing in read (and checked) in this request, a row with UserPublic's fields: answered on
    # the event loop, with no statement and no hand-off to the thread pool; anything else reads it there.
    own = service.signed_in(session=session, caller=caller)
    if own is not None:
        return own
    return await run_in_threadpool(lambda: service.get_own(session=session, caller=caller))


@router.post("/password", response_model=Token, summary="Change my password")
def change_password(session: SessionDep, request: Request, caller: OwnAccount, data: PasswordChange) -> Token:
    """Change your own password (at least 12 characters, not the current one). Every token issued before,
    on any device, stops working at once: use the fresh token in this answer. A wrong current password
    counts towards the sign-in limits, as a failed sign-in does."""
    token, expires_in = service.change_password(
        session=session,
        caller=caller,
        current_password=data.current_password,
        new_password=data.new_password,
        client=client_of(request),
    )
    return Token(access_token=token, expires_in=expires_in)
