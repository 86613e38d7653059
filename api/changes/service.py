"""The changes feed, read from the audit trail: every write already records an event in its own transaction.

Order and cursor come from `audit_event.seq`, assigned by the database as the event is inserted.
The guarantee, precisely: the feed serves only the run of events, in seq order, that are at least
`changes_settle_seconds` old, and stops at the first event younger than that. On PostgreSQL two
transactions can commit in the opposite order to their seq values; an event becomes visible out of order
only if its transaction commits more than the settle delay after the event was made (a write's event is
made just before its commit, so this needs a commit stalled for seconds). Within that bound a consumer
resuming from `next_cursor` sees every change once, with no gaps and no repeats. On SQLite writers are
serialised, so seq order is commit order and the bound is not needed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, not_, or_
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.auth.reach import Reach, Record
from api.auth.roles import Permission
from api.changes.models import Change, ChangeAction, ChangesPage

# The resources the feed reports, each with the kind of record it belongs to: a caller sees the changes to
# a kind only if it reaches every record of that kind (the feed is one stream of ids; filtering it row by
# row to a partial reach would still show when records out of reach change). Accounts, keys, webhooks and
# sign-ins are not resources here; the policy settings are the coordinator's (a permission, not a record).
RESOURCES: dict[str, Record | Permission] = {
    "staff": Record.staff,
    "participant": Record.participant,
    "online_group": Record.group,
    "risk_assessment": Record.group,
    "group_review": Record.group,
    "membership": Record.membership,
    "consent": Record.consent,
    "incident": Record.incident,
    "incident_participant": Record.incident,
    "incident_staff": Record.incident,
    "policy_settings": Permission.POLICY_ADMIN,
}


def _feeds(reach: Reach, owner: Record | Permission) -> bool:
    if isinstance(owner, Record):
        return reach.reads_every(owner)
    return owner in reach.caller.permissions


# Actions are "<entity>.<verb>"; the verb says what happened to the record.
CREATED_VERBS = frozenset({"create", "report"})
ENDED_VERBS = frozenset({"leave", "end", "withdraw", "archive", "close"})
READ_VERBS = frozenset({"view", "read", "list", "export"})
# An update that sets one of these from empty ends the record just as an explicit end does.
END_FIELDS = ("left_on", "ended_on", "withdrawn_on", "archived_on", "closed_at")


def classify(action: str, changes: dict[str, Any]) -> ChangeAction:
    """created, updated or ended, from an audit event's action and its field diff."""
    verb = action.rsplit(".", 1)[-1]
    if verb in CREATED_VERBS:
        return ChangeAction.created
    if verb in ENDED_VERBS:
        return ChangeAction.ended
    for field in END_FIELDS:
        change = changes.get(field)
        if isinstance(change, dict) and change.get("before") is None and change.get("after") is not None:
            return ChangeAction.ended
    return ChangeAction.updated


def list_(
    *, session: Session, reach: Reach, since: int, limit: int, now: datetime, settle: timedelta
) -> ChangesPage:
    """The changes after `since` that the caller may see, oldest first."""
    types = sorted(t for t, owner in RESOURCES.items() if _feeds(reach, owner))
    seq = col(AuditEvent.seq)
    # The first event still inside the settle delay: nothing at or past it is served yet.
    horizon = (
        select(func.min(seq)).where(seq > since, col(AuditEvent.occurred_at) > now - settle).scalar_subquery()
    )
    rows = session.exec(
        select(AuditEvent)
        .where(
            seq > since,
            or_(horizon.is_(None), seq < horizon),
            col(AuditEvent.entity_type).in_(types),
            col(AuditEvent.entity_id).is_not(None),
            not_(or_(*(col(AuditEvent.action).endswith(f".{verb}") for verb in READ_VERBS))),
        )
        .order_by(seq)
        .limit(limit + 1)
    ).all()
    items = [
        Change(
            cursor=int(row.seq or 0),
            entity_type=str(row.entity_type),
            entity_id=row.entity_id,  # filtered to not null above
            action=classify(row.action, row.changes),
            occurred_at=row.occurred_at,
        )
        for row in rows[:limit]
    ]
    return ChangesPage(
        items=items, next_cursor=items[-1].cursor if items else since, has_more=len(rows) > limit
    )
