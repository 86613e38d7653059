"""The audit trail. Callers add the event in the same transaction as the change it records; nothing here
changes or deletes an event."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlmodel import Session, SQLModel, col, func, select

from api.audit.models import AuditEvent
from api.auth.principal import Principal

# The audit log is append-only and kept for ever, so it must not become a second copy of a child's
# personal details: for these fields it records that they changed, not what they were or became.
PERSONAL_FIELDS = frozenset(
    {
        "full_name",
        "date_of_birth",
        "carer_name",
        "carer_email",
        "carer_phone",
        "personal_email",
        "personal_phone",
        "given_by_name",
        "details",
    }
)
REDACTED = "<personal: changed>"
# Secrets' hashes stay out of the log too: a copy of a hash is one more thing to leak.
IGNORED_FIELDS = frozenset({"updated_at", "version", "created_at", "password_hash", "key_hash"})


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: SQLModel) -> dict[str, Any]:
    return {k: _plain(v) for k, v in obj.model_dump().items() if k not in IGNORED_FIELDS}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: {"before": old, "after": new}} for each changed field, personal values withheld."""
    changed: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in PERSONAL_FIELDS:
            changed[key] = REDACTED
        else:
            changed[key] = {"before": old, "after": new}
    return changed


def record(
    session: Session,
    *,
    actor: Principal | None,
    action: str,
    entity: SQLModel | None = None,
    entity_type: str | None = None,
    before: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    if changes is None and entity is not None:
        changes = diff(before or {}, snapshot(entity))
    event = AuditEvent(
        actor_type=actor.kind if actor else "anonymous",
        actor_id=actor.id if actor else None,
        actor_label=actor.label if actor else actor_label,
        action=action,
        entity_type=entity_type or (getattr(entity, "__tablename__", None) if entity is not None else None),
        entity_id=getattr(entity, "id", None),
        changes=changes or {},
    )
    session.add(event)
    return event


def list_(
    *,
    session: Session,
    limit: int,
    offset: int,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> tuple[list[AuditEvent], int]:
    """A filtered page of events, newest first; `since` is inclusive and `until` exclusive."""
    query = select(AuditEvent)
    if entity_type is not None:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    # Counted from the same filtered query as the page (api.crud.page is for Timestamped records).
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    query = query.order_by(col(AuditEvent.occurred_at).desc(), col(AuditEvent.id).desc())
    return list(session.exec(query.limit(limit).offset(offset)).all()), int(total)
