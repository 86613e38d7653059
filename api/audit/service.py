"""The audit trail. Callers add the event in the same transaction as the change it records; nothing here
changes or deletes an event."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from api import crud, events
from api.audit.models import AuditEvent
from api.common import Page, PageParams
from api.crud import IGNORED_FIELDS as IGNORED_FIELDS  # the record snapshots the trail diffs live in crud
from api.crud import diff as diff
from api.crud import snapshot as snapshot
from api.events import Actor, RecordSaved

R = TypeVar("R", bound=SQLModel)

# The audit log is append-only, kept for ever and read more widely than the records, so it must not become a
# second copy of what people wrote about children and adults. It records that such a field changed, never what
# it was or became: every string column of the record's model (free text, unless listed in VERBATIM below),
# and these personal fields whatever their type.
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
# The string columns that are identifiers, codes or labels rather than anything a person wrote about someone:
# recorded verbatim, so the log still says which record and which address. Any other string column of an
# audited model (a new one included) is withheld without being listed anywhere; tests/test_audit_text.py
# checks that each name here is a real string column.
VERBATIM: dict[str, frozenset[str]] = {
    "online_group": frozenset({"name", "project", "url"}),
    "policy_settings": frozenset({"official_email_domains"}),
    "incident": frozenset({"rule_ids"}),
    "staff": frozenset({"email", "job_title", "external_id"}),
    "compliance_waiver": frozenset({"rule_id", "granted_by_label", "revoked_by_label"}),
    # Not a participant's or a consent's external id, nor a form's evidence_ref, nor a referral's reference:
    # people type them, often with a child's or a carer's name in them ("Maya Okafor consent form.pdf").
    "consent": frozenset({"purposes"}),
    "group_roster": frozenset({"uploaded_by_type"}),
    "user_account": frozenset({"email"}),
    "api_key": frozenset({"name", "prefix", "scopes"}),
    "incident_view": frozenset({"viewer_kind", "viewer_label", "viewer_role"}),
    "webhook_endpoint": frozenset({"url", "events"}),
}


def model_for(entity_type: str | None) -> type[SQLModel] | None:
    """The table model whose `__tablename__` is `entity_type`, if there is one."""
    if entity_type is None:
        return None
    for mapper in SQLModel._sa_registry.mappers:
        cls = mapper.class_
        if getattr(cls, "__tablename__", None) == entity_type:
            return cast(type[SQLModel], cls)
    return None


def _is_text(type_: sa.types.TypeEngine[Any]) -> bool:
    # SQLModel's AutoString (and our own column types) wrap the type the database stores. JSON may hold any
    # text (a correction's before and after), so it counts as free text unless listed in VERBATIM.
    stored = type_.impl_instance if isinstance(type_, sa.types.TypeDecorator) else type_
    return isinstance(stored, sa.String | sa.JSON) and not isinstance(stored, sa.Enum)


@cache
def free_text_fields(model: type[SQLModel]) -> frozenset[str]:
    """The model's columns whose values the audit log withholds: its string and JSON columns (not enums: their
    values are the model's own vocabulary) other than those in VERBATIM, and the personal fields it has."""
    table = getattr(model, "__table__", None)
    if table is None:
        return frozenset()
    verbatim = VERBATIM.get(table.name, frozenset())
    text = {c.name for c in table.columns if _is_text(c.type) and c.name not in verbatim}
    return frozenset(text | {c.name for c in table.columns if c.name in PERSONAL_FIELDS})


def withhold(model: type[SQLModel] | None, changes: dict[str, Any]) -> dict[str, Any]:
    """`changes` with the value of every free-text or personal field replaced by REDACTED."""
    hidden = free_text_fields(model) if model is not None else frozenset()
    return {k: REDACTED if k in hidden or k in PERSONAL_FIELDS else v for k, v in changes.items()}


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    entity: SQLModel | None = None,
    entity_type: str | None = None,
    before: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    actor_label: str | None = None,
) -> AuditEvent:
    """Add one event to the session (the caller commits it with the change). `changes` defaults to the diff
    of `before` and the entity now; either way the value of every free-text or personal field of the
    entity's model is replaced by REDACTED here, the one place events are written, so no caller can forget
    to (issue 11: incident summaries and withdrawal reasons were stored verbatim)."""
    if changes is None and entity is not None:
        changes = diff(before or {}, snapshot(entity))
    kind = entity_type or (getattr(entity, "__tablename__", None) if entity is not None else None)
    model = type(entity) if entity is not None else model_for(kind)
    event = AuditEvent(
        actor_type=actor.kind if actor else "anonymous",
        actor_id=actor.id if actor else None,
        actor_label=actor.label if actor else actor_label,
        action=action,
        entity_type=kind,
        entity_id=getattr(entity, "id", None),
        changes=withhold(model, changes or {}),
    )
    session.add(event)
    return event


def commit_recorded(
    session: Session,
    row: R,
    *,
    actor: Actor,
    action: str,
    changes: dict[str, Any],
    entity: SQLModel | None = None,
) -> R:
    """Add `row` and the event of `action` on `entity` (`row` itself when None) that says `changes`, and
    commit them together; `row` is read back from the database first, as `crud.save` does, so the answer
    is what was stored. For a write whose event lists what it may show of the change rather than a diff
    (a secret rotated, a delivery queued). Nothing is written if the commit fails."""
    session.add(row)
    record(session, actor=actor, action=action, entity=row if entity is None else entity, changes=changes)
    session.flush()
    # Read back before the commit, as `crud.save` does: a read after it would begin another transaction.
    session.refresh(row)
    session.commit()
    if session.expire_on_commit:  # a session that forgets on commit (the command line's) reads it back
        session.refresh(row)
    return row


def list_(
    *,
    session: Session,
    paging: PageParams,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[AuditEvent]:
    """A filtered page of events, newest first; `since` is inclusive and `until` exclusive."""
    query = crud.where_equal(
        select(AuditEvent),
        (AuditEvent.entity_type, entity_type),
        (AuditEvent.entity_id, entity_id),
        (AuditEvent.actor_id, actor_id),
        (AuditEvent.action, action),
    )
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    query = query.order_by(col(AuditEvent.occurred_at).desc(), col(AuditEvent.id).desc())
    return crud.paged(session, query, paging)


def _on_record_saved(session: Session, event: RecordSaved) -> None:
    record(session, actor=event.actor, action=event.action, entity=event.entity, before=event.before)


events.subscribe(RecordSaved, _on_record_saved)
