"""Liveness and readiness, and the answers every route shares: body limits, unknown routes, bad bodies."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.main import create_app
from api.migrations import head_revision, upgrade
from tests.kit.auth import Actor
from tests.kit.databases import engine_for, throwaway_database
from tests.kit.requests import problem_answer

MIB = 1024 * 1024
STAFF = "/api/v1/staff"


def _problem(r: Response, status: int, code: str) -> dict[str, Any]:
    body = problem_answer(r, status)
    assert body["code"] == code
    return body


def test_health_needs_nothing(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_ready_at_head(client: TestClient) -> None:
    r = client.get("/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "status": "ok",
        "database": "ok",
        "revision": head_revision(),
        "head": head_revision(),
    }


@pytest.fixture
def behind(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, str]]:
    """A fresh app whose database is a throwaway one, left un-migrated for the test to set up."""
    with throwaway_database() as url, engine_for(url) as engine:
        monkeypatch.setattr("api.health.get_engine", lambda: engine)
        with TestClient(create_app()) as client:
            yield client, url


def test_ready_is_503_on_an_unmigrated_database(behind: tuple[TestClient, str]) -> None:
    client, _ = behind
    body = _problem(client.get("/ready"), 503, "not_ready")
    assert body["database"] == "behind"
    assert body["revision"] is None
    assert body["head"] == head_revision()


def test_ready_is_503_one_migration_behind(behind: tuple[TestClient, str]) -> None:
    client, url = behind
    upgrade(url, "head-1")
    body = _problem(client.get("/ready"), 503, "not_ready")
    assert body["database"] == "behind"
    assert body["revision"] not in (None, head_revision())
    upgrade(url)
    assert client.get("/ready").status_code == 200


def test_ready_is_503_when_the_database_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    with engine_for("sqlite:////nonexistent-dir/esafety.db") as engine:
        monkeypatch.setattr("api.health.get_engine", lambda: engine)
        with TestClient(create_app()) as client:
            body = _problem(client.get("/ready"), 503, "not_ready")
    assert body["database"] == "unreachable"


def test_body_over_a_mebibyte_with_content_length_is_413(client: TestClient, coordinator: Actor) -> None:
    r = client.post(
        STAFF,
        content=b"x" * (MIB + 1),
        headers={**coordinator.headers, "Content-Type": "application/json"},
    )
    body = _problem(r, 413, "payload_too_large")
    assert str(MIB) in str(body["detail"])


def test_chunked_body_over_a_mebibyte_is_413(client: TestClient, coordinator: Actor) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(17):
            yield b" " * (64 * 1024)

    r = client.post(
        STAFF, content=chunks(), headers={**coordinator.headers, "Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in r.request.headers}
    _problem(r, 413, "payload_too_large")


def test_body_just_under_the_limit_is_read(client: TestClient, coordinator: Actor) -> None:
    # A megabyte of whitespace around an empty object: read and validated, so the answer names fields.
    payload = b"{}" + b" " * (MIB - 2)
    r = client.post(
        STAFF, content=payload, headers={**coordinator.headers, "Content-Type": "application/json"}
    )
    body = _problem(r, 422, "validation_error")
    assert "full_name" in str(body["detail"])


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    body = _problem(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert body["title"] == "Not found"


def test_wrong_method_is_405_listing_every_method_of_the_path(client: TestClient) -> None:
    r = client.delete(f"{STAFF}/00000000-0000-4000-8000-000000000000")
    _problem(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].split(", ")) == {"GET", "PATCH"}


def test_malformed_json_is_422_naming_the_body(client: TestClient, coordinator: Actor) -> None:
    r = client.post(
        STAFF, content=b'{"full_name": ', headers={**coordinator.headers, "Content-Type": "application/json"}
    )
    body = _problem(r, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["body"]


def test_undecodable_body_is_422_naming_the_body(client: TestClient, coordinator: Actor) -> None:
    r = client.post(
        STAFF, content=b"\xff\xfe", headers={**coordinator.headers, "Content-Type": "application/json"}
    )
    body = _problem(r, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["body"]


def test_nul_character_in_a_filter_is_never_a_500(client: TestClient, coordinator: Actor) -> None:
    # PostgreSQL refuses NUL in text; SQLite finds nothing. Either way no 500, and a 422 names the field.
    r = client.get(STAFF, params={"external_id": "a\x00b"}, headers=coordinator.headers)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert [e["field"] for e in r.json()["errors"]] == ["external_id"]
    # The request after it still works (the failed statement was rolled back).
    assert client.get(STAFF, headers=coordinator.headers).status_code == 200
