"""create_app(): the application, its error handlers and the one router."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp

import api.listeners  # noqa: F401  (the domain events' subscribers, before any write)
from api.auth.principal import declare_security, request_owner
from api.config import get_settings
from api.dashboard.router import router as dashboard_router
from api.docs import install_docs
from api.errors import DatabaseErrors, install_error_handlers
from api.health import router as health_router
from api.idempotency.middleware import HEADER as IDEMPOTENCY_HEADER
from api.idempotency.middleware import PREFIX as IDEMPOTENCY_PREFIX
from api.idempotency.middleware import IdempotencyMiddleware
from api.limits import BodySizeLimit
from api.problem_types import router as problem_types_router
from api.problems import declare_problem_codes
from api.request_context import Observer, RequestContext
from api.router import describe_parameters, include_api, order_examples
from api.standard_headers import StandardHeaders, declare_standard_headers

DESCRIPTION = """
Keeps an organisation's e-safety policy for the children and young people it works with: staff,
participants, online groups, memberships, consents and incidents, with each group's compliance with the
policy evaluated on demand, every finding citing the policy sentence it enforces.

Sign in with **Authorize** (email and password), or send another system's key as `X-API-Key`.
Errors are RFC 9457 problem details (`application/problem+json`) with a machine-readable `code`, whose
`type` (`/api/v1/problems/{code}`) says what it means.
"""


def operation_id(route: APIRoute) -> str:
    # Stable ids from the function name alone: generated clients already group operations by tag, so a
    # tag prefix would read twice (`staff.staff_create_staff`). Names are unique across the app (tested).
    return route.name


_frozen = False
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Your unique id for this request (a UUID, say). A retry with the same key and body gets the first "
        "answer back (marked `Idempotent-Replayed: true`) without the work being done again; the same key "
        "with a different request is a 422, and a retry while the first is still running a 409. Keys are "
        "kept for 24 hours, per caller (a user, an API key). Only successful answers are stored."
    ),
    # Printable ASCII without leading or trailing spaces (HTTP strips those), at most 255 characters.
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
}


def declare_extra_schemas(schema: dict[str, Any]) -> None:
    """Add the models of bodies a route reads itself (a roster upload, JSON or CSV) to the spec's components,
    where the route's declared request body refers to them."""
    from api.rosters.router import BODY_MODELS

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in BODY_MODELS:
        found = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(found.pop("$defs", {}))
        components[model.__name__] = found


def declare_idempotency_key(app: FastAPI) -> None:
    """Declare the Idempotency-Key header on every POST under /api/v1 in the spec, so generated clients can
    send it, the ways to sign in (api/auth/principal.py `declare_security`), and each declared problem
    answer's codes (api/problems.py). The middleware reads the header
    for every route, so it is added to the generated document once here rather than to each route's
    signature (where it would be an unused parameter)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = declare_security(build(), app.routes)
        declare_extra_schemas(schema)
        for path, operations in schema["paths"].items():
            post = operations.get("post")
            if path.startswith(IDEMPOTENCY_PREFIX) and post is not None:
                post.setdefault("parameters", []).append(dict(IDEMPOTENCY_KEY_PARAMETER))
        declare_problem_codes(schema, idempotent_prefix=IDEMPOTENCY_PREFIX)
        describe_parameters(schema)
        order_examples(schema)
        declare_standard_headers(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    # Measured (bench/README.md): a smaller pool and rarer GC help the CPU-bound evaluation routes.
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threadpool_size
    gc.set_threshold(settings.gc_threshold0, *gc.get_threshold()[1:])
    # Everything imported and built at start-up lives as long as the process: out of the collector's sight,
    # a full collection no longer walks it (an evaluation allocates many objects, so collections are
    # frequent). Once per process: the tests start the app many times.
    global _frozen
    if not _frozen:
        gc.freeze()
        _frozen = True
    if not settings.webhook_worker:
        yield
        return
    from api.webhooks.worker import start_thread

    thread, stop = start_thread()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="E-safety compliance service",
        version="1.0.0",
        description=DESCRIPTION,
        # Swagger UI is served from the app itself (api/docs.py): no outside hosts needed.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    declare_idempotency_key(app)
    app.include_router(health_router)
    app.include_router(problem_types_router)
    include_api(app)
    app.include_router(dashboard_router)
    # Added first, so it runs inside BodySizeLimit: an oversized body is refused before it is buffered.
    app.add_middleware(IdempotencyMiddleware, identify=request_owner)
    # Outside it, so a replayed 201 carries its Location as the first answer did.
    app.add_middleware(StandardHeaders)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    # Added last, so it is the outermost: it sees a database error raised by any middleware inside it.
    app.add_middleware(DatabaseErrors)
    install_docs(app)
    observers: tuple[Observer, ...] = ()
    if settings.metrics_enabled:
        from api import metrics

        app.include_router(metrics.router)
        observers = (metrics.observe,)
    # Outside everything else: the request id and the security headers are on every answer, and the id in
    # every log line of the request.
    wrap_outermost(app, lambda inner: RequestContext(inner, observers))
    return app


def wrap_outermost(app: FastAPI, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
    """Put `middleware` outside Starlette's own ServerErrorMiddleware, which `add_middleware` cannot reach,
    so even the plain 500 for an unhandled error carries the headers. Outside IdempotencyMiddleware too,
    which must see a route's own Cache-Control (a `no-store` answer is never kept for replay). A later call
    wraps an earlier one."""
    build = app.build_middleware_stack

    def build_middleware_stack() -> ASGIApp:
        return middleware(build())

    app.build_middleware_stack = build_middleware_stack  # type: ignore[method-assign]


app = create_app()
