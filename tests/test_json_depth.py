"""A JSON body nested deeper than any record of this API is a 422 naming the body on every write route,
never a 500: the parser's own recursion limit (thousands of brackets) and a body it parses but that a walk
would recurse through (issue 14 breaker: a `RecursionError` escaped `refuse_control_characters`)."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.input_checks import MAX_JSON_DEPTH, nested_deeper_than
from tests.kit.auth import Actor

WRITES = {"POST", "PUT", "PATCH"}


def _json(actor: Actor) -> dict[str, str]:
    return {**actor.headers, "Content-Type": "application/json"}


def _write_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path with every parameter filled) for every /api write route in the spec."""
    filled = str(uuid.uuid4())
    return sorted(
        (method.upper(), re.sub(r"\{[^}]+\}", filled, path))
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in item
        if method.upper() in WRITES
    )


def test_depth_is_measured_without_recursion() -> None:
    assert not nested_deeper_than({"a": [1, {"b": []}]}, 4)  # four levels: {, [, {, [
    assert nested_deeper_than({"a": [1, {"b": []}]}, 3)
    assert not nested_deeper_than("text", 0)
    assert not nested_deeper_than([[]] * 1000, 2)  # wide is not deep
    deep: list[object] = []
    for _ in range(100_000):  # far past the interpreter's recursion limit
        deep = [deep]
    assert nested_deeper_than(deep, MAX_JSON_DEPTH)


@pytest.mark.parametrize(
    "body",
    ["[" * 5000 + "]" * 5000, "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)],
    ids=["past-the-parser", "parsed-but-too-deep"],
)
def test_a_too_deep_body_is_a_4xx_on_every_write_route(
    app: FastAPI, client: TestClient, coordinator: Actor, body: str
) -> None:
    routes = _write_routes(app)
    assert len(routes) > 40  # the walk found the API's writes
    for method, path in routes:
        r = client.request(method, path, content=body, headers=_json(coordinator))
        assert r.status_code in (400, 422), (method, path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), (method, path)


def test_a_body_within_the_depth_limit_is_judged_as_before(client: TestClient, coordinator: Actor) -> None:
    deep = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    r = client.post("/api/v1/groups", content=deep, headers=_json(coordinator))
    assert r.status_code == 422
    assert all(e["field"] != "body" or "nested" not in e["message"] for e in r.json()["errors"])
    too_deep = "[" + deep + "]"
    r = client.post(
        "/api/v1/groups",
        content=too_deep,
        headers=_json(coordinator),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"
    assert "nested" in r.json()["errors"][0]["message"]
