"""Audit events (api/audit), written directly (the services write their own; these are for the readers), and
the audited answer to a one-field PATCH."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from tests.kit.auth import Actor
from tests.kit.records import add


def make_audit_event(session: Session, **overrides: Any) -> AuditEvent:
    """A system's `test.event` on a staff record, stamped now unless `occurred_at`; read back after the
    commit, so that what the database numbers it (its cursor) is set."""
    values: dict[str, Any] = {"actor_type": "system", "action": "test.event", "entity_type": "staff"}
    event = add(session, AuditEvent, values, overrides)
    session.refresh(event)
    return event


def patched_and_audited(
    client: TestClient, session: Session, caller: Actor, url: str, action: str, /, **change: tuple[Any, Any]
) -> dict[str, Any]:
    """The body of `caller`'s PATCH of `url` moving each field of `change` from `before` to `after` (given as
    `field=(before, after)`), on a record at version 1; fails unless it answers 200 with each field at
    `after` (the same JSON type) and version 2, and the one audit event `action` records those fields alone,
    each from `before` to `after`."""
    r = client.patch(url, json={field: after for field, (_, after) in change.items()}, headers=caller.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    for field, (_, after) in change.items():
        assert type(body[field]) is type(after), field
        assert body[field] == after, field
    assert body["version"] == 2
    event = session.exec(select(AuditEvent).where(AuditEvent.action == action)).one()
    assert event.changes == {
        field: {"before": before, "after": after} for field, (before, after) in change.items()
    }
    return body
