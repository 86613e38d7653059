"""Prometheus metrics at `GET /metrics` when METRICS_ENABLED is true (off by default), by prometheus-client.

Served in the Prometheus text format (version 0.0.4), without sign-in: expose it only to the scraper's
network. Every label is ours, never the request's: `route` is the route's template (or `unmatched`),
`method` one of the HTTP methods (else `other`), `status` the answer's code; so no name, email or id sent in
a path or body can become a label.

- `esafety_http_requests_total{method,route,status}`: answers given, counted by this process.
- `esafety_http_request_duration_seconds{method,route,status}`: their durations (histogram, seconds).
- `esafety_db_pool_size`, `esafety_db_pool_checked_out`, `esafety_db_pool_overflow`: this process's
  SQLAlchemy connection pool (connections kept, in use now, opened beyond the pool's size).
- `esafety_webhook_deliveries_pending`: deliveries not yet delivered nor given up on, read from the
  database at scrape time (so the same whichever process answers).
- `esafety_compliance_watch_last_run_timestamp_seconds` (Unix time) and `..._last_run_groups`,
  `..._last_run_changes`: the worker's last pass over every group (absent until its first pass).

Counters and histograms are kept per process. With several worker processes (WEB_CONCURRENCY above 1),
set PROMETHEUS_MULTIPROC_DIR to a directory of its own: each process then writes its counts there
(prometheus-client's multiprocess mode) and whichever process answers a scrape adds up every process's
counts. `esafety serve` empties it before the workers start (`prepare_multiprocess_directory`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from api.compliance.models import ComplianceWatchRun
from api.db import get_engine, get_session
from api.webhooks.models import DeliveryStatus, WebhookDelivery

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LABELS = ("method", "route", "status")
# From 5 ms (a cached read) to 30 s (past every database timeout); a compliance forecast is about 1 s.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# The process's own registry (not prometheus-client's global one), so nothing else registered in the
# process (a library's default collectors) is served, and the tests can build the app many times.
registry = CollectorRegistry(auto_describe=True)
requests_total = Counter(
    "esafety_http_requests", "HTTP answers given, by route template and status", LABELS, registry=registry
)
request_seconds = Histogram(
    "esafety_http_request_duration_seconds",
    "Time to answer, by route template and status",
    LABELS,
    buckets=BUCKETS,
    registry=registry,
)


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answer (api/request_context.py calls this once per request when metrics are on)."""
    labels = (method if method in METHODS else "other", route, str(status))
    requests_total.labels(*labels).inc()
    request_seconds.labels(*labels).observe(seconds)


def _pool_gauges(target: CollectorRegistry, engine: Engine) -> None:
    pool = engine.pool
    # QueuePool (files and PostgreSQL) reports these; StaticPool (an in-memory SQLite) has none.
    for name, what, method in (
        ("esafety_db_pool_size", "Connections the pool keeps", "size"),
        ("esafety_db_pool_checked_out", "Connections in use now", "checkedout"),
        ("esafety_db_pool_overflow", "Connections opened beyond the pool's size", "overflow"),
    ):
        read = getattr(pool, method, None)
        if callable(read):
            Gauge(name, what, registry=target).set(float(read()))


def _database_gauges(target: CollectorRegistry, session: Session) -> None:
    pending = session.exec(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(col(WebhookDelivery.status) == DeliveryStatus.pending)
    ).one()
    Gauge(
        "esafety_webhook_deliveries_pending",
        "Webhook deliveries waiting to be sent (or retried)",
        registry=target,
    ).set(float(pending))
    run = session.get(ComplianceWatchRun, "interval")
    if run is not None:
        prefix = "esafety_compliance_watch_last_run"
        Gauge(
            f"{prefix}_timestamp_seconds", "When the last pass over every group finished", registry=target
        ).set(run.finished_at.timestamp())
        Gauge(f"{prefix}_groups", "Groups the last pass evaluated", registry=target).set(run.groups_evaluated)
        Gauge(f"{prefix}_changes", "Status changes the last pass announced", registry=target).set(
            run.changes_announced
        )


MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_directory() -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, create it or empty it of an earlier server's counts (they would
    be added to this one's); call before the worker processes start. Without it, nothing."""
    folder = os.environ.get(MULTIPROCESS_VARIABLE)
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


def _requests_exposition() -> bytes:
    if os.environ.get(MULTIPROCESS_VARIABLE):
        # Every worker process's counts, read from the files they write.
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
        return generate_latest(collected)
    return generate_latest(registry)


def scrape(session: Session) -> bytes:
    """The whole exposition: the request metrics, then the state read now."""
    state = CollectorRegistry(auto_describe=True)
    _pool_gauges(state, get_engine())  # before the query below takes a connection of its own
    _database_gauges(state, session)
    return _requests_exposition() + generate_latest(state)


router = APIRouter()


@router.get("/metrics", include_in_schema=False)
def metrics(session: Annotated[Session, Depends(get_session)]) -> Response:
    """The Prometheus text format (0.0.4, which every Prometheus reads: our names need none of 1.0.0's
    escaping); mounted only when METRICS_ENABLED is true (api/main.py)."""
    return Response(scrape(session), media_type=CONTENT_TYPE_PLAIN_0_0_4)
