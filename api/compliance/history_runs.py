"""One group's compliance history read with its load (issue 19): the rows that date its failing and
warning findings (`since`, api/compliance/history.py), sent together with the group's loading statements
(`loading.load_group_with`) and kept with its cached evaluation, under the group's counter that every write
to the history moves (api/compliance/cache.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from api.compliance.engine import Evaluation
from api.compliance.fetch import Reader
from api.compliance.history import BAD, GROUP, HT, _with_since
from api.compliance.queries import _AS_OF, _GROUP_ID

# One group's runs as `history._RUNS` reads them, for `fetch` (the group's loading statements, sent together):
# its first day, then its rows (none: one row with a null day), newest first. The day is the history's key
# with the group's id, so the order is total.
ONE_GROUP_RUNS = (
    sa.select(GROUP.c.started_on, HT.c.day, HT.c.outcomes)
    .select_from(GROUP.outerjoin(HT, sa.and_(HT.c.group_id == GROUP.c.id, HT.c.day <= _AS_OF)))
    .where(GROUP.c.id == _GROUP_ID)
    .order_by(HT.c.day.desc())
)


@dataclass(frozen=True, slots=True)
class Runs:
    """One group's history up to an `as_of`: its first day and its (day, outcomes) rows, newest first."""

    started_on: date
    rows: tuple[tuple[date, dict[str, str]], ...]


def runs_of(rows: Sequence[Sequence[Any]], rd: Reader) -> Runs | None:
    """`ONE_GROUP_RUNS`' rows as the driver returned them (`fetch`), decoded; None for no group."""
    if not rows:
        return None
    found = tuple((rd.day(day), rd.json(outcomes)) for _, day, outcomes in rows if day is not None)
    return Runs(rd.day(rows[0][0]), found)


def dated(evaluation: Evaluation, runs: Runs | None, as_of: date) -> Evaluation:
    """Each failing or warning finding with `since`: the day of the oldest of the group's history rows, up
    to `as_of`, in an unbroken run with the same outcome for its rule; where the newest row disagrees (the
    watch has not yet recorded the change), `as_of`. Where the run reaches back to the group's oldest row
    (or there is no row) and the group began before that day, the history cannot say when the run began:
    `since` is None and `since_before_records` True, never the day the records began. `runs`: the group's
    (`runs_of`); None (no group) leaves the evaluation as it is, as `history.with_since_many` does."""
    if runs is None or not any(f.outcome in BAD for f in evaluation.findings):
        return evaluation
    return _with_since(evaluation, runs.rows, as_of, runs.started_on)
