"""A clock the tests set: the `fixed_clock` fixture (tests/conftest.py) puts it in place of api.clock.now,
so every "today" and every stamp the service makes follows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from api import clock

# 23:30 UTC on 1 July is 00:30 on 2 July in London (BST): the hour in which a host running in UTC would
# still be living in yesterday.
LONDON_JUST_AFTER_MIDNIGHT = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)

# The organisation's day when the tests were imported, for dates a test writes down (the factories read the
# clock when called instead, so that `fixed_clock` moves them).
TODAY = clock.today()


@dataclass
class FixedClock:
    instant: datetime

    def now(self) -> datetime:
        return self.instant

    @property
    def today(self) -> date:
        """The organisation's day at the fixed instant."""
        return clock.day_of(self.instant)

    def set(self, instant: datetime) -> None:
        self.instant = instant

    def advance(self, **delta: float) -> None:
        self.instant += timedelta(**delta)
