"""Every route the app serves, called as every kind of caller, against tests/matrix.

A new route without a matrix entry fails here, so access control cannot be forgotten.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.auth.roles import Role
from api.main import create_app
from tests.factories import make_actor, make_api_key
from tests.matrix import EXPECTED
from tests.matrix.roles import Caller


def _walk(routes: list[Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI >= 0.16x keeps included routers nested
            out.extend(_walk(route.effective_candidates()))
        elif isinstance(getattr(route, "methods", None), set | frozenset) and hasattr(route, "path"):
            out.extend((m, route.path) for m in sorted(set(route.methods) - {"HEAD"}))
    return out


def served_routes(app: FastAPI) -> list[tuple[str, str]]:
    routes = sorted(set(_walk(list(app.routes))))
    # The walk uses FastAPI internals: cross-check it against the public spec so it can never see less.
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= set(routes), f"route walk missed {documented - set(routes)}"
    return routes


ROUTES = served_routes(create_app())


def test_every_route_has_a_matrix_entry() -> None:
    missing = [r for r in ROUTES if r not in EXPECTED]
    stale = [r for r in EXPECTED if r not in ROUTES]
    assert not missing, f"routes with no entry in tests/matrix: {missing}"
    assert not stale, f"tests/matrix lists routes the app does not serve: {stale}"


def _headers(session: Session, caller: Caller) -> dict[str, str]:
    if caller is Caller.anonymous:
        return {}
    if caller is Caller.integration:
        return make_api_key(session).headers
    return make_actor(session, Role(caller.value), coordinator=caller is Caller.coordinator).headers


def _concrete(path: str) -> str:
    # Any path parameter gets a random id: allowed callers then see 404 or 422, never 401 or 403.
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


@pytest.mark.parametrize("caller", list(Caller), ids=str)
@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_admits_exactly_the_matrix(
    client: TestClient, session: Session, method: str, path: str, caller: Caller
) -> None:
    allowed = EXPECTED.get((method, path))
    if allowed is None:
        pytest.fail(f"{method} {path} has no entry in tests/matrix")
    kwargs: dict[str, object] = {"headers": _headers(session, caller)}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    response = client.request(method, _concrete(path), **kwargs)  # type: ignore[arg-type]
    if caller in allowed:
        assert response.status_code not in (401, 403), response.text
    elif caller is Caller.anonymous:
        assert response.status_code == 401, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "forbidden"
