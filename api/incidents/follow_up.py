"""Incidents: what follows a report (parent or carer notifications, referrals to the police or the LADO),
the timeline of everything recorded, and who has read the incident."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, select

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


def timeline(*, session: Session, reach: Reach, incident: Incident, paging: PageParams) -> Page[TimelineItem]:
    """Entries, transitions, notifications and (for coordinators) referrals in the order they happened."""
    items: list[TimelineItem] = []
    entries = session.exec(select(IncidentEntry).where(IncidentEntry.incident_id == incident.id)).all()
    for e in chronology.entries_public(session, entries):
        items.append(TimelineItem(kind="entry", at=e.occurred_at, recorded_at=e.created_at, entry=e))
    for t in session.exec(select(IncidentTransition).where(IncidentTransition.incident_id == incident.id)):
        items.append(
            TimelineItem(
                kind="transition",
                at=t.created_at,
                recorded_at=t.created_at,
                transition=TransitionPublic.model_validate(t),
            )
        )
    for n in session.exec(
        select(IncidentNotification).where(IncidentNotification.incident_id == incident.id)
    ):
        items.append(
            TimelineItem(
                kind="notification",
                at=n.informed_at or n.created_at,
                recorded_at=n.created_at,
                notification=_notification_public(n),
            )
        )
    # A correction's earlier wording is for those who manage incidents; others see that it changed.
    for c in session.exec(select(IncidentCorrection).where(IncidentCorrection.incident_id == incident.id)):
        items.append(
            TimelineItem(
                kind="correction",
                at=c.created_at,
                recorded_at=c.created_at,
                correction=_correction_public(c, full=checks.manages(reach)),
            )
        )
    # Referrals (allegations passed to the police or the LADO) are for those who manage incidents only.
    if checks.manages(reach):
        for r in session.exec(select(IncidentReferral).where(IncidentReferral.incident_id == incident.id)):
            items.append(
                TimelineItem(
                    kind="referral",
                    at=clock.start_of(r.referred_on),
                    recorded_at=r.created_at,
                    referral=ReferralPublic.model_validate(r),
                )
            )
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
