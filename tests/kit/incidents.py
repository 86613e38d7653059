"""Incidents (api/incidents), made directly with the models (test_incidents tests the routes' verbs)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from api import clock
from api.groups.models import Group
from api.incidents.models import Category, Incident, IncidentParticipant, IncidentStatus, Severity
from api.participants.models import Participant
from api.staff.models import Staff
from tests.kit.records import add


def make_incident(
    session: Session,
    group: Group,
    reporter: Staff,
    *,
    participants: Sequence[Participant] = (),
    severity: Severity = Severity.high,
    created_at: datetime | None = None,
    closed_at: datetime | None = None,
    **overrides: Any,
) -> Incident:
    """A cyberbullying incident in `group` reported by `reporter`, naming `participants`; it happened and
    was recorded at `created_at` (two days ago unless given); under investigation, or closed at
    `closed_at`. `overrides` are the incident's other fields."""
    when = created_at or clock.now() - timedelta(days=2)
    values: dict[str, Any] = {
        "category": Category.cyberbullying,
        "severity": severity,
        "occurred_at": when,
        "group_id": group.id,
        "summary": "Name-calling in the group chat",
        "reported_by_id": reporter.id,
        "status": IncidentStatus.closed if closed_at else IncidentStatus.investigating,
        "closed_at": closed_at,
        "created_at": when,
        "updated_at": when,
    }
    incident = add(session, Incident, values, overrides)
    for person in participants:
        add(session, IncidentParticipant, {}, {"incident_id": incident.id, "participant_id": person.id})
    return incident
