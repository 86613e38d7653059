"""The policy's versions: list, read, compare; and which one is in force on a day (publishing and
withdrawing: api/policy/publishing.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import clock, crud
from api.common import Page, PageParams
from api.errors import NotFound
from api.policy.versions import (
    ClauseChange,
    PolicyClause,
    PolicyClausePublic,
    PolicyDiffPublic,
    PolicyVersion,
    PolicyVersionPublic,
    PolicyVersionSummary,
)


def live() -> sa.ColumnElement[bool]:
    """Versions not withdrawn: a withdrawn version never comes into force and bounds no later date."""
    return col(PolicyVersion.withdrawn_on).is_(None)


def in_force(*, session: Session, on: date) -> PolicyVersion | None:
    """The version in force on `on`: the latest not withdrawn whose effective day is on or before it."""
    return session.exec(
        select(PolicyVersion)
        .where(col(PolicyVersion.effective_on) <= on, live())
        .order_by(col(PolicyVersion.effective_on).desc(), col(PolicyVersion.number).desc())
    ).first()


def clauses_of(session: Session, version: PolicyVersion) -> list[PolicyClause]:
    return list(
        session.exec(
            select(PolicyClause)
            .where(PolicyClause.version_id == version.id)
            .order_by(col(PolicyClause.position))
        ).all()
    )


def _summary(
    version: PolicyVersion, clause_count: int, current: PolicyVersion | None
) -> PolicyVersionSummary:
    return PolicyVersionSummary(
        number=version.number,
        effective_on=version.effective_on,
        published_on=version.published_on,
        summary=version.summary,
        published_by_label=version.published_by_label,
        clause_count=clause_count,
        in_force=current is not None and current.id == version.id,
        withdrawn_on=version.withdrawn_on,
    )


def list_versions(*, session: Session, paging: PageParams) -> Page[PolicyVersionSummary]:
    """A page of the versions, newest first, with how many clauses each has and which is in force today,
    and how many versions there are."""
    counts: dict[uuid.UUID, int] = {
        row[0]: int(row[1])
        for row in session.execute(
            sa.select(col(PolicyClause.version_id), sa.func.count()).group_by(col(PolicyClause.version_id))
        ).all()
    }
    current = in_force(session=session, on=clock.today())
    found = crud.paged(session, select(PolicyVersion).order_by(col(PolicyVersion.number).desc()), paging)
    return crud.recast(found, [_summary(v, int(counts.get(v.id, 0)), current) for v in found.items])


def get(*, session: Session, number: int) -> PolicyVersion:
    """One version by its number, or 404."""
    version = session.exec(select(PolicyVersion).where(PolicyVersion.number == number)).first()
    if version is None:
        raise NotFound(f"No policy version {number}")
    return version


def public(*, session: Session, version: PolicyVersion) -> PolicyVersionPublic:
    """A version with its text and its clauses in order."""
    clauses = clauses_of(session, version)
    current = in_force(session=session, on=clock.today())
    return PolicyVersionPublic(
        **_summary(version, len(clauses), current).model_dump(),
        text=version.text,
        clauses=[
            PolicyClausePublic(clause_id=c.clause_id, position=c.position, section=c.section, text=c.text)
            for c in clauses
        ],
    )


def diff_of(
    before: int, old: Sequence[PolicyClause], after: int, new: Sequence[PolicyClause]
) -> PolicyDiffPublic:
    old_by_id = {c.clause_id: c for c in old}
    new_by_id = {c.clause_id: c for c in new}
    changes: list[ClauseChange] = []
    unchanged = 0
    old_order = [c.clause_id for c in old if c.clause_id in new_by_id]
    new_order = [c.clause_id for c in new if c.clause_id in old_by_id]
    # Same clauses, other order: those whose place among the kept clauses changed.
    moved = {b for a, b in zip(old_order, new_order, strict=True) if a != b}
    for c in new:
        was = old_by_id.get(c.clause_id)
        if was is None:
            changes.append(ClauseChange(clause_id=c.clause_id, change="added", before=None, after=c.text))
        elif was.text != c.text:
            changes.append(
                ClauseChange(clause_id=c.clause_id, change="reworded", before=was.text, after=c.text)
            )
        elif c.clause_id in moved:
            changes.append(ClauseChange(clause_id=c.clause_id, change="moved", before=was.text, after=c.text))
        else:
            unchanged += 1
    changes += [
        ClauseChange(clause_id=c.clause_id, change="removed", before=c.text, after=None)
        for c in old
        if c.clause_id not in new_by_id
    ]
    return PolicyDiffPublic(before=before, after=after, unchanged=unchanged, changes=changes)


def previous_live(*, session: Session, number: int) -> int:
    """The number of the latest version before `number` not withdrawn (a withdrawn one never came into
    force, so a difference from it misleads); `number` itself when there is none (version 1)."""
    found = session.execute(
        sa.select(sa.func.max(col(PolicyVersion.number))).where(col(PolicyVersion.number) < number, live())
    ).scalar()
    return int(found) if found is not None else number


def diff(*, session: Session, before: int, after: int) -> PolicyDiffPublic:
    """The clause-level difference from version `before` to version `after`: clauses added, removed,
    reworded (same id, other words) or moved; 404 for an unknown version."""
    old, new = get(session=session, number=before), get(session=session, number=after)
    return diff_of(before, clauses_of(session, old), after, clauses_of(session, new))
