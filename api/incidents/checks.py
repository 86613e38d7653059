"""Incidents: who may reach and write which incident, the small checks every verb makes, and the view
log (every read of a safeguarding record leaves a trace)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from api.audit import service as audit
from api.auth.principal import Principal
from api.auth.reach import Reach
from api.auth.roles import Permission
from api.compliance.rules import ALL_IDS
from api.db import utcnow
from api.errors import Forbidden, Unprocessable
from api.groups.models import Group
from api.incidents.follow_up_models import IncidentView, ViewKind
from api.incidents.models import Incident


def manages(reach: Reach) -> bool:
    """Whether the caller manages incidents (referrals to the police or the LADO are theirs alone)."""
    return Permission.INCIDENT_MANAGE in reach.caller.permissions


def staff_id_of(caller: Principal) -> uuid.UUID:
    if caller.staff_id is None:
        raise Forbidden("Only a signed-in member of staff may write to an incident record")
    return caller.staff_id


def past(field: str, value: datetime) -> datetime:
    """A timestamp with an offset, not in the future (a naive one would be ambiguous: 422, not a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Unprocessable.field(field, f"{field} needs a UTC offset (for example 2025-01-31T14:00:00Z)")
    if value > utcnow():
        raise Unprocessable.field(field, f"{field} ({value.isoformat()}) is in the future")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # the first day of year 1 east of UTC has no UTC time
        raise Unprocessable.field(field, f"{field} is out of range") from exc


def rule_ids_of(rule_ids: Sequence[str], field: str = "rule_ids") -> list[str]:
    """The compliance rules an incident concerns: ids from the catalog, so a report links to real rules."""
    for i, rule_id in enumerate(rule_ids):
        if rule_id not in ALL_IDS:
            raise Unprocessable.field(
                f"{field}.{i}",
                f"{rule_id!r} is not a compliance rule (GET /api/v1/compliance/rules lists them)",
            )
    return list(dict.fromkeys(rule_ids))


def must_reach(
    session: Session,
    column: Any,
    within: Callable[[Any], ColumnElement[bool]],
    ids: Sequence[uuid.UUID],
    field: str,
    noun: str,
) -> None:
    """Every id in the body is one the caller reaches: one query for the whole list, and the first other id
    is a 422 naming its index, worded the same whether it does not exist or is out of reach."""
    if not ids:
        return
    found = set(session.exec(select(column).where(column.in_(ids), within(column))).all())
    for i, id_ in enumerate(ids):
        if id_ not in found:
            raise Unprocessable.field(
                f"{field}.{i}" if field.endswith("_ids") else field, f"No {noun} with id {id_}"
            )


def group_in_reach(session: Session, reach: Reach, group_id: uuid.UUID) -> None:
    must_reach(session, col(Group.id), reach.groups, [group_id], "group_id", "group")


def audit_event(
    session: Session,
    *,
    caller: Principal,
    action: str,
    entity: SQLModel,
    before: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    # Free text about children and adults lives in the append-only incident tables; the audit writer records
    # that it was written, not what it says.
    changes = {**audit.diff(before or {}, audit.snapshot(entity)), **(extra or {})}
    audit.record(session, actor=caller, action=action, entity=entity, changes=changes)


def touch(incident: Incident) -> None:
    incident.updated_at = utcnow()
    incident.version += 1


def log_views(
    session: Session, *, caller: Principal, incident_ids: Sequence[uuid.UUID], via: ViewKind
) -> None:
    """Write who read which incidents, and commit: a read of a safeguarding record always leaves a trace."""
    now = utcnow()
    session.add_all(
        IncidentView(
            incident_id=incident_id,
            viewed_at=now,
            viewer_kind=caller.kind,
            viewer_id=caller.id,
            viewer_staff_id=caller.staff_id,
            viewer_label=caller.label,
            viewer_role=caller.role.value,
            via=via,
        )
        for incident_id in incident_ids
    )
    session.commit()
