"""The organisation's clock: the one place that says what day and time it is.

"Today" is the organisation's calendar day in `ORGANISATION_TIMEZONE` (an IANA name, default
Europe/London), never the host's: the image runs in UTC, and between 00:00 and 01:00 UK summer time the
host would still be in yesterday. Every date the service decides (access ending on `left_on`, a consent
in force, compliance `as_of`, "not in the future" checks) comes from `today()`, and the calendar day of a
stored UTC timestamp (an incident reported, a waiver granted) from `day_of()`. Every instant the service
stamps comes from `now()`, so a test that fixes the clock (tests/conftest.py `fixed_clock`) fixes all of it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from api.config import get_settings


def now() -> datetime:
    """The current instant, timezone-aware in UTC (stored timestamps are UTC)."""
    return datetime.now(UTC)


def organisation_zone() -> ZoneInfo:
    """The organisation's time zone (`ORGANISATION_TIMEZONE`, validated when settings load)."""
    return ZoneInfo(get_settings().organisation_timezone)


def today() -> date:
    """The organisation's calendar day now, in its own time zone."""
    return day_of(now())


def day_of(instant: datetime) -> date:
    """The organisation's calendar day at `instant` (timezone-aware): 23:30 UTC on 1 July is 2 July in
    London."""
    return instant.astimezone(organisation_zone()).date()


def start_of(day: date) -> datetime:
    """The first instant of the organisation's calendar day `day`, in UTC (for filtering timestamps by
    day)."""
    return datetime.combine(day, time(), organisation_zone()).astimezone(UTC)
