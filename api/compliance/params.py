"""The compliance routes' parameters, each described for the spec: a day to evaluate, a span of history, a
forecast's length and the ids in the paths; and the day a report is about, as the caller may ask it."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query

from api.auth.reach import ReachDep
from api.common import DIGITS_ONLY, Day
from api.compliance import forecast as forecasting
from api.compliance import grain

AsOf = Annotated[
    Day | None,
    Query(
        description="Evaluate the dated facts as they stood on this day (default today; not in the future). "
        "For a caller who does not read every young person, the last day of its month (today in the current "
        "month): the answer's `as_of` and `as_of_precision` say which"
    ),
]


def report_day(reach: ReachDep, as_of: AsOf = None) -> date:
    """The day a report evaluates: `as_of` (default today) as the caller may ask it, the day itself or its
    month's last day (`grain.as_of`); a 422 naming `as_of` for a day in the future."""
    return grain.as_of(reach, as_of)[0]


async def _report_day(reach: ReachDep, as_of: AsOf = None) -> date:
    """`report_day` as a dependency. Async: it reads nothing from the database, and FastAPI hands every sync
    dependency to the thread pool and back (bench/README.md, "Branch `perf-group`")."""
    return report_day(reach, as_of)


# A route that takes it declares no `as_of` of its own: the dependency puts `as_of` in the spec.
ReportDay = Annotated[date, Depends(_report_day)]

GroupId = Annotated[uuid.UUID, Path(description="The group's id")]
StaffId = Annotated[uuid.UUID, Path(description="The member of staff's id")]
Days = Annotated[
    int,
    Query(
        ge=1,
        le=forecasting.MAX_DAYS,
        description=f"How many days ahead, from tomorrow (1 to {forecasting.MAX_DAYS}); for a caller who "
        "does not read every young person, rounded up to the end of the month it reaches (`until` says)",
    ),
    DIGITS_ONLY,
]

From = Annotated[
    Day | None,
    Query(
        alias="from",
        description="The first day (default a year before `to`); the first of its month for a caller who "
        "does not read every young person",
    ),
]
To = Annotated[
    Day | None,
    Query(
        alias="to",
        description="The last day (default today; not in the future); the last of its month (today in the "
        "current month) for a caller who does not read every young person",
    ),
]
