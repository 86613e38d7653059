"""Incidents (api/incidents), made directly with the model (test_incidents tests the routes' verbs)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from api import clock
from api.groups.models import Group
from api.incidents.models import Category, Incident, IncidentStatus, Severity
from api.staff.models import Staff
from tests.kit.records import add


def make_incident(
    session: Session,
    group: Group,
    reporter: Staff,
    *,
    severity: Severity = Severity.high,
    created_at: datetime | None = None,
    closed_at: datetime | None = None,
) -> Incident:
    """A cyberbullying incident in `group` reported by `reporter`, made two days ago unless `created_at`;
    under investigation, or closed at `closed_at`."""
    when = created_at or clock.now() - timedelta(days=2)
    values = {
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
    return add(session, Incident, values, {})
