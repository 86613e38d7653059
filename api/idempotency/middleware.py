"""The Idempotency-Key middleware (the rules are in api/idempotency/__init__.py)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Iterator

import anyio
from anyio import to_thread
from fastapi.security.utils import get_authorization_scheme_param
from sqlmodel import Session
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import get_settings
from api.db import get_session, open_session, request_writes, uncounted, utcnow
from api.errors import DATABASE_ERRORS, FieldError, problem_response
from api.idempotency import store
from api.idempotency.store import KeyInUse, KeyReused, Stored, valid_key
from api.problems import ProblemCode

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
PREFIX = "/api/v1/"
log = logging.getLogger(__name__)
# Headers worth replaying; the rest (date, server, content-length) are the transport's to set again.
KEPT_HEADERS = frozenset({b"content-type", b"location", b"etag", b"cache-control", b"retry-after"})
# Who owns a request's key, from its credentials (api key, bearer token), or None if they are not let in:
# the app provides it (api/main.py: `api.auth.principal.request_owner`), so this module needs no auth.
Identify = Callable[[Session, str | None, str | None], str | None]


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope.get("headers", []) if key == name]


def credentials(scope: Scope) -> tuple[str | None, str | None]:
    """The API key and bearer token the request carries, read as the app's own dependencies read them."""
    headers = Headers(scope=scope)
    scheme, token = get_authorization_scheme_param(headers.get("authorization"))
    return headers.get("x-api-key") or None, token if scheme.lower() == "bearer" and token else None


def owner_of(
    scope: Scope, sessions: Callable[[], contextlib.AbstractContextManager[Session]], identify: Identify
) -> str | None:
    """The caller who owns this request's key (`user:<id>`, `api_key:<id>`), authenticated as the route
    would authenticate them (a disabled user, an old token epoch, a departed member of staff, a revoked,
    expired or unconfirmed key: None); None too when the request carries no credential."""
    api_key, token = credentials(scope)
    if api_key is None and token is None:
        return None
    with uncounted(), sessions() as session:
        return identify(session, api_key, token)


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        # Length-prefixed, so ("ab", "c") and ("a", "bc") cannot collide.
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def fingerprint_of(scope: Scope, body: bytes) -> str:
    """SHA-256 of method, path, query and the body in a canonical form: a JSON body parsed and written
    again with sorted keys and no spaces, so the same request re-serialised is the same request; any other
    body as sent. Source: issue 11; draft-ietf-httpapi-idempotency-key-header §2.4 (fingerprint)."""
    try:
        canonical = (
            b"json:"
            + json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        )
    except (ValueError, RecursionError):  # not JSON (a CSV roster, a form): the bytes themselves
        canonical = b"raw:" + body
    return _sha256(
        scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), canonical
    )


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, identify: Identify) -> None:
        self.app = app
        self.identify = identify

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        raw_keys = _header(scope, HEADER.lower().encode())
        if not raw_keys:
            await self.app(scope, receive, send)
            return
        key = raw_keys[0].decode("latin-1")
        if len(raw_keys) > 1 or not valid_key(key):
            text = f"{HEADER} must be one value of 1 to 255 printable ASCII characters"
            error = FieldError(field=HEADER, message=text, type="value_error")
            response = problem_response(ProblemCode.validation_error, text, [error])
            await response(scope, receive, send)
            return
        # Nothing is keyed, nor replayed, until the caller is known and may still act. An unknown, revoked
        # or expired credential passes through untouched, for the app to answer its 401.
        sessions = _session_factory(scope)
        owner = await to_thread.run_sync(owner_of, scope, sessions, self.identify)
        if owner is None:
            await self.app(scope, receive, send)
            return

        # The body is needed whole to fingerprint the request; the app then reads it from the buffer.
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        fingerprint = fingerprint_of(scope, body)

        def _claim() -> Stored | None:
            with uncounted(), sessions() as session:
                return store.claim(session, owner=owner, key=key, fingerprint=fingerprint, now=utcnow())

        try:
            stored = await to_thread.run_sync(_claim)
        except KeyReused:
            response = problem_response(
                ProblemCode.idempotency_key_reused,
                f"This {HEADER} was already used for a different request; use a new key",
                [FieldError(field=HEADER, message="used before with a different request", type="reused")],
            )
            await response(scope, receive, send)
            return
        except KeyInUse:
            response = problem_response(
                ProblemCode.idempotency_key_in_use,
                f"A request with this {HEADER} is still being processed; retry shortly",
                headers={"Retry-After": "1"},
            )
            await response(scope, receive, send)
            return
        if stored is not None:
            await _replay(stored, send)
            return

        await self._run(scope, body, receive, send, sessions, owner, key)

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        sessions: Callable[[], contextlib.AbstractContextManager[Session]],
        owner: str,
        key: str,
    ) -> None:
        sent_body = False

        async def replay_body() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            # After the body, the only message left to wait for is the client going away.
            return await receive()

        # The answer is held until it is stored, so a client that has it can always have it again.
        start: Message | None = None
        parts: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))

        stop = anyio.Event()
        failure: Exception | None = None
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_keep_claim, stop, sessions, owner, key)
            try:
                await self.app(scope, replay_body, capture)
            except Exception as exc:  # re-raised below, once the claim is settled
                failure = exc
            finally:
                stop.set()
        status = int(start["status"]) if start is not None and failure is None else None
        headers: list[tuple[bytes, bytes]] = list(start.get("headers", [])) if start is not None else []
        no_store = any(k == b"cache-control" and b"no-store" in v.lower() for k, v in headers)
        if status is not None and 200 <= status < 300 and not no_store:
            kept = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers if k in KEPT_HEADERS]
            stored = Stored(status, kept, b"".join(parts))

            def _complete() -> None:
                with uncounted(), sessions() as session:
                    store.complete(session, owner=owner, key=key, stored=stored)

            try:
                await to_thread.run_sync(_complete)
            except DATABASE_ERRORS:
                # The work is done and its answer is in hand: send it. A retry (which a client that got
                # this answer has no reason to send) runs again once the claim lapses.
                log.warning("could not store the answer for an Idempotency-Key", exc_info=True)
        elif (writes := request_writes.get()) is not None and writes.in_doubt:
            # Its COMMIT failed without an answer: the work may be saved. Keeping the claim makes a retry
            # that comes at once wait (409) rather than do the work twice; the claim lapses on its own.
            log.warning("an Idempotency-Key kept: the request's commit may or may not have been saved")
        else:
            # It failed, or its answer is not to be kept: free the key so a retry runs at once. If the
            # database is down that cannot be written either; the claim then lapses on its own, as a
            # crashed worker's does, after idempotency_lock_seconds.
            def _release() -> None:
                with uncounted(), sessions() as session:
                    store.release(session, owner=owner, key=key)

            try:
                await to_thread.run_sync(_release)
            except DATABASE_ERRORS:
                log.warning("could not release an Idempotency-Key", exc_info=True)
        if failure is not None:
            raise failure
        assert start is not None, "the app sent no response"
        await send(start)
        await send({"type": "http.response.body", "body": b"".join(parts), "more_body": False})


async def _keep_claim(
    stop: anyio.Event,
    sessions: Callable[[], contextlib.AbstractContextManager[Session]],
    owner: str,
    key: str,
) -> None:
    """While the request runs, renew its claim, so a long one keeps its key while a crashed one (which
    renews nothing) frees it after `idempotency_lock_seconds` rather than a fixed worst case."""
    every = get_settings().idempotency_lock_seconds / 3

    def _renew() -> None:
        with uncounted(), sessions() as session:
            store.renew(session, owner=owner, key=key, now=utcnow())

    while True:
        with anyio.move_on_after(every):
            await stop.wait()
        if stop.is_set():
            return
        try:
            await to_thread.run_sync(_renew)
        except DATABASE_ERRORS:  # the request itself will meet the same failure and answer for it
            log.warning("could not renew an Idempotency-Key's claim", exc_info=True)


async def _replay(stored: Stored, send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.headers]
    headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    headers.append((b"content-length", str(len(stored.body)).encode()))
    await send({"type": "http.response.start", "status": stored.status, "headers": headers})
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})


def _session_factory(scope: Scope) -> Callable[[], contextlib.AbstractContextManager[Session]]:
    """Sessions from the app's own provider, so a test's override (one rolled-back transaction) applies."""
    provider: Callable[[], Iterator[Session]] = open_session
    app = scope.get("app")
    overrides = getattr(app, "dependency_overrides", None)
    if overrides and get_session in overrides:
        provider = overrides[get_session]
    return contextlib.contextmanager(provider)
