"""Prometheus /metrics (issue 18): off by default; when on, the text format, by route template and status,
with the pool, the webhook queue and the compliance watch read at scrape time, and no personal data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlmodel import Session, col, func, select

from api.compliance.models import ComplianceWatchRun
from api.compliance.watch import announce_compliance_changes
from api.config import get_settings
from api.db import get_session
from api.main import create_app
from api.metrics import prepare_multiprocess_directory
from api.webhooks import service as webhooks
from api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from tests.kit.auth import Actor
from tests.kit.databases import throwaway_database
from tests.kit.servers import served_by_workers
from tests.test_operator_logs import CARER_EMAIL, CHILD, SECRETS, participant

URL = "/api/v1/participants"


@pytest.fixture
def metrics_client(session: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr(get_settings(), "metrics_enabled", True)
    application: FastAPI = create_app()
    application.dependency_overrides[get_session] = lambda: session
    with TestClient(application) as c:
        yield c


def scrape(client: TestClient) -> tuple[str, list[Sample]]:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = list(text_string_to_metric_families(r.text))  # fails on anything not in the text format
    return r.text, [sample for family in families for sample in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    found = [
        s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    return found[0] if found else None


def test_off_by_default(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_requests_by_route_template_and_status_and_no_personal_data(
    metrics_client: TestClient, coordinator: Actor
) -> None:
    _, before = scrape(metrics_client)
    posted_before = value(before, "esafety_http_requests_total", method="POST", route=URL, status="201") or 0
    headers = coordinator.headers
    created = metrics_client.post(URL, json=participant(), headers=headers)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    metrics_client.post(URL, json=participant(date_of_birth="soon"), headers=headers)
    metrics_client.get(f"{URL}/{pid}", headers=headers)
    metrics_client.get(URL, params={"q": CHILD}, headers=headers)
    metrics_client.get(f"/api/v1/{CHILD}/{CARER_EMAIL}", headers=headers)
    metrics_client.request("BREW", f"/{CHILD}")

    text, samples = scrape(metrics_client)
    for secret in (*SECRETS, pid, coordinator.user.email if coordinator.user else "?"):
        assert secret.lower() not in text.lower(), secret
    assert (
        value(samples, "esafety_http_requests_total", method="POST", route=URL, status="201")
        == posted_before + 1
    )
    assert value(samples, "esafety_http_requests_total", method="POST", route=URL, status="422")
    assert value(
        samples, "esafety_http_requests_total", method="GET", route=URL + "/{participant_id}", status="200"
    )
    assert value(samples, "esafety_http_requests_total", method="GET", route="unmatched", status="404")
    assert value(samples, "esafety_http_requests_total", method="other", route="unmatched")
    assert value(
        samples, "esafety_http_request_duration_seconds_count", method="POST", route=URL, status="201"
    )
    # Every route label is a template the app declares (or `unmatched`), whatever paths were sent.
    routes = {s.labels["route"] for s in samples if "route" in s.labels}
    declared = set(metrics_client.get("/openapi.json").json()["paths"]) | {"/metrics", "unmatched"}
    assert routes <= declared, routes - declared
    assert {URL, URL + "/{participant_id}", "unmatched"} <= routes


def test_pool_queue_and_watch_are_read_at_scrape_time(
    metrics_client: TestClient, coordinator: Actor, session: Session
) -> None:
    _, samples = scrape(metrics_client)
    assert value(samples, "esafety_db_pool_size") is not None
    assert value(samples, "esafety_db_pool_checked_out") is not None
    assert value(samples, "esafety_compliance_watch_last_run_timestamp_seconds") is None  # never ran

    r = metrics_client.post(
        "/api/v1/webhooks",
        json={"url": "https://crm.example.org/hook", "events": ["incident.reported"]},
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    for _ in range(3):
        webhooks.emit(session, WebhookEvent.incident_reported, {"incident_id": uuid.uuid4()})
    session.commit()
    pending = session.exec(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(col(WebhookDelivery.status) == DeliveryStatus.pending)
    ).one()
    assert pending >= 3
    announce_compliance_changes(session)
    run = session.get(ComplianceWatchRun, "interval")
    assert run is not None

    _, samples = scrape(metrics_client)
    assert value(samples, "esafety_webhook_deliveries_pending") == pending
    assert (
        value(samples, "esafety_compliance_watch_last_run_timestamp_seconds") == run.finished_at.timestamp()
    )
    assert value(samples, "esafety_compliance_watch_last_run_groups") == run.groups_evaluated


def test_an_earlier_server_s_counts_are_cleared_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    prepare_multiprocess_directory()
    assert folder.is_dir()
    (folder / "counter_123.db").write_bytes(b"stale")
    (folder / "keep.txt").write_text("not ours")
    prepare_multiprocess_directory()
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


def test_several_worker_processes_are_added_up(tmp_path: Path) -> None:
    """Two uvicorn worker processes with PROMETHEUS_MULTIPROC_DIR: whichever answers a scrape counts every
    request, whichever process served it (each process alone would show its own share)."""
    sent = 30
    with (
        throwaway_database(migrated=True) as url,
        served_by_workers(
            url, workers=2, metrics_enabled="true", prometheus_multiproc_dir=str(tmp_path)
        ) as base,
    ):
        for _ in range(sent):  # a new connection each, so both processes take some
            assert httpx.get(f"{base}/api/v1/problems", timeout=30).status_code == 200
        seen = []
        for _ in range(6):
            r = httpx.get(f"{base}/metrics", timeout=30)
            samples = [s for f in text_string_to_metric_families(r.text) for s in f.samples]
            seen.append(
                value(
                    samples,
                    "esafety_http_requests_total",
                    method="GET",
                    route="/api/v1/problems",
                    status="200",
                )
            )
    assert seen == [sent] * 6
    assert len(list(tmp_path.glob("counter_*.db"))) >= 1
