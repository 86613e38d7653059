"""The dashboard without a browser: signing in sets a Secure, HttpOnly, SameSite=Strict cookie; the pages
show each role what the API shows it (a trustee no child's name); nothing refers to another host."""

from __future__ import annotations

import re
import uuid
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.auth.roles import ApiKeyScope, Role
from api.compliance import org_cache
from api.config import get_settings
from api.demo import DEMO_ACCOUNTS, seed
from api.groups.models import Group
from api.participants.models import Participant
from tests.clock import FixedClock
from tests.kit.auth import make_api_key, signed_in_as


@pytest.fixture
def demo(fixed_clock: FixedClock, session: Session) -> date:
    seed(session)
    return fixed_clock.today


@pytest.fixture
def browser_like(app: FastAPI) -> TestClient:
    # https: a Secure cookie is sent back only over https (as a browser would).
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def _password(role: Role) -> tuple[str, str]:
    return next((email, password) for r, email, password in DEMO_ACCOUNTS if r is role)


def test_anonymous_gets_the_sign_in_form_with_401(client: TestClient) -> None:
    r = client.get("/dashboard")
    assert r.status_code == 401
    assert 'action="/dashboard/sign-in"' in r.text
    assert r.headers["content-type"].startswith("text/html")


def test_signing_in_sets_a_strict_cookie_and_opens_the_pages(
    demo: date, browser_like: TestClient, session: Session
) -> None:
    email, password = _password(Role.coordinator)
    wrong = browser_like.post("/dashboard/sign-in", data={"email": email, "password": "not-the-password"})
    assert wrong.status_code == 401
    assert "Incorrect email or password." in wrong.text
    r = browser_like.post("/dashboard/sign-in", data={"email": email, "password": password})
    assert r.status_code == 303
    assert r.headers["location"] == "/dashboard"
    cookie = r.headers["set-cookie"]
    for attribute in ("esafety_session=", "HttpOnly", "Secure", "SameSite=strict", "Path=/dashboard"):
        assert attribute.lower() in cookie.lower(), cookie
    # Bounded: the cookie lasts as long as the token in it, never longer.
    [max_age] = re.findall(r"Max-Age=(\d+)", cookie, re.IGNORECASE)
    assert 0 < int(max_age) <= get_settings().access_token_minutes * 60
    page = browser_like.get("/dashboard")
    assert page.status_code == 200, page.text
    assert "Organisation compliance report" in page.text
    for group in session.exec(select(Group)).all():
        assert group.name in page.text
    assert "<svg" in page.text
    # Everything from the app itself: no address of another host in the page.
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    out = browser_like.post("/dashboard/sign-out")
    assert out.status_code == 303
    assert browser_like.get("/dashboard").status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://elsewhere.example"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "null"},
        {"Sec-Fetch-Site": "same-site", "Origin": "https://sub.testserver"},
    ],
    ids=["origin", "fetch-metadata-cross-site", "fetch-metadata-same-site"],
)
def test_signing_in_from_another_site_is_refused(
    demo: date, browser_like: TestClient, headers: dict[str, str]
) -> None:
    email, password = _password(Role.coordinator)
    r = browser_like.post("/dashboard/sign-in", data={"email": email, "password": password}, headers=headers)
    assert r.status_code == 403
    assert "set-cookie" not in r.headers


def test_the_own_page_signs_in_under_no_referrer(demo: date, browser_like: TestClient) -> None:
    # Under Referrer-Policy: no-referrer a browser posts the form with Origin: null; Fetch Metadata says
    # where it came from.
    email, password = _password(Role.coordinator)
    r = browser_like.post(
        "/dashboard/sign-in",
        data={"email": email, "password": password},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
    )
    assert r.status_code == 303
    assert "esafety_session" in r.headers.get("set-cookie", "")


def test_a_trustee_never_sees_a_childs_name(demo: date, client: TestClient, session: Session) -> None:
    names = [p.full_name for p in session.exec(select(Participant)).all()]
    producers = session.exec(select(Group).where(Group.name == "Young Producers")).one()
    for path in (
        "/dashboard",
        f"/dashboard/groups/{producers.id}",
        f"/dashboard/groups/{producers.id}/findings.csv",
    ):
        trustee = client.get(path, headers=signed_in_as(session, Role.trustee))
        assert trustee.status_code == 200, trustee.text
        assert not [n for n in names if n in trustee.text], path
    coordinator = client.get(
        f"/dashboard/groups/{producers.id}", headers=signed_in_as(session, Role.coordinator)
    )
    assert [n for n in names if n in coordinator.text]
    assert "Participants are within the group" in coordinator.text


def test_dashboard_sign_in_shares_the_sign_in_throttle(demo: date, browser_like: TestClient) -> None:
    # The dashboard's form counts against the same per-account limit as POST /auth/token: after the limit,
    # even the right password is refused with 429 and how long to wait, and no cookie is set.
    email, password = _password(Role.coordinator)
    limit = get_settings().login_max_failures
    for _ in range(limit):
        wrong = browser_like.post("/dashboard/sign-in", data={"email": email, "password": "not it"})
        assert wrong.status_code == 401
    r = browser_like.post("/dashboard/sign-in", data={"email": email, "password": password})
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert "set-cookie" not in r.headers


def test_signing_out_revokes_the_token_for_the_dashboard_and_the_api(
    demo: date, browser_like: TestClient, session: Session
) -> None:
    """Issue 17 breaker finding 3: the cookie holds a full API token; after signing out, that token (copied
    before) no longer works anywhere, not just in this browser."""
    email, password = _password(Role.coordinator)
    r = browser_like.post("/dashboard/sign-in", data={"email": email, "password": password})
    assert r.status_code == 303
    token = browser_like.cookies["esafety_session"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert browser_like.get("/api/v1/auth/me", headers=bearer).status_code == 200
    assert browser_like.post("/dashboard/sign-out").status_code == 303
    for path in ("/api/v1/auth/me", "/api/v1/compliance", "/dashboard"):
        assert browser_like.get(path, headers=bearer).status_code == 401, path
    # Replayed as the cookie, too.
    browser_like.cookies.set("esafety_session", token, domain="testserver", path="/dashboard")
    assert browser_like.get("/dashboard").status_code == 401
    # Signing in again works, with a new token.
    again = browser_like.post("/dashboard/sign-in", data={"email": email, "password": password})
    assert again.status_code == 303
    assert browser_like.get("/dashboard").status_code == 200


def _is_page(r: httpx.Response, code: int) -> None:
    assert r.status_code == code, r.text
    assert r.headers["content-type"].startswith("text/html"), r.headers["content-type"]
    assert r.text.lstrip().lower().startswith("<!doctype html>")
    assert "problem" not in r.headers["content-type"]


def test_dashboard_errors_are_pages_and_the_api_keeps_problem_details(
    demo: date, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 17 breaker finding 5a: a page's errors came back as JSON. Under /dashboard every error is an HTML
    page with the API's status code; under /api the same errors stay problem+json."""
    headers = signed_in_as(session, Role.coordinator)
    unknown = uuid.uuid4()
    _is_page(client.get(f"/dashboard/groups/{unknown}", headers=headers), 404)
    _is_page(client.get(f"/dashboard/groups/{unknown}/findings.csv", headers=headers), 404)
    _is_page(client.get("/dashboard/no-such-page", headers=headers), 404)
    bad = client.get("/dashboard/groups/not-an-id", headers=headers)
    _is_page(bad, 422)
    assert "group_id" in bad.text
    wrong_method = client.get("/dashboard/sign-out", headers=headers)
    _is_page(wrong_method, 405)
    assert wrong_method.headers["allow"] == "POST"
    _is_page(client.get("/dashboard", headers={"Authorization": "Bearer not-a-token"}), 401)
    # A caller whose role may not read compliance: an API key for sync only.
    _is_page(client.get("/dashboard", headers=make_api_key(session, (ApiKeyScope.sync_write,)).headers), 403)

    # Anything unexpected: a 500 page that shows nothing of the error.
    def broken(**_: object) -> None:
        raise RuntimeError("secret internals")

    with monkeypatch.context() as patched:
        patched.setattr(org_cache, "organisation_report", broken)
        failed = client.get("/dashboard", headers=headers)
    _is_page(failed, 500)
    assert "secret internals" not in failed.text
    # The API as before.
    api = client.get(f"/api/v1/groups/{unknown}/compliance", headers=headers)
    assert (api.status_code, api.headers["content-type"]) == (404, "application/problem+json")
    api = client.get("/api/v1/groups/not-an-id/compliance", headers=headers)
    assert (api.status_code, api.headers["content-type"]) == (422, "application/problem+json")


def test_every_page_that_answers_get_answers_head(demo: date, client: TestClient, session: Session) -> None:
    """Issue 17 pass 2: `HEAD /dashboard` was 405. HEAD answers as GET does (status and headers), no body."""
    headers = signed_in_as(session, Role.coordinator)
    group = session.exec(select(Group)).first()
    assert group is not None
    for path in (
        "/dashboard",
        "/dashboard/sign-in",
        f"/dashboard/groups/{group.id}",
        "/dashboard/report.xlsx",
        f"/dashboard/groups/{group.id}/findings.csv",
    ):
        got = client.get(path, headers=headers)
        head = client.head(path, headers=headers)
        assert (head.status_code, head.headers["content-type"]) == (200, got.headers["content-type"]), path
        assert head.content == b""
    assert client.head("/dashboard").status_code == 401
    assert client.head("/dashboard/no-such-page", headers=headers).status_code == 404
    refused = client.head("/dashboard/sign-out", headers=headers)
    assert (refused.status_code, refused.headers["allow"]) == (405, "POST")


def test_sign_out_with_a_stale_cookie_revokes_the_bearer_token_it_came_with(
    demo: date, browser_like: TestClient, session: Session
) -> None:
    """Issue 17 pass 2: a garbage cookie hid the valid bearer token sent with it, and sign-out revoked
    nothing. The session signed out is the cookie's, else the bearer token's."""
    bearer = signed_in_as(session, Role.coordinator)
    assert browser_like.get("/api/v1/auth/me", headers=bearer).status_code == 200
    browser_like.cookies.set("esafety_session", "garbage", domain="testserver", path="/dashboard")
    assert browser_like.get("/dashboard", headers=bearer).status_code == 200
    out = browser_like.post("/dashboard/sign-out", headers=bearer)
    assert out.status_code == 303
    assert browser_like.get("/api/v1/auth/me", headers=bearer).status_code == 401


def test_an_api_key_cannot_sign_out_and_is_told_so(demo: date, client: TestClient, session: Session) -> None:
    key = make_api_key(session, (ApiKeyScope.read,)).headers
    out = client.post("/dashboard/sign-out", headers=key)
    _is_page(out, 400)
    assert "revoke the key" in out.text
