from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from api.db import get_session
from tests.kit.auth import Actor


def test_a_database_outage_is_a_503_problem_not_a_500(app: FastAPI, coordinator: Actor) -> None:
    def broken() -> Iterator[Session]:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))
        yield  # pragma: no cover - makes this a generator dependency

    app.dependency_overrides[get_session] = broken
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/v1/staff", headers=coordinator.headers)
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "1"
    assert r.json()["code"] == "database_unavailable"


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    r = client.delete("/health")
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"
