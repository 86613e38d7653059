"""How finely a caller may choose the day a compliance answer is about.

The day an age-range finding changes is a young person's birthday, so any day-level input that selects what
is evaluated (a report's `as_of`, a history's `from` and `to`, a forecast's window end) lets a caller step a
day at a time and read the birthday off the day the answer changes (issue 17). A caller who may not read
every participant (a trustee; staff, for children outside their groups or who have left them) gets every
such input snapped to the calendar month, so each day of a month gives the same answer; a caller who reads
every participant (the coordinator) keeps the day. The API keys' role reads no compliance at all.

Every compliance, export and dashboard route takes its days through here, with the caller's `Reach`.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date

from api import clock
from api.auth.reach import Reach, Record
from api.common import shifted
from api.compliance.engine import Precision
from api.errors import Unprocessable


def precision(reach: Reach) -> Precision:
    """`day` for a caller who reads every participant, else `month`."""
    return Precision.day if reach.reads_every(Record.participant) else Precision.month


def month_end(day: date) -> date:
    return day.replace(day=monthrange(day.year, day.month)[1])


def _snapped_end(day: date, today: date) -> date:
    """The last day of `day`'s month, or `today` in the current month (facts after today are unknown)."""
    return min(month_end(day), today)


def as_of(reach: Reach, day: date | None, *, field: str = "as_of") -> tuple[date, Precision]:
    """The day to evaluate for `day` (default today; a 422 naming `field` in the future) and its precision:
    the day itself for a caller who reads every participant, else the last day of its month, or today in
    the current month."""
    today = clock.today()
    if day is None:
        return today, precision(reach)
    if day > today:
        raise Unprocessable.field(field, f"{field} ({day}) is in the future; facts after today are unknown")
    grain = precision(reach)
    return (day if grain is Precision.day else _snapped_end(day, today)), grain


def span(reach: Reach, start: date, end: date, *, monthly: bool) -> tuple[date, date]:
    """A history's `from`..`to` as the caller may ask it: unchanged for a caller who reads every participant;
    else `from` the first day of its month and `to` the last day of its (or today in the current month).
    `monthly` False (a weekly interval) is a 422 naming `interval` for such a caller: a week's points would
    pin a change to its week."""
    if start > end:
        raise Unprocessable.field("from", f"from ({start}) is after to ({end})")
    if precision(reach) is Precision.day:
        return start, end
    if not monthly:
        raise Unprocessable.field(
            "interval",
            "interval must be month for a caller who may not see every young person: a change could be a "
            "young person's birthday, so the trend is given by the month",
        )
    return start.replace(day=1), _snapped_end(end, clock.today())


def forecast_until(reach: Reach, today: date, days: int) -> date:
    """The forecast window's last day, `days` after `today` (a 422 naming `days` off the calendar); for a
    caller who may not read every participant, rounded up to the end of that month, so the window's edge
    cannot be moved a day at a time across a birthday."""
    until = shifted(today, days, field="days")
    return until if precision(reach) is Precision.day else month_end(until)
