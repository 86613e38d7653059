"""RateLimit and RateLimit-Policy (IETF httpapi draft, structured fields) on API-key requests and on sign-in
answers, 429s included, with Retry-After on the 429s as before (issue 18)."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.config import get_settings
from tests.kit.auth import LIMITED_AT, PASSWORD, Actor, limit_api_keys

URL = "/api/v1/staff"
TOKEN = "/api/v1/auth/token"
NOW = LIMITED_AT
# One list member: `"name";key=int;key=int` (RFC 9651 Item: a String with Integer parameters).
MEMBER = re.compile(r'^"([a-z-]+)"((?:;[a-z]+=\d+)+)$')


def fields(value: str) -> dict[str, dict[str, int]]:
    """A RateLimit or RateLimit-Policy field as {policy: {parameter: value}}; fails on any other syntax."""
    parsed: dict[str, dict[str, int]] = {}
    for member in value.split(", "):
        match = MEMBER.match(member)
        assert match, member
        params = (p.split("=") for p in match.group(2).strip(";").split(";"))
        parsed[match.group(1)] = {k: int(v) for k, v in params}
    return parsed


@pytest.fixture
def limit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    limit_api_keys(monkeypatch, 3)


@pytest.mark.usefixtures("limit_3")
def test_api_key_answers_count_down_to_the_429(client: TestClient, integration: Actor) -> None:
    remaining = []
    for _ in range(3):
        r = client.get(URL, headers=integration.headers)
        assert r.status_code == 200
        assert fields(r.headers["ratelimit-policy"]) == {"api-key": {"q": 3, "w": 60}}
        remaining.append(fields(r.headers["ratelimit"])["api-key"])
    assert remaining == [{"r": 2, "t": 30}, {"r": 1, "t": 30}, {"r": 0, "t": 30}]
    # An answer that is not a success still says where the key stands.
    r = client.get(f"{URL}/{uuid.uuid4()}", headers=integration.headers)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "30"
    assert fields(r.headers["ratelimit"]) == {"api-key": {"r": 0, "t": 30}}
    assert fields(r.headers["ratelimit-policy"]) == {"api-key": {"q": 3, "w": 60}}


def test_a_404_for_an_api_key_carries_the_fields(client: TestClient, integration: Actor) -> None:
    r = client.get(f"{URL}/{uuid.uuid4()}", headers=integration.headers)
    assert r.status_code == 404
    quota = get_settings().api_key_rate_per_minute
    assert fields(r.headers["ratelimit-policy"])["api-key"]["q"] == quota
    assert 0 <= fields(r.headers["ratelimit"])["api-key"]["r"] < quota


def test_signed_in_users_reading_get_no_fields(client: TestClient, coordinator: Actor) -> None:
    r = client.get(URL, headers=coordinator.headers)
    assert r.status_code == 200
    assert "ratelimit" not in r.headers
    assert "ratelimit-policy" not in r.headers


def test_sign_in_answers_count_the_client_s_own_failures(client: TestClient, staff_actor: Actor) -> None:
    assert staff_actor.user is not None
    s = get_settings()
    window = s.login_window_minutes * 60
    # Only the client's own counter: the account's would show everyone's failures on that email.
    policy = {"client": {"q": s.login_client_max_failures, "w": window}}
    email = staff_actor.user.email
    ok = client.post(TOKEN, data={"username": email, "password": PASSWORD})
    assert ok.status_code == 200
    assert fields(ok.headers["ratelimit-policy"]) == policy
    # A success gives its check back: the whole quota is left.
    assert fields(ok.headers["ratelimit"])["client"]["r"] == s.login_client_max_failures
    left = []
    for _ in range(s.login_max_failures):
        r = client.post(TOKEN, data={"username": email, "password": "a wrong guess"})
        assert r.status_code == 401
        current = fields(r.headers["ratelimit"])
        assert set(current) == {"client"}
        assert 0 < current["client"]["t"] <= window
        left.append(current["client"]["r"])
    quota = s.login_client_max_failures
    assert left == list(range(quota - 1, quota - 1 - len(left), -1))
    # The account's limit (below the client's) refuses: Retry-After as before, and no count of the account.
    refused = client.post(TOKEN, data={"username": email, "password": PASSWORD})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "account" not in refused.headers.get("ratelimit", "")
    assert "account" not in refused.headers.get("ratelimit-policy", "")


def test_someone_else_s_failures_on_an_account_do_not_show_in_a_third_party_s_answer(
    app: FastAPI, staff_actor: Actor
) -> None:
    assert staff_actor.user is not None
    email = staff_actor.user.email

    def sign_in_from(address: str, password: str) -> tuple[int, str, str]:
        with TestClient(app, client=(address, 40000)) as c:
            r = c.post(TOKEN, data={"username": email, "password": password})
        return r.status_code, r.headers["ratelimit"], r.headers["ratelimit-policy"]

    before = sign_in_from("198.51.100.7", "a third party's wrong guess")
    for _ in range(2):
        assert sign_in_from("203.0.113.9", "someone else's wrong guess")[0] == 401
    after = sign_in_from("198.51.100.8", "a third party's wrong guess")
    assert before[0] == after[0] == 401
    # The window's end moves with the clock: compare the counts and the policy, which is all there is else.
    assert re.sub(r";t=\d+", "", before[1]) == re.sub(r";t=\d+", "", after[1])
    assert before[2] == after[2]
    assert "account" not in before[1] + before[2]
