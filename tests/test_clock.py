"""The organisation's day: one function decides it, in the organisation's time zone."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from api import clock
from api.auth.roles import Role
from api.compliance.models import Waiver
from api.config import Settings
from tests.kit.auth import PASSWORD, Actor, make_actor
from tests.kit.clock import FixedClock
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.incidents import make_incident
from tests.kit.participants import make_participant

API = Path(__file__).resolve().parent.parent / "api"


# date.today() and a naive datetime.now() follow the host's zone (the image runs in UTC); any datetime.now()
# is the host's instant, not the service's clock, which a test moves (and the test run sets at midday).
HOST_CLOCK = re.compile(
    r"\bdate\.today\(\)|\bdatetime\.now\(|\bdatetime\.today\(\)|\bdatetime\.utcnow\(|\butcnow\(\)\.date\(\)"
)


def _host_clock_reads(folder: Path, *, allowed: set[str]) -> list[str]:
    return [
        f"{path.relative_to(API.parent)}:{n}"
        for path in folder.rglob("*.py")
        if str(path.relative_to(API.parent)) not in allowed
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if HOST_CLOCK.search(line) and not line.lstrip().startswith("#")
    ]


def test_no_host_clock_outside_the_clock_module() -> None:
    assert _host_clock_reads(API, allowed={"api/clock.py"}) == []


def test_the_tests_read_the_services_clock() -> None:
    # A test that stamps a record with the host's clock disagrees with the service by the run clock's
    # offset (tests/kit/run_clock.py): hours, in one direction or the other with the hour the run began.
    tests = API.parent / "tests"
    assert _host_clock_reads(tests, allowed={"tests/kit/run_clock.py", "tests/test_clock.py"}) == []


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


# End to end, with the service's clock at 2026-07-01T23:30Z: 00:30 on 2 July in London.
JULY_2 = date(2026, 7, 2)


def _withdraw_a_consent(client: TestClient, coordinator: Actor, session: Session, day: str) -> Response:
    """Withdraw a new young person's consent as of `day`."""
    consent = make_consent(session, make_participant(session))
    r: Response = client.post(
        f"/api/v1/consents/{consent.id}/withdraw", json={"withdrawn_on": day}, headers=coordinator.headers
    )
    return r


def test_a_withdrawal_dated_the_organisations_today_is_accepted(
    fixed_clock: FixedClock, session: Session, client: TestClient, coordinator: Actor
) -> None:
    assert fixed_clock.today == JULY_2
    r = _withdraw_a_consent(client, coordinator, session, "2026-07-02")
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn_on"] == "2026-07-02"
    assert r.json()["in_force"] is False
    # The day after is still the future.
    r = _withdraw_a_consent(client, coordinator, session, "2026-07-03")
    assert r.status_code == 422, r.text


def test_staff_leaving_on_the_organisations_today_have_lost_access(
    fixed_clock: FixedClock, session: Session, client: TestClient
) -> None:
    leaving_today = make_actor(session, Role.staff, left_on=JULY_2)
    leaving_tomorrow = make_actor(session, Role.staff, left_on=JULY_2 + timedelta(days=1))
    assert leaving_today.staff is not None
    assert client.get("/api/v1/auth/me", headers=leaving_today.headers).status_code == 401
    assert client.get("/api/v1/auth/me", headers=leaving_tomorrow.headers).status_code == 200
    signed_in = client.post(
        "/api/v1/auth/token", data={"username": leaving_today.staff.email, "password": PASSWORD}
    )
    assert signed_in.status_code == 401, signed_in.text


def test_compliance_answers_as_of_the_organisations_today(
    fixed_clock: FixedClock, session: Session, client: TestClient, coordinator: Actor
) -> None:
    group = make_group(session, started_on=date(2026, 1, 5))
    r = client.get(f"/api/v1/groups/{group.id}/compliance", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["as_of"] == "2026-07-02"
    assert client.get("/api/v1/compliance", headers=coordinator.headers).json()["as_of"] == "2026-07-02"
    r = client.get(f"/api/v1/groups/{group.id}/compliance?as_of=2026-07-03", headers=coordinator.headers)
    assert r.status_code == 422


def test_an_incident_reported_just_after_midnight_counts_on_the_organisations_day(
    fixed_clock: FixedClock, session: Session, client: TestClient, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    group = make_group(session, started_on=date(2026, 1, 5))
    # 23:30 UTC on 30 June is 00:30 on 1 July in London: July's, in the statistics and the day filters.
    make_incident(session, group, coordinator.staff, created_at=datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    listed = client.get(
        "/api/v1/incidents?occurred_from=2026-07-01&occurred_to=2026-07-01", headers=coordinator.headers
    )
    assert listed.json()["total"] == 1
    june = client.get("/api/v1/incidents?occurred_to=2026-06-30", headers=coordinator.headers)
    assert june.json()["total"] == 0
    stats = client.get("/api/v1/incidents/stats", headers=coordinator.headers).json()
    assert list(stats["by_month"]) == ["2026-07"]


def test_a_waiver_granted_just_after_midnight_is_granted_on_the_organisations_day(
    fixed_clock: FixedClock, session: Session
) -> None:
    waiver = Waiver(
        group_id=make_group(session).id,
        rule_id="GRP-PERIODIC-REVIEW",
        reason="paused",
        expires_on=date(2026, 9, 1),
        granted_by_label="test",
    )
    assert waiver.granted_on == JULY_2


def test_an_access_token_lives_by_the_services_clock(
    fixed_clock: FixedClock, session: Session, client: TestClient
) -> None:
    # Issued and checked against the same clock: a token issued in July 2026 is good for its 30 minutes then.
    actor = make_actor(session, Role.staff)
    assert client.get("/api/v1/auth/me", headers=actor.headers).status_code == 200
    fixed_clock.advance(minutes=29)
    assert client.get("/api/v1/auth/me", headers=actor.headers).status_code == 200
    fixed_clock.advance(minutes=1)
    assert client.get("/api/v1/auth/me", headers=actor.headers).status_code == 401
