"""The policy's versions: list, read, compare, publish; and which one is in force on a day."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import clock, crud
from api.audit import service as audit
from api.auth.principal import Principal
from api.common import Page, PageParams
from api.errors import Conflict, NotFound, Unprocessable
from api.policy import text as policy_text
from api.policy.versions import (
    ClauseChange,
    PolicyClause,
    PolicyClausePublic,
    PolicyDiffPublic,
    PolicyVersion,
    PolicyVersionCreate,
    PolicyVersionPublic,
    PolicyVersionSummary,
    PublishedPolicy,
)
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent


def in_force(*, session: Session, on: date) -> PolicyVersion | None:
    """The version in force on `on`: the latest whose effective day is on or before it."""
    return session.exec(
        select(PolicyVersion)
        .where(col(PolicyVersion.effective_on) <= on)
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


def _diff(
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


def diff(*, session: Session, before: int, after: int) -> PolicyDiffPublic:
    """The clause-level difference from version `before` to version `after`: clauses added, removed,
    reworded (same id, other words) or moved; 404 for an unknown version."""
    old, new = get(session=session, number=before), get(session=session, number=after)
    return _diff(before, clauses_of(session, old), after, clauses_of(session, new))


def publish(*, session: Session, caller: Principal, data: PolicyVersionCreate) -> PublishedPolicy:
    """Publish a new version: its sentences keep the clause ids of the latest version's sentences they keep
    or reword, and get new ids (`V<number>-<position>`) otherwise. Audited (numbers and dates only) and
    announced (`policy.version_published`). Every staff declaration made for an earlier version is due again.

    Errors: 422 `effective_on` in the past or not after the latest version's; 422 `text` with no sentence;
    409 when the text is the latest version's word for word (or another publish won the race)."""
    today = clock.today()
    if data.effective_on < today:
        raise Unprocessable.field(
            "effective_on",
            f"effective_on ({data.effective_on}) is in the past: a new version starts today or later",
        )
    latest = session.exec(select(PolicyVersion).order_by(col(PolicyVersion.number).desc())).first()
    if latest is not None and data.effective_on <= latest.effective_on:
        raise Unprocessable.field(
            "effective_on",
            f"effective_on ({data.effective_on}) must be after version {latest.number}'s "
            f"({latest.effective_on})",
        )
    sentences = policy_text.sentences(data.text)
    if not sentences:
        raise Unprocessable.field(
            "text", "The text has no sentence (a sentence ends with . ! ? or a line end)"
        )
    previous = clauses_of(session, latest) if latest is not None else []
    if previous and [s.text for s in sentences] == [c.text for c in previous]:
        raise Conflict(f"The text is version {latest.number if latest else 0}'s, sentence for sentence")
    number = (latest.number if latest is not None else 0) + 1
    matched = policy_text.match({c.clause_id: c.text for c in previous}, sentences, f"V{number}")
    version = PolicyVersion(
        number=number,
        effective_on=data.effective_on,
        published_on=today,
        text=data.text,
        summary=data.summary,
        published_by_label=caller.label,
    )
    clauses = [
        PolicyClause(
            version_id=version.id,
            clause_id=m.clause_id,
            position=i + 1,
            section=m.sentence.section[:200],
            text=m.sentence.text,
        )
        for i, m in enumerate(matched)
    ]
    changed = _diff(latest.number if latest else 0, previous, number, clauses)
    counts = {
        kind: sum(c.change == kind for c in changed.changes) for kind in ("added", "removed", "reworded")
    }
    # The text and summary stay out of the log: free text, and the version itself keeps them for ever.
    audit.record(
        session,
        actor=caller,
        action="policy_version.publish",
        entity=version,
        changes={"number": number, "effective_on": data.effective_on.isoformat(), **counts},
    )
    webhooks.emit(
        session,
        WebhookEvent.policy_version_published,
        {"number": number, "effective_on": data.effective_on, "published_on": today, **counts},
    )
    try:
        # The version first: its clauses refer to it (no relationship tells the session the order).
        session.add(version)
        session.flush()
        session.add_all(clauses)
        session.flush()
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"Version {number} was published by someone else meanwhile: read the versions again"
        ) from exc
    return PublishedPolicy(version=public(session=session, version=version), diff=changed)
