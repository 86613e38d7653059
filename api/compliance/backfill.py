"""A group's compliance history recomputed from its dated facts, where none was recorded (the demo): each
group evaluated on the first day and on each day a fact changes (`forecast.change_dates`, as the forecast
looks ahead, here backwards)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from api.compliance import history, loading, queries
from api.compliance.engine import evaluate
from api.compliance.forecast import change_dates
from api.compliance.models import ComplianceHistory
from api.compliance.rules import GROUP_RULES


def backfill(*, session: Session, start: date, end: date) -> int:
    """Recompute the history of every group from `start` to `end` from the dated facts and record it: each
    group evaluated on the first day and on each day a fact changes (as the forecast does, backwards), a row
    written where its state changes. Today's group settings and thresholds stand for the past, so use it
    only where nothing was recorded (the demo); see `history`. One load, one insert; the caller commits.
    Returns how many rows it wrote."""
    g_ = queries.GROUP.c
    chosen = sa.and_(g_.started_on <= end, sa.or_(g_.archived_on.is_(None), g_.archived_on > start))
    chosen_ids = sa.select(g_.id).where(chosen)
    groups, thresholds, loaded = loading._load(
        session,
        sa.select(*queries._GROUP_COLUMNS).where(chosen),
        queries._queries(lambda column: column.in_(chosen_ids), window=True),
        {"as_of": end, "window_from": start, "window_to": end},
        end,
    )
    rows = []
    for key, g in groups:
        waivers = loaded.waivers.get(key, {})
        first = max(start, g.started_on)
        last = end if g.archived_on is None else min(end, g.archived_on - timedelta(days=1))
        held: dict[uuid.UUID, ComplianceHistory] = {}
        opening = loading._snapshot(key, g, loaded, first, thresholds)
        for day in [first, *change_dates(opening, waivers, first, last)]:
            ev = evaluate(GROUP_RULES, loading._snapshot(key, g, loaded, day, thresholds), waivers)
            for row in history.rows_for({g.id: ev}, day, held):
                rows.append(row)
                held[g.id] = ComplianceHistory(**row)
    history.write(session, rows)
    return len(rows)
