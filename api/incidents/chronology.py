"""Incidents: the chronology, dated entries appended by staff (a correction is a new entry naming the one
it corrects; nothing is edited)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from api import crud
from api.auth.reach import Reach
from api.common import Page, PageParams
from api.db import utcnow
from api.errors import NotFound, Unprocessable
from api.incidents import checks
from api.incidents.follow_up_models import ViewKind
from api.incidents.models import EntryCreate, EntryPublic, Incident, IncidentEntry


def entries_public(session: Session, entries: Sequence[IncidentEntry]) -> list[EntryPublic]:
    ids = [e.id for e in entries]
    corrected_by: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if ids:
        for entry_id, target in session.exec(
            select(IncidentEntry.id, IncidentEntry.corrects_entry_id)
            .where(col(IncidentEntry.corrects_entry_id).in_(ids))
            .order_by(col(IncidentEntry.created_at), col(IncidentEntry.id))
        ).all():
            if target is not None:
                corrected_by[target].append(entry_id)
    return [EntryPublic.model_validate(e, update={"corrected_by_ids": corrected_by[e.id]}) for e in entries]


def add_entry(*, session: Session, reach: Reach, incident: Incident, data: EntryCreate) -> EntryPublic:
    """Append a dated entry to the chronology, written by the caller."""
    author = checks.staff_id_of(reach.caller)
    occurred_at = checks.past("occurred_at", data.occurred_at) if data.occurred_at is not None else utcnow()
    if data.corrects_entry_id is not None:
        target = session.get(IncidentEntry, data.corrects_entry_id)
        if target is None or target.incident_id != incident.id:
            raise Unprocessable.field(
                "corrects_entry_id", f"No entry with id {data.corrects_entry_id} in this incident"
            )
    entry = IncidentEntry(
        incident_id=incident.id,
        kind=data.kind,
        text=data.text,
        occurred_at=occurred_at,
        author_id=author,
        corrects_entry_id=data.corrects_entry_id,
    )
    session.add(entry)
    checks.audit_event(session, caller=reach.caller, action="incident.entry.create", entity=entry)
    session.commit()
    return entries_public(session, [entry])[0]


def _entry_order() -> tuple[Any, ...]:
    return (col(IncidentEntry.occurred_at), col(IncidentEntry.created_at), col(IncidentEntry.id))


def list_entries(
    *, session: Session, reach: Reach, incident: Incident, paging: PageParams
) -> Page[EntryPublic]:
    """The incident's entries in the order things happened; the read is logged."""
    query = select(IncidentEntry).where(IncidentEntry.incident_id == incident.id).order_by(*_entry_order())
    found = crud.paged(session, query, paging)
    checks.log_views(session, caller=reach.caller, incident_ids=[incident.id], via=ViewKind.entries)
    return crud.recast(found, entries_public(session, found.items))


def get_entry(*, session: Session, reach: Reach, incident: Incident, entry_id: uuid.UUID) -> EntryPublic:
    """One entry of the incident, or 404; the read is logged."""
    entry = session.get(IncidentEntry, entry_id)
    if entry is None or entry.incident_id != incident.id:
        raise NotFound(f"No entry with id {entry_id} in this incident")
    checks.log_views(session, caller=reach.caller, incident_ids=[incident.id], via=ViewKind.entries)
    return entries_public(session, [entry])[0]
