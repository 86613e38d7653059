"""Security headers on every answer (errors, 401, 404, 429 and the token answer included), and /docs that
never trusts the Host header and keeps the token out of localStorage."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.config import get_settings
from api.main import create_app
from tests.kit.auth import PASSWORD, Actor
from tests.test_permission_matrix import served_routes

EXPECTED = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
TOKEN_URL = "/api/v1/auth/token"
PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def assert_secure(r: httpx.Response, what: str) -> None:
    for name, value in EXPECTED.items():
        assert r.headers.get(name) == value, (what, r.status_code, name, dict(r.headers))
    policy = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, (what, policy)


def test_every_route_answers_with_the_headers(client: TestClient, coordinator: Actor) -> None:
    # The permission matrix's walk: every route served, cross-checked against the spec.
    routes = served_routes(client.app)  # type: ignore[arg-type]
    assert len(routes) > 50
    statuses: set[int] = set()
    for method, template in routes:
        path = PARAM.sub(lambda _: str(uuid.uuid4()), template)
        for headers in ({}, coordinator.headers):
            body: dict[str, str] | None = {} if method in ("POST", "PUT", "PATCH") else None
            r = client.request(method, path, headers=headers, json=body, follow_redirects=False)
            assert_secure(r, f"{method} {path}")
            statuses.add(r.status_code)
    # Successes, redirects and refusals were all seen, so the headers hold on each kind of answer.
    assert {200, 307, 401, 404, 422} <= statuses, statuses


def test_the_token_answer_and_a_429_carry_the_headers(client: TestClient, coordinator: Actor) -> None:
    assert coordinator.user is not None
    ok = client.post(TOKEN_URL, data={"username": coordinator.user.email, "password": PASSWORD})
    assert ok.status_code == 200
    assert "access_token" in ok.json()
    assert_secure(ok, "token")
    for _ in range(get_settings().login_max_failures + 1):
        r = client.post(TOKEN_URL, data={"username": coordinator.user.email, "password": "wrong guess"})
    assert r.status_code == 429
    assert_secure(r, "429")


def test_an_unhandled_error_carries_the_headers(session: Session) -> None:
    app = create_app()

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("bug")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom")
    assert r.status_code == 500
    assert_secure(r, "500")


def test_a_header_the_route_sets_is_kept(client: TestClient) -> None:
    # /docs sets its own policy; the middleware adds no second one (a browser would enforce both).
    policies = client.get("/docs").headers.get_list("content-security-policy")
    assert len(policies) == 1
    assert "script-src 'self' 'sha256-" in policies[0]


# --- /docs ------------------------------------------------------------------------------------------


def test_docs_never_take_urls_from_the_host_header(client: TestClient) -> None:
    for path in ("/docs", "/"):
        r = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
        assert r.status_code in (200, 307), path
        assert "evil.example" not in r.text
        assert "evil.example" not in str(r.headers), dict(r.headers)
    assert (
        client.get("/", headers={"Host": "evil.example"}, follow_redirects=False).headers["location"]
        == "/docs"
    )


def test_docs_use_the_public_url_when_one_is_configured(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "public_url", "https://esafety.example.org")
    r = client.get("/docs", headers={"Host": "evil.example"})
    scripts = re.findall(r"""(?:src|href)="([^"]+)\"""", r.text)
    assert scripts
    assert all(urlsplit(s).netloc == "esafety.example.org" for s in scripts), scripts
    assert "https://esafety.example.org" in r.headers["content-security-policy"]
    assert "evil.example" not in r.text + str(r.headers)


def test_docs_allow_only_their_own_assets(client: TestClient) -> None:
    r = client.get("/docs")
    parts = (part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
    directives = {p[0]: p[1] if len(p) > 1 else "" for p in parts}
    assert directives["default-src"] == "'none'"
    assert directives["connect-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    sources = directives["script-src"].split()
    assert sources[0] == "'self'"
    assert len(sources) == 2
    assert sources[1].startswith("'sha256-")
    assert "http" not in directives["script-src"] + directives["img-src"]


def test_swagger_ui_does_not_persist_the_token(client: TestClient) -> None:
    html = client.get("/docs").text
    assert '"persistAuthorization": false' in html
    # Swagger UI writes the token to localStorage only when persistAuthorization is on; nothing else does.
    assert "localStorage" not in html
