"""The organisation's day: one function decides it, in the organisation's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from api import clock
from api.config import Settings

API = Path(__file__).resolve().parent.parent / "api"


def test_no_host_clock_outside_the_clock_module() -> None:
    # date.today() and a naive datetime.now() follow the host's zone; the image runs in UTC.
    pattern = re.compile(
        r"\bdate\.today\(\)|\bdatetime\.now\(\s*\)|\bdatetime\.today\(\)|\butcnow\(\)\.date\(\)"
    )
    offenders = [
        f"{path.relative_to(API.parent)}:{n}"
        for path in API.rglob("*.py")
        if path.name != "clock.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_today_is_the_organisations_day_not_utcs(monkeypatch: pytest.MonkeyPatch) -> None:
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (BST).
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 7, 1, 23, 30, tzinfo=UTC))
    assert clock.today() == date(2026, 7, 2)
    # 23:30 UTC on 1 December is still 1 December in London (GMT).
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 1, 23, 30, tzinfo=UTC))
    assert clock.today() == date(2026, 12, 1)


def test_an_unknown_zone_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="IANA"):
        Settings(organisation_timezone="Europe/Atlantis")
    assert Settings(organisation_timezone="Pacific/Auckland").organisation_timezone == "Pacific/Auckland"
