"""Audit events (api/audit), written directly (the services write their own; these are for the readers)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.audit.models import AuditEvent
from tests.kit.records import add


def make_audit_event(session: Session, **overrides: Any) -> AuditEvent:
    """A system's `test.event` on a staff record, stamped now unless `occurred_at`; read back after the
    commit, so that what the database numbers it (its cursor) is set."""
    values: dict[str, Any] = {"actor_type": "system", "action": "test.event", "entity_type": "staff"}
    event = add(session, AuditEvent, values, overrides)
    session.refresh(event)
    return event
