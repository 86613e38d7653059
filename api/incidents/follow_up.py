"""Incidents: what follows a report (parent or carer notifications, referrals to the police or the LADO),
the timeline of everything recorded, and who has read the incident."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlmodel import Session, SQLModel, col, select

from api import clock, crud
from api.audit import service as audit
from api.auth.reach import Reach
from api.common import Page, PageParams
from api.errors import FieldError, Unprocessable
from api.incidents import checks, chronology
from api.incidents.follow_up_models import (
    INFORMED_FIELDS,
    IncidentNotification,
    IncidentReferral,
    IncidentView,
    NotificationCreate,
    NotificationPublic,
    ReferralCreate,
    ReferralPublic,
    TimelineItem,
    TimelineKind,
    ViewKind,
)
from api.incidents.models import (
    CHANGED,
    CorrectionPublic,
    FieldChange,
    Incident,
    IncidentCorrection,
    IncidentEntry,
    IncidentParticipant,
    IncidentTransition,
    TransitionPublic,
)


def _correction_public(row: IncidentCorrection, *, full: bool) -> CorrectionPublic:
    """A correction as the caller may see it: free text (the summary) only as "changed" unless `full`."""
    hidden = set() if full else audit.free_text_fields(Incident)
    changes: dict[str, FieldChange | Literal["changed"]] = {
        field: CHANGED if field in hidden else FieldChange.model_validate(change)
        for field, change in row.changes.items()
    }
    return CorrectionPublic.model_validate(row, update={"changes": changes})


def _notification_public(row: IncidentNotification) -> NotificationPublic:
    return NotificationPublic.model_validate(row, update={"informed": row.informed_name is not None})


def add_notification(
    *, session: Session, reach: Reach, incident: Incident, data: NotificationCreate
) -> NotificationPublic:
    """Record that a parent or carer was informed, or the decision not to inform them and why."""
    recorder = checks.staff_id_of(reach.caller)
    involved = session.get(IncidentParticipant, (incident.id, data.participant_id))
    if involved is None:
        raise Unprocessable.field("participant_id", "This participant is not involved in the incident")
    informed_fields = [*INFORMED_FIELDS, "informed_by_id"]
    informed_at: datetime | None = None
    informed_by: uuid.UUID | None = None
    if data.not_informed_reason is not None:
        given = [f for f in informed_fields if getattr(data, f) is not None]
        if given:
            raise Unprocessable.field(
                given[0], f"Give either who was informed or not_informed_reason, not both ({given[0]} given)"
            )
    else:
        missing = [f for f in INFORMED_FIELDS if getattr(data, f) is None]
        if missing:
            raise Unprocessable(
                f"Give who was informed ({', '.join(INFORMED_FIELDS)}) or not_informed_reason",
                errors=[
                    FieldError(
                        field=f,
                        message=f"{f} is required unless not_informed_reason is given",
                        type="missing",
                    )
                    for f in missing
                ],
            )
        assert data.informed_at is not None
        informed_at = checks.past("informed_at", data.informed_at)
        # Who told the parent or carer: the caller, or (a coordinator recording it) another member of staff
        # who was current staff on the day they told them.
        informed_on = informed_at.astimezone(clock.organisation_zone()).date()
        informed_by = reach.signer(session, data.informed_by_id or recorder, informed_on, "informed_by_id")
    row = IncidentNotification(
        incident_id=incident.id,
        participant_id=data.participant_id,
        informed_name=data.informed_name,
        method=data.method,
        informed_at=informed_at,
        informed_by_id=informed_by,
        not_informed_reason=data.not_informed_reason,
        recorded_by_id=recorder,
    )
    session.add(row)
    checks.audit_event(session, caller=reach.caller, action="incident.notification.create", entity=row)
    session.commit()
    return _notification_public(row)


def list_notifications(
    *, session: Session, reach: Reach, incident: Incident, paging: PageParams
) -> Page[NotificationPublic]:
    """Parent and carer notifications and decisions, in the order recorded; the read is logged."""
    query = (
        select(IncidentNotification)
        .where(IncidentNotification.incident_id == incident.id)
        .order_by(col(IncidentNotification.created_at), col(IncidentNotification.id))
    )
    found = crud.paged(session, query, paging)
    checks.log_views(session, caller=reach.caller, incident_ids=[incident.id], via=ViewKind.notifications)
    return crud.recast(found, [_notification_public(n) for n in found.items])


def add_referral(
    *, session: Session, reach: Reach, incident: Incident, data: ReferralCreate
) -> IncidentReferral:
    """Record a referral to an outside agency."""
    if data.referred_on > clock.today():
        raise Unprocessable.field("referred_on", f"referred_on ({data.referred_on}) is in the future")
    row = IncidentReferral.model_validate(
        data, update={"incident_id": incident.id, "referred_by_id": checks.staff_id_of(reach.caller)}
    )
    session.add(row)
    checks.audit_event(session, caller=reach.caller, action="incident.referral.create", entity=row)
    session.commit()
    return row


def list_referrals(
    *, session: Session, reach: Reach, incident: Incident, paging: PageParams
) -> Page[IncidentReferral]:
    """Referrals by date; the read is logged."""
    query = (
        select(IncidentReferral)
        .where(IncidentReferral.incident_id == incident.id)
        .order_by(
            col(IncidentReferral.referred_on), col(IncidentReferral.created_at), col(IncidentReferral.id)
        )
    )
    found = crud.paged(session, query, paging)
    checks.log_views(session, caller=reach.caller, incident_ids=[incident.id], via=ViewKind.referrals)
    return found


def _item(kind: TimelineKind, at: datetime, recorded_at: datetime, event: SQLModel) -> TimelineItem:
    """A timeline item of `kind` that happened `at` and was recorded at `recorded_at`: `event` (the public
    shape of the entry, transition, notification, correction or referral) in the field named by `kind`,
    every other event field null."""
    return TimelineItem.model_validate({"kind": kind, "at": at, "recorded_at": recorded_at, kind: event})


def timeline(*, session: Session, reach: Reach, incident: Incident, paging: PageParams) -> Page[TimelineItem]:
    """Entries, transitions, notifications and (for coordinators) referrals in the order they happened."""
    manages = checks.manages(reach)
    entries = session.exec(select(IncidentEntry).where(IncidentEntry.incident_id == incident.id)).all()
    items = [
        _item("entry", e.occurred_at, e.created_at, e) for e in chronology.entries_public(session, entries)
    ]
    items += [
        _item("transition", t.created_at, t.created_at, TransitionPublic.model_validate(t))
        for t in session.exec(select(IncidentTransition).where(IncidentTransition.incident_id == incident.id))
    ]
    items += [
        _item("notification", n.informed_at or n.created_at, n.created_at, _notification_public(n))
        for n in session.exec(
            select(IncidentNotification).where(IncidentNotification.incident_id == incident.id)
        )
    ]
    # A correction's earlier wording is for those who manage incidents; others see that it changed.
    items += [
        _item("correction", c.created_at, c.created_at, _correction_public(c, full=manages))
        for c in session.exec(select(IncidentCorrection).where(IncidentCorrection.incident_id == incident.id))
    ]
    # Referrals (allegations passed to the police or the LADO) are for those who manage incidents only.
    if manages:
        items += [
            _item("referral", clock.start_of(r.referred_on), r.created_at, ReferralPublic.model_validate(r))
            for r in session.exec(select(IncidentReferral).where(IncidentReferral.incident_id == incident.id))
        ]
    items.sort(key=lambda i: (i.at, i.recorded_at, i.kind))
    checks.log_views(session, caller=reach.caller, incident_ids=[incident.id], via=ViewKind.timeline)
    return crud.listed(items, paging)


def list_views(*, session: Session, incident: Incident, paging: PageParams) -> Page[IncidentView]:
    """Who has read the incident, oldest first."""
    query = (
        select(IncidentView)
        .where(IncidentView.incident_id == incident.id)
        .order_by(col(IncidentView.viewed_at), col(IncidentView.id))
    )
    return crud.paged(session, query, paging)
