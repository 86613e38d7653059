"""The test run's clock (tests/kit/run_clock.py): every test of a run, and every server a test starts in
another process, lives on the organisation's day on which the run began, so a run that goes on past the
organisation's midnight answers as it would have before it (a run that crossed midnight once failed 22
tests whose "tomorrow" had become today)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import httpx
from sqlmodel import Session, col, select

from api import clock
from api.audit.models import AuditEvent
from api.auth.roles import Role
from api.db import make_engine
from tests.kit.auth import PASSWORD, make_actor
from tests.kit.clock import TODAY
from tests.kit.databases import throwaway_database
from tests.kit.run_clock import midday_offset
from tests.kit.servers import served_by_workers


def test_the_run_is_on_the_day_it_began_and_past_its_midday() -> None:
    # TODAY was written down when the tests were imported; the run began at midday of it, so however long
    # it has run since (less than twelve hours), the organisation's day has not turned.
    local = clock.now().astimezone(clock.organisation_zone())
    assert clock.today() == TODAY
    assert local.time() >= time(12)


def test_the_offset_reaches_midday_from_either_side_of_midnight() -> None:
    # Europe/London in winter is UTC; in summer an hour ahead, so 23:30 UTC on 1 July is already 2 July.
    assert midday_offset(datetime(2026, 12, 1, 23, 59, tzinfo=UTC)) == -timedelta(hours=11, minutes=59)
    assert midday_offset(datetime(2026, 12, 1, 0, 1, tzinfo=UTC)) == timedelta(hours=11, minutes=59)
    assert midday_offset(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == timedelta(hours=11, minutes=30)
    assert midday_offset(datetime(2026, 7, 1, 11, 0, tzinfo=UTC)) == timedelta(0)


def test_a_server_in_another_process_keeps_the_runs_time() -> None:
    # The worker stamps the sign-in's audit event with its own clock: it is the run's (within the minute
    # the request takes), not the host's, from which the run's clock is hours away at all but midday.
    with throwaway_database(migrated=True) as url:
        engine = make_engine(url)
        try:
            with Session(engine, expire_on_commit=False) as s:
                actor = make_actor(s, Role.staff)
            assert actor.user is not None
            with served_by_workers(url, workers=1) as base:
                before = clock.now()
                answer = httpx.post(
                    f"{base}/api/v1/auth/token",
                    data={"username": actor.user.email, "password": PASSWORD},
                    timeout=60,
                )
                after = clock.now()
            assert answer.status_code == 200, answer.text
            with Session(engine) as s:
                stamped = s.exec(
                    select(AuditEvent.occurred_at).where(col(AuditEvent.action) == "auth.sign_in")
                ).one()
        finally:
            engine.dispose()
    assert before - timedelta(seconds=1) <= stamped <= after + timedelta(seconds=1)
