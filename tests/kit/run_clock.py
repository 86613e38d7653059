"""The run's clock: the service's clock, for a whole test run, set to midday of the organisation's day on
which the run began, and running on from there in real time.

Tests write dates down once (a module constant "tomorrow", a factory's default `as_of`) while the service
asks `api.clock.today()` on every request; a run that crossed the organisation's midnight failed wherever
the two met. Moving the run's clock to midday of the day it began keeps the whole run on that day for
twelve hours, whatever the hour it starts, and the same on every run (never only near midnight, where a
fault would show itself once a night and nowhere else). The offset is fixed when the run begins and handed
to the servers the tests start in other processes (`OFFSET_VARIABLE`, read by `tests.kit.run_clock_app`),
so that a token minted here and checked there agree on the hour. `fixed_clock` (tests/conftest.py) still
stops the clock for the tests that need an exact instant.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, time, timedelta, tzinfo

from api import clock

OFFSET_VARIABLE = "ESAFETY_TESTS_CLOCK_OFFSET_SECONDS"


def _real_now() -> datetime:
    return datetime.now(UTC)


def midday_offset(instant: datetime) -> timedelta:
    """How far to move `instant` (timezone-aware) to reach midday of the organisation's day it falls on;
    between minus and plus twelve hours (a day of a clock change aside)."""
    midday = datetime.combine(clock.day_of(instant), time(12), clock.organisation_zone())
    return midday.astimezone(UTC) - instant


def install() -> timedelta:
    """Put the run's clock in place of `api.clock.now` in this process. The first process of a run fixes
    the offset and records it in the environment, which the processes it starts inherit; they take it
    from there. Returns the offset."""
    recorded = os.environ.get(OFFSET_VARIABLE)
    if recorded is None:
        offset = midday_offset(_real_now())
        os.environ[OFFSET_VARIABLE] = str(offset.total_seconds())
    else:
        offset = timedelta(seconds=float(recorded))

    def now() -> datetime:
        return _real_now() + offset

    clock.now = now
    return offset


class ServiceTime(datetime):
    """`datetime` whose `now()` is the service's clock: for a library in the tests' own process that stands
    for the world outside the service (a webhook receiver checking a delivery's timestamp), so that it and
    the service agree on the hour as they would in production, where both read the real time."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> ServiceTime:
        return cls.fromtimestamp(clock.now().timestamp(), tz)
