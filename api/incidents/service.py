"""Incidents: the verbs (report, update, move through the lifecycle, read, list). Routes call these and
those of chronology.py (entries), follow_up.py (notifications, referrals, the timeline) and statistics.py;
nothing else writes incident rows.

An incident is a safeguarding record: its chronology (entries, transitions, notifications, referrals) is
append-only, every read is written to a view log, and a member of staff reaches only the incidents they
reported (applied in SQL, so anything else is a 404).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import exists
from sqlmodel import Session, col, select

from api import clock, crud, events
from api.audit import service as audit
from api.auth.reach import Reach
from api.common import Page, PageParams, check_order
from api.db import utcnow
from api.errors import Conflict, FieldError, PreconditionFailed, Unprocessable
from api.incidents import checks
from api.incidents.follow_up_models import IncidentNotification, ViewKind
from api.incidents.lifecycle import allowed_from
from api.incidents.models import (
    HEADLINE,
    Category,
    Incident,
    IncidentCorrection,
    IncidentCreate,
    IncidentParticipant,
    IncidentPublic,
    IncidentStaff,
    IncidentStatus,
    IncidentTransition,
    IncidentUpdate,
    Severity,
    TransitionCreate,
)
from api.participants.models import Participant
from api.policy import service as policy
from api.problems import ProblemCode
from api.staff.models import Staff
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent

NOTIFY_SEVERITIES = (Severity.high, Severity.critical)


def get(*, session: Session, reach: Reach, incident_id: uuid.UUID) -> Incident:
    """One incident within the caller's reach, or 404 (an incident out of reach does not exist for them)."""
    within = reach.incidents(Incident.reported_by_id)
    return crud.get_within(session, Incident, incident_id, within, "incident")


def overdue_ids(
    session: Session, incident_ids: Sequence[uuid.UUID], *, now: datetime | None = None
) -> set[uuid.UUID]:
    """Of these incidents, those whose parent or carer notification is overdue: one query for them all.

    Overdue: high or critical, reported (recorded here) more than `parent_notification_days` ago, and some
    involved participant has neither a notification nor a recorded decision not to inform.
    """
    if not incident_ids:
        return set()
    days = policy.get(session=session).parent_notification_days
    cutoff = (now or utcnow()) - timedelta(days=days)
    link = IncidentParticipant
    notified = exists().where(
        col(IncidentNotification.incident_id) == col(link.incident_id),
        col(IncidentNotification.participant_id) == col(link.participant_id),
    )
    query = (
        select(link.incident_id)
        .join(Incident, col(Incident.id) == col(link.incident_id))
        .where(
            col(link.incident_id).in_(incident_ids),
            col(Incident.severity).in_(NOTIFY_SEVERITIES),
            col(Incident.created_at) < cutoff,
            ~notified,
        )
        .distinct()
    )
    return set(session.exec(query).all())


def _linked(
    session: Session, incident_id: uuid.UUID, linked_id: uuid.UUID, ids: list[uuid.UUID]
) -> defaultdict[uuid.UUID, list[uuid.UUID]]:
    """The ids a link table's column `linked_id` holds for each of the incidents `ids` (by the same table's
    `incident_id` column), each list in id order: one query however many incidents; an empty list for an
    incident with none."""
    linked: defaultdict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if ids:
        query = select(incident_id, linked_id).where(col(incident_id).in_(ids)).order_by(col(linked_id))
        for incident, other in session.exec(query).all():
            linked[incident].append(other)
    return linked


def to_public(*, session: Session, incidents: Sequence[Incident]) -> list[IncidentPublic]:
    """The response shape for a page of incidents, in a fixed number of queries however long the page."""
    ids = [i.id for i in incidents]
    participants = _linked(session, IncidentParticipant.incident_id, IncidentParticipant.participant_id, ids)
    staff = _linked(session, IncidentStaff.incident_id, IncidentStaff.staff_id, ids)
    overdue = overdue_ids(session, ids)
    return [
        IncidentPublic.model_validate(
            incident,
            update={
                "participant_ids": participants[incident.id],
                "staff_ids": staff[incident.id],
                "parent_notification_overdue": incident.id in overdue,
            },
        )
        for incident in incidents
    ]


def read(*, session: Session, reach: Reach, incident: Incident) -> IncidentPublic:
    """One incident for the caller, the read logged."""
    checks.log_views(session, caller=reach.caller, incident_ids=[incident.id], via=ViewKind.incident)
    return to_public(session=session, incidents=[incident])[0]


def list_(
    *,
    session: Session,
    reach: Reach,
    paging: PageParams,
    status: IncidentStatus | None = None,
    category: Category | None = None,
    severity: Severity | None = None,
    group_id: uuid.UUID | None = None,
    occurred_from: date | None = None,
    occurred_to: date | None = None,
) -> Page[IncidentPublic]:
    """A filtered page of the incidents in the caller's reach, newest first; each one returned is logged."""
    check_order(occurred_from, occurred_to, start_field="occurred_from", end_field="occurred_to")
    query = crud.where_equal(
        select(Incident).where(reach.incidents(Incident.reported_by_id)),
        (Incident.status, status),
        (Incident.category, category),
        (Incident.severity, severity),
        (Incident.group_id, group_id),
    )
    if occurred_from is not None:
        query = query.where(col(Incident.occurred_at) >= clock.start_of(occurred_from))
    if occurred_to is not None:
        # Whole days of the organisation's calendar, `occurred_to` included.
        query = query.where(col(Incident.occurred_at) < clock.start_of(occurred_to + timedelta(days=1)))
    query = query.order_by(col(Incident.occurred_at).desc(), col(Incident.id))
    found = crud.paged(session, query, paging)
    if found.items:
        ids = [i.id for i in found.items]
        checks.log_views(session, caller=reach.caller, incident_ids=ids, via=ViewKind.list)
    return crud.recast(found, to_public(session=session, incidents=found.items))


def create(*, session: Session, reach: Reach, data: IncidentCreate) -> IncidentPublic:
    """Report an incident; it starts `reported`."""
    checks.staff_id_of(reach.caller)
    # The reporter is the caller, or a member of staff a coordinator records it for: current staff today,
    # the day the report is recorded.
    reporter = reach.signer(session, data.reported_by_id, clock.today(), "reported_by_id")
    occurred_at = checks.past("occurred_at", data.occurred_at)
    if data.group_id is not None:
        checks.group_in_reach(session, reach, data.group_id)
    participant_ids = list(dict.fromkeys(data.participant_ids))
    staff_ids = list(dict.fromkeys(data.staff_ids))
    # A child the reporter does not reach is refused exactly as an unknown id: reporting cannot be used to
    # learn which ids exist, nor to bring a child into the reporter's view.
    checks.must_reach(
        session,
        col(Participant.id),
        reach.participants,
        data.participant_ids,
        "participant_ids",
        "participant",
    )
    checks.must_reach(session, col(Staff.id), reach.staff, data.staff_ids, "staff_ids", "staff member")
    rule_ids = checks.rule_ids_of(data.rule_ids)
    incident = Incident.model_validate(
        data.model_dump(exclude={"participant_ids", "staff_ids", "reported_by_id"}),
        update={"reported_by_id": reporter, "occurred_at": occurred_at, "rule_ids": rule_ids},
    )
    session.add(incident)
    session.flush()  # the incident row first: the links below refer to it
    session.add_all(IncidentParticipant(incident_id=incident.id, participant_id=p) for p in participant_ids)
    session.add_all(IncidentStaff(incident_id=incident.id, staff_id=s) for s in staff_ids)
    checks.audit_event(
        session,
        caller=reach.caller,
        action="incident.create",
        entity=incident,
        extra={
            "participant_ids": {"after": [str(p) for p in participant_ids]},
            "staff_ids": {"after": [str(s) for s in staff_ids]},
        },
    )
    # Queued with the incident, so it is announced exactly when it is stored; ids and labels only, never the
    # summary or details (they name children and adults).
    webhooks.emit(
        session,
        WebhookEvent.incident_reported,
        {
            "incident_id": incident.id,
            "group_id": incident.group_id,
            "category": incident.category,
            "severity": incident.severity,
        },
    )
    session.commit()
    events.publish(session, events.GroupFactsChanged.of([incident.group_id]))
    return to_public(session=session, incidents=[incident])[0]


def update(
    *,
    session: Session,
    reach: Reach,
    incident: Incident,
    data: IncidentUpdate,
    expected_version: int | None = None,
) -> IncidentPublic:
    """Correct the headline fields sent (never the status, never `details`), with a reason (422 naming
    `reason` without one). Each correction that changes something is kept on the incident's timeline
    (`incident_correction`, append-only) as well as in the audit log."""
    if data.reason is None:
        raise Unprocessable.field(
            "reason", "a correction needs a reason: why the headline changes", "missing"
        )
    crud.refuse_nulls(data, IncidentUpdate.NOT_NULL)
    if data.group_id is not None:
        checks.group_in_reach(session, reach, data.group_id)
    rule_ids = checks.rule_ids_of(data.rule_ids) if data.rule_ids is not None else None
    author = checks.staff_id_of(reach.caller)
    group_before = incident.group_id
    before = audit.snapshot(incident)
    for field, value in data.model_dump(exclude_unset=True, include=set(HEADLINE)).items():
        setattr(incident, field, value)
    if rule_ids is not None:
        incident.rule_ids = rule_ids
    after = audit.snapshot(incident)
    changes = {f: {"before": before[f], "after": after[f]} for f in HEADLINE if before[f] != after[f]}
    if changes:
        # Added before the save, so it is written (or, on a stale If-Match, discarded) with the change.
        correction = IncidentCorrection(
            incident_id=incident.id, reason=data.reason, changes=changes, actor_id=author
        )
        session.add(correction)
        checks.audit_event(
            session, caller=reach.caller, action="incident.correction.create", entity=correction
        )
    crud.save(
        session,
        incident,
        actor=reach.caller,
        action="incident.update",
        before=before,
        expected_version=expected_version,
    )
    # Moving an incident between groups (or changing its severity) can change both groups' standing.
    events.publish(session, events.GroupFactsChanged.of([group_before, incident.group_id]))
    return to_public(session=session, incidents=[incident])[0]


def transition(
    *,
    session: Session,
    reach: Reach,
    incident: Incident,
    data: TransitionCreate,
    expected_version: int | None = None,
) -> IncidentPublic:
    """Move the incident along its lifecycle; an impossible move is a 409 listing the allowed ones."""
    # Lock the row (PostgreSQL) so two coordinators cannot both move it from the same status. If-Match is
    # checked on the version read under that lock, so the lock and the ETag agree on who was first.
    session.refresh(incident, with_for_update=True)
    if expected_version is not None and expected_version != incident.version:
        session.rollback()  # releases the row lock
        raise PreconditionFailed(f"The incident is at version {incident.version}, not {expected_version}")
    allowed = allowed_from(incident.status)
    if data.to_status not in allowed:
        names = ", ".join(a.value for a in allowed)
        raise Conflict(
            f"An incident that is {incident.status.value} can move only to: {names}",
            code=ProblemCode.invalid_transition,
            extra={"status": incident.status.value, "allowed": [a.value for a in allowed]},
        )
    closing = data.to_status is IncidentStatus.closed
    if closing:
        missing = [f for f in ("outcome", "outcome_summary") if getattr(data, f) is None]
        if missing:
            raise Unprocessable(
                f"Closing an incident needs: {', '.join(missing)}",
                errors=[
                    FieldError(field=f, message=f"{f} is required to close", type="missing") for f in missing
                ],
            )
    else:
        for field in ("outcome", "outcome_summary"):
            if getattr(data, field) is not None:
                raise Unprocessable.field(field, f"{field} is given only when closing")
    before = audit.snapshot(incident)
    # The move as sent, and what the server knows: from where, by whom.
    actor_id = checks.staff_id_of(reach.caller)
    record = IncidentTransition.model_validate(
        data, update={"incident_id": incident.id, "from_status": incident.status, "actor_id": actor_id}
    )
    reopening = incident.status is IncidentStatus.closed
    incident.status = data.to_status
    if closing:
        incident.outcome = data.outcome
        incident.outcome_summary = data.outcome_summary
        incident.closed_at = utcnow()
    elif reopening:
        # The closing outcome stays in the transition history; the incident itself is open again.
        incident.outcome = None
        incident.outcome_summary = None
        incident.closed_at = None
    checks.touch(incident)
    session.add(record)
    session.add(incident)
    checks.audit_event(
        session, caller=reach.caller, action="incident.transition", entity=incident, before=before
    )
    session.commit()
    events.publish(session, events.GroupFactsChanged.of([incident.group_id]))
    return to_public(session=session, incidents=[incident])[0]
