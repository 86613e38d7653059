"""A query parameter a route does not take is a 422 naming it, on every /api route (api.common
`refuse_unknown_query`, a dependency of the whole /api router): `/participants?is_current=true` used to
answer every participant, current or not, and echo the filter in its `Link` header as if applied (issue 18
breaker finding 3). The pages outside /api (Swagger UI, the spec, health) are not affected."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.kit.auth import Actor
from tests.kit.requests import refused_field


@pytest.mark.parametrize(
    ("url", "unknown"),
    [
        ("/api/v1/participants?is_current=true", "is_current"),
        ("/api/v1/consents?external_id=x", "external_id"),
        ("/api/v1/staff?limit=5&sort=name", "sort"),
        ("/api/v1/groups?offset=0&Limit=5", "Limit"),
    ],
)
def test_an_unknown_filter_on_a_list_is_422_naming_it(
    client: TestClient, coordinator: Actor, url: str, unknown: str
) -> None:
    r = client.get(url, headers=coordinator.headers)
    assert refused_field(r) == unknown
    assert "Link" not in r.headers


def test_every_api_get_without_path_parameters_refuses_an_unknown_parameter(
    app: FastAPI, client: TestClient, coordinator: Actor
) -> None:
    paths = [
        path
        for path, item in app.openapi()["paths"].items()
        if "get" in item and "{" not in path and path.startswith("/api/v1/")
    ]
    assert len(paths) > 20
    answered = {
        path: client.get(f"{path}?no_such_parameter=1", headers=coordinator.headers) for path in paths
    }
    wrong = {
        path: r.status_code
        for path, r in answered.items()
        if r.status_code != 422 or r.json()["errors"][0]["field"] != "no_such_parameter"
    }
    assert wrong == {}


def test_known_parameters_still_work(client: TestClient, coordinator: Actor) -> None:
    r = client.get("/api/v1/participants?current=true&limit=1", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    r = client.get("/api/v1/staff?limit=1&offset=0", headers=coordinator.headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("url", ["/docs?x=1", "/openapi.json?x=1", "/health?x=1"])
def test_pages_outside_the_api_are_not_affected(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("code", ["a%00b", "a%0Ab", "%E2%80%AEnot_found"])
def test_a_control_character_in_a_text_path_parameter_is_422_naming_it(client: TestClient, code: str) -> None:
    # `code` is plain text (an unknown one is a 404): the refusal is the path check's, not the type's.
    assert refused_field(client.get(f"/api/v1/problems/{code}")) == "code"
