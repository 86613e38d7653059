"""Incidents: counts for reports, with small counts masked so no child can be picked out."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from sqlmodel import Field, Session, SQLModel, col, func, select

from api import clock
from api.described import DESCRIBED
from api.incidents.models import (
    Category,
    Incident,
    IncidentStatus,
    Severity,
)

SMALL_COUNT = 3


SMALL = Literal["<3"]
WITHHELD = Literal["withheld"]
Count = int | SMALL | WITHHELD


class IncidentStats(SQLModel):
    """Counts only: no names, no free text. Any count under 3 (zero included) is shown as "<3". Where the
    total and the other counts would give a "<3" away (one alone is the total minus the rest), one more
    count is shown as "withheld" (the smallest of the rest: 3 or more); if none is left, the total is."""

    model_config = DESCRIBED

    total: Count
    """How many incidents occurred in the period (or "<3", or "withheld")."""
    by_category: dict[Category, Count]
    """Incidents by category (each a count, "<3" or "withheld")."""
    by_severity: dict[Severity, Count]
    """Incidents by severity (each a count, "<3" or "withheld")."""
    by_status: dict[IncidentStatus, Count]
    """Incidents by their status today (each a count, "<3" or "withheld")."""
    by_month: dict[str, Count] = Field(
        description="By month of occurrence in the organisation's time zone, `YYYY-MM`"
    )


def _pinned(counts: dict[Any, int], hidden: set[Any]) -> bool:
    """Whether the total and the shown counts would give the hidden small ones away: one alone (the total
    minus the rest), or several whose sum says each is the largest a mask hides (three "<3" adding up to 6).
    A sum of zero gives away only that there were none, which identifies nobody."""
    hidden_sum = sum(counts[k] for k in hidden)
    return hidden_sum > 0 and (len(hidden) == 1 or hidden_sum == (SMALL_COUNT - 1) * len(hidden))


def _smallest_shown(counts: dict[Any, int], hidden: set[Any]) -> Any | None:
    rest = [k for k in counts if k not in hidden]
    return min(rest, key=lambda k: (counts[k], str(k))) if rest else None


def _protected(total: int, dimensions: list[dict[Any, int]]) -> tuple[Count, list[dict[Any, Count]]]:
    """The total and each breakdown of it, as a trustee may see them. Small counts (a child could be
    identified: one grooming report in March) are never shown exactly, and neither is any count that would let
    one be worked out (secondary suppression): each breakdown is a partition of the same total."""
    hidden = [{k for k, n in d.items() if n < SMALL_COUNT} for d in dimensions]
    show_total = total >= SMALL_COUNT
    if show_total:
        for counts, h in zip(dimensions, hidden, strict=True):
            if h and _pinned(counts, h):
                extra = _smallest_shown(counts, h)
                if extra is None:
                    show_total = False  # every count is already hidden: only the total can go
                else:
                    h.add(extra)
    if not show_total and total >= SMALL_COUNT:
        # A breakdown with every count shown would add up to the withheld total: hide one of its counts too.
        for counts, h in zip(dimensions, hidden, strict=True):
            extra = _smallest_shown(counts, h) if not h else None
            if extra is not None:
                h.add(extra)

    def shown(n: int, is_hidden: bool) -> Count:
        if not is_hidden:
            return n
        return "<3" if n < SMALL_COUNT else "withheld"

    masked_total = shown(total, not show_total)
    return masked_total, [
        {k: shown(n, k in h) for k, n in counts.items()} for counts, h in zip(dimensions, hidden, strict=True)
    ]


def _by_month(session: Session) -> dict[str, int]:
    """Incidents by month of occurrence on the organisation's calendar, `YYYY-MM`."""
    if session.get_bind().dialect.name == "postgresql":
        month: Any = func.to_char(
            func.timezone(clock.organisation_zone().key, col(Incident.occurred_at)), "YYYY-MM"
        )
        rows = session.exec(select(month, func.count()).select_from(Incident).group_by(month)).all()
        return {str(m): int(n) for m, n in rows}
    # SQLite keeps UTC text and knows no time zones: count by UTC minute (every zone's offset is whole
    # minutes), then fold the minutes into the organisation's months.
    minute: Any = func.strftime("%Y-%m-%d %H:%M", col(Incident.occurred_at))
    by_month: dict[str, int] = {}
    for m, n in session.exec(select(minute, func.count()).select_from(Incident).group_by(minute)).all():
        key = clock.day_of(datetime.fromisoformat(str(m)).replace(tzinfo=UTC)).strftime("%Y-%m")
        by_month[key] = by_month.get(key, 0) + int(n)
    return by_month


def stats(*, session: Session) -> IncidentStats:
    """Counts by category, severity, status and month of occurrence; no names, no text."""

    def counts(column: Any) -> dict[Any, int]:
        rows = session.exec(select(column, func.count()).select_from(Incident).group_by(column)).all()
        return {key: int(n) for key, n in rows}

    by_category = counts(col(Incident.category))
    by_severity = counts(col(Incident.severity))
    by_status = counts(col(Incident.status))
    by_month = _by_month(session)
    total, (category, severity, status, month) = _protected(
        sum(by_status.values()),
        [
            {c: by_category.get(c, 0) for c in Category},
            {s: by_severity.get(s, 0) for s in Severity},
            {s: by_status.get(s, 0) for s in IncidentStatus},
            {str(m): n for m, n in sorted(by_month.items())},
        ],
    )
    return IncidentStats(
        total=total, by_category=category, by_severity=severity, by_status=status, by_month=month
    )
