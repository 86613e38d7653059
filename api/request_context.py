"""Each request's id, its access log line, and headers that code deep inside a request adds to its answer.

`RequestContext` is a pure ASGI middleware, the outermost layer (api/main.py), so it sees every answer:
errors, 404s for unknown paths, the plain 500 that Starlette's ServerErrorMiddleware sends, dashboard pages.
It raises nothing of its own (an exception raised in an ASGI middleware bypasses FastAPI's exception
handlers) and does little: one scan of the request headers, one header added, one log record.

- **X-Request-ID**: the caller's own id if it is a UUID (hex digits in any case, with its hyphens) or a W3C
  trace id (32 hex digits), otherwise a fresh UUID, and the caller's value is neither echoed nor logged: an
  id of free text could carry a name or a phone number (`Zebedee.Quillfeather`, `name:07700900999`) into
  every log line. Sent back on the answer and carried by every log record made while the request runs
  (api/logging.py reads `current_request_id`).
- **Access line**: one record on the `api.access` logger per request: method, the route's template
  (`/api/v1/participants/{participant_id}`, never the path as sent, which may hold a name), status, duration
  in milliseconds, request id, and the caller's kind and role (never their name or email). A path no route
  matches is logged as `unmatched`.
- **Security headers** (api/security_headers.py) on every answer, a header the route set itself kept.
- **Headers from inside**: `add_rate_limit` (api/ratelimit.py, api/auth/throttle.py) records a rate-limit
  policy's state; the answer carries it as the IETF httpapi draft's `RateLimit` and `RateLimit-Policy`
  fields (draft-ietf-httpapi-ratelimit-headers-09: `RateLimit-Policy: "api-key";q=600;w=60`,
  `RateLimit: "api-key";r=599;t=42`), whatever answer the request ends with (a 404 or 429 too).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import HttpMiddleware
from api.security_headers import HEADERS as SECURITY_HEADERS

HEADER = b"x-request-id"
# Only ids that cannot hold words: a UUID (RFC 9562 text form, any case) or a W3C trace-context trace id
# (32 hex digits). Anything freer (a load balancer's own format, `name:07700900999`) could carry personal
# data into every log line; such a request gets a fresh id instead.
_WELL_FORMED = re.compile(
    rb"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}|[0-9A-Fa-f]{32}"
).fullmatch
UNMATCHED = "unmatched"

access_log = logging.getLogger("api.access")


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """One rate-limit policy as it stands after this request: `quota` requests per `window` seconds, of
    which `remaining` are left, the count starting again in `reset` seconds."""

    name: str
    quota: int
    window: int
    remaining: int
    reset: int


@dataclass(slots=True)
class _Context:
    request_id: str
    rate_limits: dict[str, RateLimitState] = field(default_factory=dict)


_current: ContextVar[_Context | None] = ContextVar("request_context", default=None)

# Called once per request after its answer: (method, route template, status, seconds). The metrics (when
# METRICS_ENABLED) are one; the kernel knows nothing of them.
Observer = Callable[[str, str, int, float], None]


def current_request_id() -> str | None:
    """The id of the request being served in this context; None outside a request (the worker, the CLI)."""
    context = _current.get()
    return None if context is None else context.request_id


def add_rate_limit(state: RateLimitState) -> None:
    """Put `state` on this request's answer as RateLimit and RateLimit-Policy (a later state of the same
    policy replaces an earlier one). Outside a request it does nothing."""
    context = _current.get()
    if context is not None:
        context.rate_limits[state.name] = state


def rate_limit_headers(states: list[RateLimitState]) -> list[tuple[bytes, bytes]]:
    """The two fields for `states`, each policy a list member: `"name";q=..;w=..` and `"name";r=..;t=..`.
    Policy names are ours (letters, digits and `-`), so they need no escaping inside the quotes."""
    policy = ", ".join(f'"{s.name}";q={s.quota};w={s.window}' for s in states)
    current = ", ".join(f'"{s.name}";r={max(0, s.remaining)};t={max(0, s.reset)}' for s in states)
    return [(b"ratelimit-policy", policy.encode()), (b"ratelimit", current.encode())]


def new_request_id() -> str:
    """A random (version 4) UUID in its usual text form: what `str(uuid.uuid4())` gives, written out here
    because building a UUID object costs twice as much on Python 3.11, and this runs on every request."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 9562 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == HEADER:
            if _WELL_FORMED(value):
                return str(value.decode("ascii"))
            break
    return new_request_id()


def _route_template(scope: Scope) -> str:
    # FastAPI (0.16x) keeps the matched route's full template, prefixes included, as its effective route
    # context; scope["route"] is the route inside its router, whose template lacks the router's prefix.
    # tests/test_operator_logs.py checks the full template, so a FastAPI that moves it fails there.
    fastapi_scope = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    path = getattr(context, "path_format", None)
    if not isinstance(path, str):
        route = scope.get("route")  # Starlette's own routes (the docs' pages)
        path = getattr(route, "path_format", None) or getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def _caller(scope: Scope) -> tuple[str, str]:
    # api/auth/principal.py keeps the principal on request.state, which is scope["state"].
    principal = scope.get("state", {}).get("principal")
    kind = getattr(principal, "kind", None)
    role = getattr(principal, "role", None)
    return (str(kind) if kind else "anonymous", str(role) if role else "none")


class RequestContext(HttpMiddleware):
    """The outermost middleware: request id, security headers (api/security_headers.py), access line,
    RateLimit fields, and the observers. One layer for all of them, since every layer costs each request an
    extra pass over every message it sends."""

    def __init__(self, app: ASGIApp, observers: tuple[Observer, ...] = ()) -> None:
        super().__init__(app)
        self.observers = observers

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        context = _Context(_request_id(scope))
        id_header = (b"x-request-id", context.request_id.encode("ascii"))
        # Request state is a dict the app shares by reference (Request.state), so the principal set deep
        # inside is visible here afterwards.
        scope.setdefault("state", {})
        token = _current.set(context)
        status = 500  # if the app fails before it answers, the server answers 500

        async def send_with_context(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in SECURITY_HEADERS if k not in present)
                headers.append(id_header)
                if context.rate_limits:
                    extra = rate_limit_headers(list(context.rate_limits.values()))
                    headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        finally:
            _current.reset(token)
            self._finish(scope, context.request_id, status, time.perf_counter() - started)

    def _finish(self, scope: Scope, request_id: str, status: int, seconds: float) -> None:
        """The access line and the observers; never raises (a failing observer is logged, not propagated)."""
        method = scope["method"]
        route = _route_template(scope)
        if access_log.isEnabledFor(logging.INFO):
            kind, role = _caller(scope)
            extra: dict[str, Any] = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": request_id,
                "caller_kind": kind,
                "caller_role": role,
            }
            access_log.info("%s %s %d", method, route, status, extra=extra)
        for observe in self.observers:
            try:
                observe(method, route, status, seconds)
            except Exception:
                access_log.warning("a request observer failed", exc_info=True)
