"""Compliance loading, the policy as the rules read it on `as_of`: the settings' thresholds (today's) and the
clauses of the version in force, each one statement, with how their rows decode."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col

from api.compliance.queries import _AS_OF, POLICY_CLAUSE, POLICY_VERSION, _day
from api.compliance.snapshot import (
    PolicyFacts,
    Thresholds,
)
from api.db import table_of
from api.policy.models import PolicySettings, PolicySettingsBase
from api.policy.versions import PolicyClause, PolicyVersion

POLICY = table_of(PolicySettings)


_THRESHOLDS = sa.select(
    POLICY.c.min_group_admins,
    POLICY.c.review_interval_days,
    POLICY.c.risk_assessment_valid_days,
    POLICY.c.training_valid_days,
    POLICY.c.self_consent_min_age,
    POLICY.c.official_email_domains,
    POLICY.c.declaration_valid_days,
).order_by(POLICY.c.created_at)


@cache
def _default_thresholds() -> Thresholds:
    s = PolicySettingsBase()
    return _to_thresholds(
        (
            s.min_group_admins,
            s.review_interval_days,
            s.risk_assessment_valid_days,
            s.training_valid_days,
            s.self_consent_min_age,
            s.official_email_domains,
            s.declaration_valid_days,
        )
    )


def _to_thresholds(r: Sequence[Any]) -> Thresholds:
    return Thresholds(r[0], r[1], r[2], r[3], r[4], tuple(d.lower() for d in r[5]), r[6])


# The policy a load reads (the thresholds and the version in force on `as_of`), kept in process by the
# database, the organisation's facts version (api/facts.py) and `as_of`: none of it belongs to a group, and
# every write to the settings, the versions and the clauses moves the organisation's counter (those tables
# are neither group tables nor unread in api/compliance/cache.py; tests/test_compliance_cache.py checks
# both), so an entry stands while that counter does, in every worker. Which version is in force turns only
# on `as_of` (the organisation's day for a read of today), which the key holds, so midnight is a new key
# without any write. The database is in the key for a process that reads several (the tests' throwaway
# databases), where a counter never written reads 0 in each.
PolicyKey = tuple[str, int, date]
_POLICIES: OrderedDict[PolicyKey, tuple[Thresholds, PolicyFacts | None]] = OrderedDict()
_POLICIES_LOCK = threading.Lock()
_POLICIES_KEPT = 8  # a handful of dates read at once (today, a history's or a forecast's days)


def policy_key(conn: sa.Connection, version: int, as_of: date) -> PolicyKey:
    """The key of the policy a load on `conn` reads under the organisation's facts `version`, on `as_of`."""
    return (conn.engine.url.render_as_string(), version, as_of)


def policy_kept(key: PolicyKey) -> tuple[Thresholds, PolicyFacts | None] | None:
    """(the thresholds, the policy in force) kept under `key`, or None (the caller loads them and
    `keep_policy`)."""
    with _POLICIES_LOCK:
        found = _POLICIES.get(key)
        if found is not None:
            _POLICIES.move_to_end(key)
        return found


def keep_policy(key: PolicyKey, loaded: tuple[Thresholds, PolicyFacts | None]) -> None:
    """Keep what a load read after reading the organisation's facts version in `key` (see `_POLICIES`)."""
    with _POLICIES_LOCK:
        _POLICIES[key] = loaded
        _POLICIES.move_to_end(key)
        while len(_POLICIES) > _POLICIES_KEPT:
            _POLICIES.popitem(last=False)


def forget_policies() -> None:
    """Drop every kept policy (nothing needs it for correctness: the version decides)."""
    with _POLICIES_LOCK:
        _POLICIES.clear()


def _thresholds(session: Session) -> Thresholds:
    """The policy settings in force, as `policy_service.get` reads them (the defaults if none were saved), in
    one Core query rather than an ORM object."""
    row = session.connection().execute(_THRESHOLDS).first()
    return _to_thresholds(row) if row is not None else _default_thresholds()


# The policy as it stood on `as_of`: the clauses of the version in force, each row also carrying the
# version's number and effective day and the latest version published by then. A handful of versions, tens
# of clauses: one statement whatever the groups.
_IN_FORCE_ID = (
    sa.select(POLICY_VERSION.c.id)
    .where(POLICY_VERSION.c.effective_on <= _AS_OF, POLICY_VERSION.c.withdrawn_on.is_(None))
    .order_by(POLICY_VERSION.c.effective_on.desc(), POLICY_VERSION.c.number.desc())
    .limit(1)
    .scalar_subquery()
)


_LATEST_PUBLISHED = (
    sa.select(sa.func.max(POLICY_VERSION.c.number))
    .where(
        POLICY_VERSION.c.published_on <= _AS_OF,
        sa.or_(POLICY_VERSION.c.withdrawn_on.is_(None), POLICY_VERSION.c.withdrawn_on > _AS_OF),
    )
    .scalar_subquery()
)


_POLICY_IN_FORCE = (
    sa.select(
        POLICY_VERSION.c.number,
        POLICY_VERSION.c.effective_on,
        _LATEST_PUBLISHED,
        POLICY_CLAUSE.c.clause_id,
        POLICY_CLAUSE.c.text,
    )
    .select_from(POLICY_CLAUSE.join(POLICY_VERSION, POLICY_VERSION.c.id == POLICY_CLAUSE.c.version_id))
    .where(POLICY_CLAUSE.c.version_id == _IN_FORCE_ID)
)


def _policy_facts(rows: Sequence[Sequence[Any]], day: Callable[[Any], date]) -> PolicyFacts | None:
    """The policy on the evaluation date from `_POLICY_IN_FORCE`'s rows; None before any version."""
    if not rows:
        return None
    first = rows[0]
    return PolicyFacts(first[0], day(first[1]), {r[3]: r[4] for r in rows}, first[2] or first[0])


def policy_on(session: Session, as_of: date) -> PolicyFacts | None:
    """`_POLICY_IN_FORCE` on its own, for the loads that do not go through `_load` (the staff report, the
    rule catalog)."""
    rows = session.connection().execute(_POLICY_IN_FORCE, {"as_of": as_of}).all()
    return _policy_facts(rows, _day)


def policies_ahead(
    session: Session, today: PolicyFacts | None, start: date, end: date
) -> list[tuple[date, PolicyFacts]]:
    """Each version (not withdrawn) that comes into force after `start`, up to and including `end`, as
    (its effective day, the policy from that day), in order: a forecast day is evaluated and cited under
    the version in force on it. One statement. Nothing is published ahead of today, so the latest published
    stays today's."""
    rows = session.execute(
        sa.select(
            col(PolicyVersion.number),
            col(PolicyVersion.effective_on),
            col(PolicyClause.clause_id),
            col(PolicyClause.text),
        )
        .join(PolicyClause, col(PolicyClause.version_id) == col(PolicyVersion.id))
        .where(
            col(PolicyVersion.withdrawn_on).is_(None),
            col(PolicyVersion.effective_on) > start,
            col(PolicyVersion.effective_on) <= end,
        )
        .order_by(col(PolicyVersion.effective_on), col(PolicyClause.position))
    ).all()
    texts: dict[tuple[int, date], dict[str, str]] = {}
    for number, effective_on, clause_id, text in rows:
        texts.setdefault((number, effective_on), {})[clause_id] = text
    published = today.latest_published if today is not None else 0
    return [
        (on, PolicyFacts(number, on, words, max(published, number))) for (number, on), words in texts.items()
    ]


def policy_for(
    day: date, today: PolicyFacts | None, ahead: Sequence[tuple[date, PolicyFacts]]
) -> PolicyFacts | None:
    """The policy in force on `day`: the last of `ahead` in force by then, else today's."""
    return next((p for on, p in reversed(ahead) if on <= day), today)
