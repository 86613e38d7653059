from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api.auth.permissions import IncidentsManage, IncidentsRead, IncidentsReport, IncidentsStats
from api.auth.reach import Reach, ReachDep
from api.common import YYYY_MM_DD, Day, Page, PageParams
from api.deps import SessionDep
from api.errors import NOT_FOUND, PRECONDITION, Responses, problem
from api.incidents import chronology, follow_up, service, statistics
from api.incidents.follow_up_models import (
    IncidentReferral,
    IncidentView,
    NotificationCreate,
    NotificationPublic,
    ReferralCreate,
    ReferralPublic,
    TimelineItem,
    ViewPublic,
)
from api.incidents.models import (
    Category,
    EntryCreate,
    EntryPublic,
    Incident,
    IncidentCreate,
    IncidentPublic,
    IncidentStatus,
    IncidentUpdate,
    Severity,
    TransitionCreate,
)
from api.incidents.statistics import IncidentStats
from api.lookups import by_id_in_reach
from api.problems import ProblemCode
from api.records import Records, Write
from api.sub_records import SubRecords

router = APIRouter()

TRANSITION_CONFLICT: Responses = {
    409: problem(
        "Not a transition the lifecycle allows from the current status; `allowed` lists those it does",
        ProblemCode.invalid_transition,
    )
}
REPORTER_ONLY: Responses = {
    403: problem("Only a coordinator may record an incident reported by someone else")
}


IncidentById = Annotated[Incident, Depends(by_id_in_reach(service.get, "incident_id"))]
records = Records(
    router, by_id=IncidentById, public=IncidentPublic, reader=IncidentsRead, writer=IncidentsManage
)
filed = SubRecords(records)


def read(session: Session, reach: Reach, incident: Incident) -> IncidentPublic:
    return service.read(session=session, reach=reach, incident=incident)


@dataclass
class IncidentFilters:
    status: Annotated[IncidentStatus | None, Query(description="Only incidents with this status")] = None
    category: Annotated[Category | None, Query(description="Only incidents of this category")] = None
    severity: Annotated[Severity | None, Query(description="Only incidents of this severity")] = None
    group_id: Annotated[uuid.UUID | None, Query(description="Only incidents in this group")] = None
    occurred_from: Annotated[
        Day | None,
        Query(
            description="Only incidents that occurred on or after this day (the organisation's calendar day, "
            "inclusive)"
        ),
    ] = None
    # The day after `occurred_to` bounds the search: the last representable day has none.
    occurred_to: Annotated[
        date | None,
        Query(
            le=date(9999, 12, 30),
            description="Only incidents that occurred on or before this day (the organisation's calendar "
            "day, inclusive)",
        ),
        YYYY_MM_DD,
    ] = None


records.list(
    "list_incidents",
    "List incidents",
    """Incidents newest first. Coordinators see all; staff only those they reported. `occurred_from` and
    `occurred_to` are whole days of the organisation's calendar (`ORGANISATION_TIMEZONE`), both included.
    Every incident returned is written to its view log.""",
    call=service.list_,
    filters=IncidentFilters,
)


@records.create("", summary="Report an incident", responses=REPORTER_ONLY, writer=IncidentsReport)
def report_incident(write: Write, data: IncidentCreate) -> IncidentPublic:
    """Report an incident; it starts `reported`. `reported_by_id` defaults to the caller (a coordinator may
    name another member of staff). Involved participants and staff, the group and the rule ids are checked
    (422 naming the field and index)."""
    return write.call(service.create, data=data)


# Declared before /{incident_id}, which would otherwise take "stats" for an id.
@router.get("/stats", response_model=IncidentStats, summary="Incident statistics")
def get_incident_stats(session: SessionDep, _: IncidentsStats) -> IncidentStats:
    """Counts by category, severity, status and month of occurrence, for governance. No names and no text;
    any count under 3 (zero included) is shown as `"<3"` so that no child can be identified, and where the
    total and the other counts would give a `"<3"` away, one more count (3 or more) is shown as
    `"withheld"`; if no count is left to withhold, the total is."""
    return statistics.stats(session=session)


records.get(
    "/{incident_id}",
    "get_incident",
    "Get an incident",
    """One incident. The read is written to its view log. The ETag header is the version to send back in
    If-Match.""",
    present=read,
)


@records.change(
    "patch", "/{incident_id}", summary="Update an incident", responses={**NOT_FOUND, **PRECONDITION}
)
def update_incident(write: Write, incident: Incident, data: IncidentUpdate) -> IncidentPublic:
    """Correct the headline: category, severity, group, summary or rule ids, always with a `reason` (422
    naming `reason` without one). Each correction that changes something appears on the incident's timeline
    (`kind: correction`) with the fields before and after (the summary only as `"changed"` for a caller who
    does not manage incidents), and in the audit log (free text as changed). The status changes only
    through a transition, and the original `details` never change (add an entry instead). A stale If-Match
    is a 412."""
    return write.call(service.update, incident=incident, data=data)


@records.change(
    "post",
    "/{incident_id}/transitions",
    summary="Move an incident along its lifecycle",
    responses={**NOT_FOUND, **TRANSITION_CONFLICT, **PRECONDITION},
)
def transition_incident(write: Write, incident: Incident, data: TransitionCreate) -> IncidentPublic:
    """`reported → triaged → investigating → action_taken → closed`, and `closed → investigating` to reopen.
    Closing needs `outcome` and `outcome_summary`; reopening clears `closed_at` and keeps the history. Any
    other move is a 409 whose `allowed` lists the statuses it may move to. A stale If-Match is a 412."""
    return write.call(service.transition, incident=incident, data=data)


@filed.list("/{incident_id}/timeline", public=TimelineItem, summary="An incident's timeline")
def get_incident_timeline(read: Write, incident: Incident, paging: PageParams) -> Page[TimelineItem]:
    """Entries, transitions, headline corrections, parent and carer notifications and (for coordinators)
    referrals in one list, in the order they happened. The read is written to the view log."""
    return read.call(follow_up.timeline, incident=incident, paging=paging)


@filed.add(
    "/{incident_id}/entries", public=EntryPublic, summary="Add a chronology entry", writer=IncidentsReport
)
def add_incident_entry(write: Write, incident: Incident, data: EntryCreate) -> EntryPublic:
    """Append a dated entry written by the caller. Entries are never edited or deleted: to correct one, add
    a new entry with `corrects_entry_id`."""
    return write.call(chronology.add_entry, incident=incident, data=data)


@filed.list("/{incident_id}/entries", public=EntryPublic, summary="List chronology entries")
def list_incident_entries(read: Write, incident: Incident, paging: PageParams) -> Page[EntryPublic]:
    """The chronology in the order things happened. The read is written to the view log."""
    return read.call(chronology.list_entries, incident=incident, paging=paging)


@router.get(
    "/{incident_id}/entries/{entry_id}",
    response_model=EntryPublic,
    responses=NOT_FOUND,
    summary="Get a chronology entry",
)
def get_incident_entry(
    session: SessionDep, _: IncidentsRead, reach: ReachDep, incident: IncidentById, entry_id: uuid.UUID
) -> EntryPublic:
    """One entry, with the ids of any later entries that correct it. The read is written to the view log."""
    return chronology.get_entry(session=session, reach=reach, incident=incident, entry_id=entry_id)


@filed.add(
    "/{incident_id}/notifications",
    public=NotificationPublic,
    summary="Record a parent or carer notification",
    writer=IncidentsReport,
)
def record_parent_notification(
    write: Write, incident: Incident, data: NotificationCreate
) -> NotificationPublic:
    """Either who was informed (`informed_name`, `method`, `informed_at`, `informed_by_id` defaulting to
    the caller) or a decision not to inform (`not_informed_reason`), for a participant involved in the
    incident."""
    return write.call(follow_up.add_notification, incident=incident, data=data)


@filed.list(
    "/{incident_id}/notifications", public=NotificationPublic, summary="List parent and carer notifications"
)
def list_parent_notifications(
    read: Write, incident: Incident, paging: PageParams
) -> Page[NotificationPublic]:
    """Notifications and decisions not to inform, in the order recorded. The read is written to the view
    log."""
    return read.call(follow_up.list_notifications, incident=incident, paging=paging)


@filed.add(
    "/{incident_id}/referrals", public=ReferralPublic, summary="Record a referral to an outside agency"
)
def add_incident_referral(write: Write, incident: Incident, data: ReferralCreate) -> IncidentReferral:
    """A referral to the police, the LADO, CEOP, children's services or a platform, with its date and the
    agency's reference."""
    return write.call(follow_up.add_referral, incident=incident, data=data)


@filed.list(
    "/{incident_id}/referrals", public=ReferralPublic, summary="List referrals", reader=IncidentsManage
)
def list_incident_referrals(read: Write, incident: Incident, paging: PageParams) -> Page[IncidentReferral]:
    """Referrals by date. The read is written to the view log."""
    return read.call(follow_up.list_referrals, incident=incident, paging=paging)


@filed.list(
    "/{incident_id}/views", public=ViewPublic, summary="Who has viewed an incident", reader=IncidentsManage
)
def list_incident_views(read: Write, incident: Incident, paging: PageParams) -> Page[IncidentView]:
    """Every read of the incident: who, when and which view, oldest first."""
    return read.call(follow_up.list_views, incident=incident, paging=paging)
