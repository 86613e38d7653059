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

from api.auth.principal import current_principal
from api.auth.roles import ApiKeyScope, Permission, Role, permissions_for
from api.main import create_app
from tests.kit.auth import make_actor, make_api_key
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


def _dependencies(dependant: Any) -> list[Any]:
    out = []
    for dep in dependant.dependencies:
        out.append(dep.call)
        out.extend(_dependencies(dep))
    return out


def _declarations(app: FastAPI) -> dict[tuple[str, str], tuple[frozenset[Permission], bool]]:
    """Each route's declared permissions (`require(...)` in its signature) and whether it needs a caller."""
    found: dict[tuple[str, str], tuple[frozenset[Permission], bool]] = {}

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "effective_candidates"):
                walk(route.effective_candidates())
            elif hasattr(route, "dependant") and isinstance(getattr(route, "methods", None), set | frozenset):
                calls = _dependencies(route.dependant)
                permissions = frozenset(c.permission for c in calls if hasattr(c, "permission"))
                signed_in = any(c is current_principal for c in calls)
                for method in set(route.methods) - {"HEAD"}:
                    found[(method, route.path)] = (permissions, signed_in)

    walk(list(app.routes))
    return found


DECLARED = _declarations(create_app())
CALLER_PERMISSIONS: dict[Caller, frozenset[Permission]] = {
    Caller.anonymous: frozenset(),
    Caller.coordinator: permissions_for(Role.coordinator),
    Caller.staff: permissions_for(Role.staff),
    Caller.trustee: permissions_for(Role.trustee),
    # The matrix's integration caller holds both scopes (tests.factories.make_api_key).
    Caller.integration: permissions_for(Role.integration, frozenset(ApiKeyScope)),
}
DECIDED = [r for r in ROUTES if r in DECLARED and DECLARED[r][0]]


@pytest.mark.parametrize(("method", "path"), DECIDED, ids=[f"{m} {p}" for m, p in DECIDED])
def test_declared_permission_admits_exactly_the_matrix(method: str, path: str) -> None:
    # Where the route's declaration decides, the matrix is checked against it without a request.
    permissions, signed_in = DECLARED[(method, path)]
    assert signed_in, "a route that names a permission needs a signed-in caller"
    admitted = {c for c in Caller if c is not Caller.anonymous and permissions <= CALLER_PERMISSIONS[c]}
    assert admitted == set(EXPECTED[(method, path)])


def _call(client: TestClient, session: Session, method: str, path: str, caller: Caller) -> Any:
    kwargs: dict[str, object] = {"headers": _headers(session, caller)}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return client.request(method, _concrete(path), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_route_enforces_the_matrix(client: TestClient, session: Session, method: str, path: str) -> None:
    """Every route, called for real: anonymous gets 401 unless the route is open, and one caller the matrix
    refuses gets 403 (so the declaration is enforced, not only written). A route whose access no
    declaration decides is called as every kind of caller."""
    allowed = EXPECTED.get((method, path))
    if allowed is None:
        pytest.fail(f"{method} {path} has no entry in tests/matrix")
    decided = (method, path) in DECIDED
    callers = (
        [Caller.anonymous, *sorted(set(Caller) - allowed - {Caller.anonymous})[:1]]
        if decided
        else list(Caller)
    )
    for caller in callers:
        response = _call(client, session, method, path, caller)
        if caller in allowed:
            assert response.status_code not in (401, 403), (caller, response.text)
        elif caller is Caller.anonymous:
            assert response.status_code == 401, response.text
        else:
            assert response.status_code == 403, (caller, response.text)
            if path.startswith("/dashboard"):  # a page for a person: its errors are pages too
                assert response.headers["content-type"].startswith("text/html")
            else:
                assert response.json()["code"] == "forbidden"
