from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api import ratelimit
from api.errors import TooManyRequests
from api.ratelimit import ApiKeyRateWindow, UserRateWindow
from tests.kit.auth import LIMITED_AT, Actor, limit_api_keys, make_api_key
from tests.kit.statements import count_statements

URL = "/api/v1/staff"
NOW = LIMITED_AT


@pytest.fixture
def limit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    limit_api_keys(monkeypatch, 3)


@pytest.mark.usefixtures("limit_3")
def test_over_the_limit_is_429_with_retry_after(client: TestClient, integration: Actor) -> None:
    for _ in range(3):
        assert client.get(URL, headers=integration.headers).status_code == 200
    r = client.get(URL, headers=integration.headers)
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "too_many_requests"
    assert r.headers["retry-after"] == "30"


@pytest.mark.usefixtures("limit_3")
def test_each_key_has_its_own_count(client: TestClient, integration: Actor, session: Session) -> None:
    for _ in range(4):
        client.get(URL, headers=integration.headers)
    other = make_api_key(session)
    assert client.get(URL, headers=other.headers).status_code == 200


@pytest.mark.usefixtures("limit_3")
def test_signed_in_users_are_not_counted(client: TestClient, coordinator: Actor) -> None:
    for _ in range(5):
        assert client.get(URL, headers=coordinator.headers).status_code == 200


def test_a_new_window_starts_the_count_again(session: Session, integration: Actor) -> None:
    assert integration.key is not None
    key_id = integration.key.id
    for _ in range(2):
        ratelimit.hit(session, api_key_id=key_id, limit=2, now=NOW)
    with pytest.raises(TooManyRequests):
        ratelimit.hit(session, api_key_id=key_id, limit=2, now=NOW + timedelta(seconds=29))
    ratelimit.hit(session, api_key_id=key_id, limit=2, now=NOW + timedelta(seconds=30))
    row = session.exec(select(ApiKeyRateWindow).where(ApiKeyRateWindow.api_key_id == key_id)).one()
    session.refresh(row)
    assert row.request_count == 1
    assert row.window_minute == int((NOW + timedelta(seconds=30)).timestamp()) // 60


def test_counting_is_one_statement(session: Session, integration: Actor) -> None:
    assert integration.key is not None
    with count_statements(session, savepoints=True) as seen:
        ratelimit.hit(session, api_key_id=integration.key.id, limit=10, now=NOW)
        ratelimit.hit(session, api_key_id=integration.key.id, limit=10, now=NOW)
    statements = [s for s in seen if "api_key_rate_window" in s]
    assert len(statements) == 2
    assert all(s.lstrip().upper().startswith("INSERT") and "ON CONFLICT" in s.upper() for s in statements)


def test_no_test_limits_a_minute_on_the_running_clock() -> None:
    """A fixed window's count starts again at each minute's end: a test that sets a `*_per_minute` limit and
    counts on the running clock fails whenever its requests straddle one (CI did, at 12:09:59 -> 12:10:00).
    Every such test goes through tests/kit/auth.py, which stops the clock the counting module reads."""
    tests = Path(__file__).parent
    kit = tests / "kit" / "auth.py"
    setting = re.compile(r"setattr\(\s*get_settings\(\)\s*,\s*[\"'][a-z_]+_per_minute[\"']")
    offenders = [
        str(path.relative_to(tests))
        for path in sorted(tests.rglob("*.py"))
        if path != kit and setting.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    assert setting.search(kit.read_text(encoding="utf-8"))  # the pattern still matches the kit's own line


def test_a_user_action_s_window_is_counted_on_the_rate_limit_module_s_clock(
    session: Session, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kit stops `api.ratelimit.utcnow`: every user action's window is read from it, so a minute's end
    on that clock, and only there, starts the count again."""
    assert coordinator.user is not None
    user_id = coordinator.user.id
    ticks = iter([NOW + timedelta(seconds=29), NOW + timedelta(seconds=30)])
    monkeypatch.setattr("api.ratelimit.utcnow", lambda: next(ticks))
    for _ in range(2):  # a limit of one, but the second falls in the next minute
        ratelimit.hit_user(session, user_id=user_id, action="test_action", limit=1, what="tests")
    row = session.exec(select(UserRateWindow).where(UserRateWindow.user_id == user_id)).one()
    session.refresh(row)
    assert (row.window_minute, row.request_count) == (int((NOW + timedelta(seconds=30)).timestamp()) // 60, 1)
