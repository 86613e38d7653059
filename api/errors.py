"""One error base, one handler, one body shape: RFC 9457 problem details."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from api.db import Writes, may_write, request_writes
from api.problems import GENERIC, PROBLEM_JSON, ProblemCode, instance_of, request_instance, with_codes

# The problem document's shape and its rendering live with its codes (api/problems.py); named here too, where
# the domains have always taken them from.
from api.problems import FieldError as FieldError
from api.problems import Problem as Problem
from api.problems import problem_response as problem_response

log = logging.getLogger(__name__)

# The database failing rather than the request being wrong: down, unreachable, hung past a timeout, busy,
# out of connections. Each is a 503 the client may retry; IntegrityError and DataError are the request's.
DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError, PoolTimeoutError)
# Methods that only read: their transactions never take SQLite's write lock (see api/db.py).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AppError(Exception):
    """A refusal answered as a problem document: the class gives the status and the usual code, a raise
    site may name a more precise code (`code=ProblemCode.last_coordinator`); the title is the code's."""

    code = ProblemCode.bad_request
    status_code = code.status

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A refusal's status is its code's (ProblemCode), stated there once.
        cls.status_code = cls.code.status

    def __init__(
        self,
        detail: str,
        *,
        code: ProblemCode | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = ProblemCode[code]  # a string that is no member fails here, never in the answer
        self.title = self.code.summary
        self.errors = errors
        self.headers = headers
        self.extra = extra or {}

    def blinded(self) -> AppError:
        """The same answer (status, code, the fields named) with every message replaced by one that quotes
        nothing: for a caller who may change a record but not read it, so that an error cannot tell them a
        stored value (a date of birth in a date-order check, the consent's giver in an append-only clash)."""
        message = BLIND_MESSAGES.get(self.status_code, "The request does not fit the stored record")
        # A 422 still names the fields sent (the caller must know what to fix); a 409 names none, since which
        # stored fields differ from a push is itself what the caller may not read.
        errors = (
            [FieldError(field=e.field, message=message, type=e.type) for e in self.errors]
            if self.errors and self.status_code != 409
            else None
        )
        clone = AppError(message, code=self.code, errors=errors, headers=self.headers)
        clone.status_code, clone.title = self.status_code, self.title
        field = self.extra.get("field")
        clone.extra = {"field": field} if field is not None and self.status_code != 409 else {}
        return clone


class NotFound(AppError):
    code = ProblemCode.not_found


BLIND_MESSAGES = {
    409: "The change conflicts with the stored record",
    412: "If-Match does not match the record's current version",
    422: "The value does not fit the stored record",
}


class Conflict(AppError):
    code = ProblemCode.conflict


class Unprocessable(AppError):
    code = ProblemCode.validation_error

    @classmethod
    def field(cls, field: str, message: str, type_: str = "value_error") -> Unprocessable:
        return cls(message, errors=[FieldError(field=field, message=message, type=type_)])


class UnsupportedMediaType(AppError):
    code = ProblemCode.unsupported_media_type


class Unauthorized(AppError):
    code = ProblemCode.not_authenticated

    def __init__(self, detail: str = "Missing or invalid credentials", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    code = ProblemCode.forbidden


class PreconditionFailed(AppError):
    code = ProblemCode.precondition_failed


class PreconditionRequired(AppError):
    """RFC 6585 section 3: the change is only made against the version the client read."""

    code = ProblemCode.precondition_required


class TooManyRequests(AppError):
    code = ProblemCode.too_many_requests


def database_unavailable(exc: Exception, *, extra: dict[str, Any] | None = None) -> JSONResponse:
    """The 503 for a database that failed, saying truthfully whether this request had saved anything."""
    log.warning("database unavailable: %s: %s", type(exc).__name__, str(exc).splitlines()[0][:200])
    writes = request_writes.get()
    if writes is not None and writes.in_doubt:
        detail = (
            "The database failed while saving this request's changes: they may or may not have been saved. "
            "Read the record before writing again, or retry where the request is idempotent (a PUT, a sync)."
        )
    elif writes is not None and writes.committed:
        detail = (
            "The database failed part way through this request, after some of its changes were saved. "
            "Retrying it is safe where the request is idempotent (a PUT, a sync, a POST with an "
            "Idempotency-Key)."
        )
    elif writes is not None:
        detail = "The database is unavailable or busy; nothing was changed. Try again shortly."
    else:
        detail = "The database is unavailable or busy. Try again shortly."
    return problem_response(
        ProblemCode.database_unavailable, detail, headers={"Retry-After": "1"}, extra=extra
    )


class DatabaseErrors(HttpMiddleware):
    """The outermost middleware: a database failure anywhere, the other middlewares included (which
    FastAPI's exception handlers never see), is the same 503 problem rather than a plain-text 500. It also
    starts each request's bookkeeping: whether it may write (SQLite's lock, api/db.py) and what it saved."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        intent = may_write.set(scope["method"] not in READ_METHODS)
        writes = request_writes.set(Writes())
        instance = request_instance.set(instance_of(scope))
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except DATABASE_ERRORS as exc:
            if started:
                raise  # too late for another answer; the server closes the connection
            await database_unavailable(exc)(scope, receive, send)
        finally:
            request_instance.reset(instance)
            request_writes.reset(writes)
            may_write.reset(intent)


def _loc_to_field(loc: tuple[int | str, ...]) -> str:
    # Drop the "body"/"query" prefix so the client sees the field it sent.
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


DATE_FORMAT = "use YYYY-MM-DD (for example 2026-07-02)"
DATETIME_FORMAT = (
    "use an RFC 3339 date-time, YYYY-MM-DDTHH:MM:SS with Z or an offset (for example 2026-07-02T14:00:00Z or "
    "2026-07-02T15:00:00+01:00)"
)
# Pydantic's error types for a value that is not a day, or not an instant, as the client wrote it.
_DATE_ERRORS = frozenset(
    {"date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"}
)
_DATETIME_ERRORS = frozenset(
    {
        "datetime_type",
        "datetime_parsing",
        "datetime_from_date_parsing",
        "datetime_object_invalid",
        "timezone_aware",
    }
)
# How many fields' messages a 422's `detail` repeats (`errors` has them all).
DETAIL_FIELDS = 3


def readable_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message, as a person can act on it: a date or date-time that does not parse says
    the format to use (pydantic's own says "invalid character in year"), an unknown enum or literal value
    lists the allowed ones. Never quotes the value sent (it may be a child's name or birthday)."""
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    reason = (
        f" ({ctx['error']})" if ctx.get("error") else " (no offset given)" if kind == "timezone_aware" else ""
    )
    if kind in _DATE_ERRORS:
        return f"Not a valid date{reason}: {DATE_FORMAT}"
    if kind in _DATETIME_ERRORS:
        return f"Not a valid date-time{reason}: {DATETIME_FORMAT}"
    if kind in ("enum", "literal_error") and ctx.get("expected"):
        return f"Not an allowed value: use one of {ctx['expected']}"
    return str(error.get("msg", "Invalid value"))


def invalid_fields(errors: Sequence[FieldError]) -> str:
    """A 422's `detail`: the fields named, then what is wrong with the first few, so that a person reading
    only the detail knows what to fix ("Invalid fields: as_of. as_of: Not a valid date ...: use
    YYYY-MM-DD ...")."""
    names = ", ".join(sorted({e.field for e in errors}))
    said = "; ".join(f"{e.field}: {e.message}" for e in errors[:DETAIL_FIELDS])
    more = f" (and {len(errors) - DETAIL_FIELDS} more in `errors`)" if len(errors) > DETAIL_FIELDS else ""
    return f"Invalid fields: {names}. {said}{more}"


def validation_problem(exc: RequestValidationError, extra: dict[str, Any] | None = None) -> JSONResponse:
    """The 422 for input the framework refused, naming each field; `extra` adds members to the body."""
    errors = validation_errors(exc)
    return problem_response(ProblemCode.validation_error, invalid_fields(errors), errors, extra=extra)


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    return [
        FieldError(
            # A body that is not JSON at all has its character position as the location: name the body.
            field="body" if e["type"] == "json_invalid" else _loc_to_field(tuple(e.get("loc", ()))),
            message=readable_message(e),
            type=e["type"],
        )
        for e in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return problem_response(
            exc.code,
            exc.detail,
            exc.errors,
            status=exc.status_code,
            title=exc.title,
            headers=exc.headers,
            extra=exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_problem(exc)

    for error in DATABASE_ERRORS:

        @app.exception_handler(error)
        async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
            return database_unavailable(exc)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        # A value that passed validation but that the database cannot take (PostgreSQL refuses NUL
        # characters in text, even in a query's filter): bad input, so a 422 naming the field, never a 500.
        nul = "\x00"
        params = [*request.path_params.items(), *request.query_params.multi_items()]
        field = next((name for name, value in params if nul in str(value)), "body")
        message = (
            "contains a NUL character" if nul in str(exc.params) else "is not a value the database accepts"
        )
        errors = [FieldError(field=field, message=f"{field} {message}", type="value_error")]
        return problem_response(ProblemCode.validation_error, f"Invalid fields: {field}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # The framework's only 400 is a body it could not decode (bytes that are not UTF-8, a broken
            # form): to the client that is malformed input like any other, so the same 422 naming the body.
            message = "The body could not be parsed"
            errors = [FieldError(field="body", message=message, type="body_invalid")]
            return problem_response(ProblemCode.validation_error, message, errors)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            # Starlette names only the first route that matched the path; RFC 9110 asks for every method
            # the resource supports, and FastAPI serves each method of a path as a separate route.
            allowed = allowed_methods(request.app.routes, request.url.path)
            headers = {**(headers or {}), "Allow": ", ".join(sorted(allowed))}
        code = GENERIC.get(exc.status_code, ProblemCode.http_error)
        return problem_response(
            code,
            str(exc.detail),
            status=exc.status_code,
            # A status without a code of its own keeps the framework's phrase as its title.
            title=None if code is not ProblemCode.http_error else str(exc.detail),
            headers=headers,
        )


class AnsweringRoute(APIRoute):
    """A route class (`route_class=`, FastAPI's way to change how a route answers) whose endpoint's errors
    go first to `answer`, which returns the response for one, or raises it on to the app's handlers
    (`install_error_handlers`). The sign-in route adds OAuth2's fields to its problems; the dashboard's
    pages answer every error as an HTML page."""

    def answer(self, exc: Exception) -> Response:
        """The response to `exc`, raised by this route's endpoint or its dependencies; by default none: the
        app's handlers answer it."""
        raise exc

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                return self.answer(exc)

        return route


def allowed_methods(routes: Iterable[Any], path: str) -> set[str]:
    """The methods some route among `routes` (an app's, included routers walked) answers at `path`."""
    methods: set[str] = set()
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI >= 0.16x keeps included routers nested
            methods |= allowed_methods(route.effective_candidates(), path)
        elif getattr(route, "methods", None) and (regex := getattr(route, "path_regex", None)) is not None:
            methods |= set(route.methods) if regex.match(path) else set()
    return methods


# Declared on routes so the OpenAPI spec (and schemathesis) knows every answer a route can give.
def problem(description: str, *codes: ProblemCode) -> dict[str, Any]:
    """A declared problem answer and the codes it may carry on its route (none named: the status's generic
    code, added when the spec is built, api/problems.py)."""
    return with_codes({"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}, codes)


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: problem(
        "Not authenticated",
        ProblemCode.not_authenticated,
        ProblemCode.api_key_expired,
        ProblemCode.api_key_unconfirmed,
    ),
    403: problem("The caller's role may not use this route"),
    422: problem("Invalid input; `errors` names each bad field"),
    429: problem("Too many requests; see Retry-After"),
}
Responses = dict[int | str, dict[str, Any]]
NOT_FOUND: Responses = {404: problem("No such record, or not visible to the caller")}


def conflict(*codes: ProblemCode) -> Responses:
    """The declared 409, with the codes more precise than `conflict` that the route may answer."""
    return {409: problem("Conflicts with an existing record or state", ProblemCode.conflict, *codes)}


CONFLICT: Responses = conflict()
PRECONDITION: Responses = {
    412: problem("The record changed since it was read (If-Match)"),
    428: problem("This API key changes records only with If-Match, and none was sent"),
}
