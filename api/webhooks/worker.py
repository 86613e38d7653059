"""The delivery worker: sends due deliveries, records each attempt, and retries with backoff.

Deliveries live in the database, so a restart loses nothing: a new worker picks up what is due. A row is
claimed with a conditional UPDATE (checked by its row count) before it is sent, so two workers never send
the same delivery; a claim left by a worker that died lapses after `webhook_claim_seconds`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import threading
import time
import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select, update

import api.listeners  # noqa: F401  (the domain events' subscribers, before any write)
from api.compliance.watch import announce_compliance_changes
from api.config import get_settings
from api.controls.overdue import announce_overdue
from api.db import get_engine, utcnow
from api.logging import configure as configure_logging
from api.webhooks import destinations, signing
from api.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

log = logging.getLogger(__name__)

# After the first try fails, retry after each of these; when they are used up the delivery has failed.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
BATCH = 20


def error_class(exc: httpx.HTTPError) -> str:
    """What the delivery log says about a failed send: a generic class, never the socket's own text (which
    would tell an open port from a closed one, or name internal hosts)."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return "TLS error"
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.ConnectError):
        return "connection refused"
    return "connection failed"


def status_class(status_code: int) -> str:
    """`HTTP 5xx` and the like: the code itself is kept beside it, in `status_code`."""
    return f"HTTP {status_code // 100}xx"


def send(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], *, resolve: destinations.Resolver
) -> httpx.Response:
    """POST body to url, connecting only to an address vetted now (`destinations.vet`).

    The request goes to that address itself, with the name kept in `Host` and in TLS's SNI (so the
    certificate is still checked against the name): the name is looked up once, here, and cannot resolve
    elsewhere between the check and the connection (DNS rebinding). Raises RefusedDestination, or
    httpx.HTTPError from the send.
    """
    settings = get_settings()
    allowed = settings.webhook_allowed_networks
    # The stored URL again: the rules or the environment may have changed since it was registered.
    destinations.check_url(url, production=settings.environment == "production", allowed=allowed)
    target = httpx.URL(url)
    port = target.port or (443 if target.scheme == "https" else 80)
    address = destinations.vet(target.host, port, resolve=resolve, allowed=allowed)
    extensions: dict[str, str] = {}
    if destinations.literal_address(target.host) is None and target.scheme == "https":
        extensions["sni_hostname"] = target.host
    return client.post(
        target.copy_with(host=str(address)),
        content=body,
        headers={**headers, "Host": target.netloc.decode("ascii")},
        timeout=settings.webhook_timeout_seconds,
        extensions=extensions,
    )


def signing_secrets(endpoint: WebhookEndpoint, at: datetime) -> list[str]:
    """The secrets that sign a delivery sent at `at`: the current one, and during a rotation's overlap (until
    `previous_secret_expires_at`, exclusive) the one before it too."""
    found = [endpoint.secret]
    until = endpoint.previous_secret_expires_at
    if endpoint.previous_secret is not None and until is not None and at < until:
        found.append(endpoint.previous_secret)
    return found


def _count_failure(session: Session, endpoint: WebhookEndpoint, *, succeeded: bool) -> None:
    """Add one to the endpoint's failure count (a delivery failed for good), or set it back to 0 (one was
    delivered). In SQL, so two workers' counts add up; the version moves with it (the ETag changes)."""
    if succeeded and endpoint.failure_count == 0:
        return
    counted = col(WebhookEndpoint.failure_count)
    session.exec(
        update(WebhookEndpoint)
        .where(col(WebhookEndpoint.id) == endpoint.id)
        .values(failure_count=0 if succeeded else counted + 1, version=col(WebhookEndpoint.version) + 1)
        .execution_options(synchronize_session=False)
    )


def _due(at: datetime) -> list[ColumnElement[bool]]:
    return [
        col(WebhookDelivery.status) == DeliveryStatus.pending,
        col(WebhookDelivery.next_attempt_at) <= at,
        or_(col(WebhookDelivery.claimed_until).is_(None), col(WebhookDelivery.claimed_until) < at),
    ]


def _claim(session: Session, delivery_id: uuid.UUID, at: datetime) -> bool:
    claimed = session.exec(
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id) == delivery_id, *_due(at))
        .values(claimed_until=at + timedelta(seconds=get_settings().webhook_claim_seconds))
        .returning(col(WebhookDelivery.id))
    )
    # RETURNING, read before commit: a row back means this worker's UPDATE matched, so the row is ours.
    ours = claimed.first() is not None
    session.commit()
    return ours


def _attempt(
    session: Session,
    delivery_id: uuid.UUID,
    at: datetime,
    client: httpx.Client,
    resolve: destinations.Resolver,
) -> None:
    delivery = session.get(WebhookDelivery, delivery_id, populate_existing=True)
    assert delivery is not None
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id, populate_existing=True)
    assert endpoint is not None
    delivery.updated_at = at
    if endpoint.disabled_at is not None:
        delivery.claimed_until = None
        delivery.status = DeliveryStatus.failed
        delivery.last_error = "endpoint disabled"
        session.add(delivery)
        session.commit()
        return
    # The attempt is in the log before the request goes out (the claim still held): if this worker stops
    # while sending, the log shows an attempt with no outcome, and the next worker's retry (same
    # webhook-id) is explained. Counted now, so a delivery that kills its worker still runs out of retries.
    delivery.attempts += 1
    attempt = WebhookAttempt(delivery_id=delivery.id, attempted_at=at, succeeded=None)
    session.add_all([delivery, attempt])
    session.commit()
    timestamp = int(at.timestamp())
    headers = signing.headers(signing_secrets(endpoint, at), str(delivery.id), timestamp, delivery.body)
    status_code: int | None = None
    error: str | None = None
    try:
        response = send(client, endpoint.url, delivery.body.encode(), headers, resolve=resolve)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = status_class(status_code)
    except destinations.RefusedDestination:
        error = "destination refused"
    except httpx.HTTPError as exc:
        error = error_class(exc)
    succeeded = error is None
    # Tries in this round: a redelivery starts the retry schedule again.
    tries = delivery.attempts - delivery.attempts_before_redelivery
    delivery.claimed_until = None
    delivery.last_status_code = status_code
    delivery.last_error = error
    if succeeded:
        delivery.status = DeliveryStatus.delivered
        delivery.delivered_at = at
    elif tries > len(BACKOFF):
        delivery.status = DeliveryStatus.failed
    else:
        delivery.next_attempt_at = at + BACKOFF[tries - 1]
    attempt.status_code, attempt.error, attempt.succeeded = status_code, error, succeeded
    session.add_all([delivery, attempt])
    if succeeded or delivery.status is DeliveryStatus.failed:
        _count_failure(session, endpoint, succeeded=succeeded)
    session.commit()
    # Ids and outcomes only: a log line never carries a payload.
    log.info(
        "webhook delivery %s to endpoint %s: attempt %d %s",
        delivery.id,
        endpoint.id,
        delivery.attempts,
        "delivered" if succeeded else f"failed ({error}), now {delivery.status}",
    )


def deliver_due(
    session: Session,
    now: datetime,
    client: httpx.Client,
    *,
    limit: int = BATCH,
    resolve: destinations.Resolver = destinations.system_resolver,
) -> int:
    """Send up to `limit` deliveries due at `now`, looking names up with `resolve`; returns how many were
    attempted."""
    started = time.monotonic()
    ids = session.exec(
        select(WebhookDelivery.id)
        .where(*_due(now))
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(limit)
    ).all()
    session.commit()
    sent = 0
    for delivery_id in ids:
        # Each send happens at its own moment: the clock moves on while earlier ones are sent.
        at = now + timedelta(seconds=time.monotonic() - started)
        if not _claim(session, delivery_id, at):
            continue  # another worker has it
        _attempt(session, delivery_id, at, client, resolve)
        sent += 1
    return sent


def watch_compliance(session: Session) -> int:
    """One pass of the compliance watch over every active group, then over the controls register (overdue
    controls are announced as `control.overdue`); returns how many group status changes it announced."""
    changes = len(announce_compliance_changes(session))
    announce_overdue(session)
    return changes


def run(stop: threading.Event) -> None:
    """Deliver until `stop` is set, polling every `webhook_poll_seconds` when there is nothing to send, and
    run the compliance watch every `compliance_watch_seconds` (the next pass sends what it announced)."""
    settings = get_settings()
    poll, watch_every = settings.webhook_poll_seconds, settings.compliance_watch_seconds
    next_watch = time.monotonic()
    with httpx.Client(follow_redirects=False) as client:
        while not stop.is_set():
            sent = 0
            if time.monotonic() >= next_watch:
                next_watch = time.monotonic() + watch_every
                try:
                    with Session(get_engine(), expire_on_commit=False) as session:
                        watch_compliance(session)
                except Exception:  # as below: the next interval tries again against the same stored status
                    log.exception("compliance watch pass failed")
            try:
                with Session(get_engine(), expire_on_commit=False) as session:
                    sent = deliver_due(session, utcnow(), client)
            except Exception:  # a database hiccup must not end the loop; the rows wait in the table
                log.exception("webhook delivery pass failed")
            if sent == 0:
                stop.wait(min(poll, max(0.0, next_watch - time.monotonic())))


def start_thread() -> tuple[threading.Thread, threading.Event]:
    """The loop in a background thread (the app's lifespan uses this when WEBHOOK_WORKER is true)."""
    stop = threading.Event()
    thread = threading.Thread(target=run, args=(stop,), name="webhook-worker", daemon=True)
    thread.start()
    return thread, stop


def command(args: argparse.Namespace) -> int:
    """`esafety deliver-webhooks`: run the loop in the foreground (or one pass with --once)."""
    configure_logging(get_settings().log_level)  # JSON lines, as the app's (api/logging.py)
    if args.once:
        with httpx.Client(follow_redirects=False) as client, Session(get_engine()) as session:
            print(f"Announced {watch_compliance(session)} compliance changes")
            print(f"Attempted {deliver_due(session, utcnow(), client)} deliveries")
        return 0
    stop = threading.Event()
    # Finish the delivery in hand on SIGTERM (a deploy), rather than leave its claim to lapse.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        run(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `deliver-webhooks` on the `esafety` command line."""
    p = subparsers.add_parser("deliver-webhooks", help="send webhook deliveries until stopped")
    p.add_argument("--once", action="store_true", help="one pass over what is due, then exit")
    p.set_defaults(func=command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.webhooks")
    sub = parser.add_subparsers(dest="command", required=True)
    add_command(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))
