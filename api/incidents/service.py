"""Incidents: the verbs. Routes call these; nothing else writes incident rows.

An incident is a safeguarding record: its chronology (entries, transitions, notifications, referrals) is
append-only, every read is written to a view log, and a member of staff reaches only the incidents they
reported (applied in SQL, so anything else is a 404).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, exists
from sqlmodel import Session, SQLModel, col, func, select

from api import clock, crud, events
from api.audit import service as audit
from api.auth.principal import Principal
from api.auth.reach import Reach
from api.auth.roles import Permission
from api.common import check_order
from api.compliance.rules import ALL_IDS
from api.db import utcnow
from api.errors import Conflict, FieldError, Forbidden, NotFound, PreconditionFailed, Unprocessable
from api.groups.models import Group
from api.incidents.lifecycle import allowed_from
from api.incidents.models import (
    CHANGED,
    HEADLINE,
    INFORMED_FIELDS,
    Category,
    CorrectionPublic,
    Count,
    EntryCreate,
    EntryPublic,
    FieldChange,
    Incident,
    IncidentCorrection,
    IncidentCreate,
    IncidentEntry,
    IncidentNotification,
    IncidentParticipant,
    IncidentPublic,
    IncidentReferral,
    IncidentStaff,
    IncidentStats,
    IncidentStatus,
    IncidentTransition,
    IncidentUpdate,
    IncidentView,
    NotificationCreate,
    NotificationPublic,
    ReferralCreate,
    ReferralPublic,
    Severity,
    TimelineItem,
    TransitionCreate,
    TransitionPublic,
    ViewKind,
)
from api.participants.models import Participant
from api.policy import service as policy
from api.staff.models import Staff
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent

NOTIFY_SEVERITIES = (Severity.high, Severity.critical)


# --- reach and small checks ---------------------------------------------------------------------------


def _manages(reach: Reach) -> bool:
    """Whether the caller manages incidents (referrals to the police or the LADO are theirs alone)."""
    return Permission.INCIDENT_MANAGE in reach.actor.permissions


def _staff_id(caller: Principal) -> uuid.UUID:
    if caller.staff_id is None:
        raise Forbidden("Only a signed-in member of staff may write to an incident record")
    return caller.staff_id


def _past(field: str, value: datetime) -> datetime:
    """A timestamp with an offset, not in the future (a naive one would be ambiguous: 422, not a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise Unprocessable.field(field, f"{field} needs a UTC offset (for example 2025-01-31T14:00:00Z)")
    if value > utcnow():
        raise Unprocessable.field(field, f"{field} ({value.isoformat()}) is in the future")
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # the first day of year 1 east of UTC has no UTC time
        raise Unprocessable.field(field, f"{field} is out of range") from exc


def _rule_ids(rule_ids: Sequence[str], field: str = "rule_ids") -> list[str]:
    """The compliance rules an incident concerns: ids from the catalog, so a report links to real rules."""
    for i, rule_id in enumerate(rule_ids):
        if rule_id not in ALL_IDS:
            raise Unprocessable.field(
                f"{field}.{i}",
                f"{rule_id!r} is not a compliance rule (GET /api/v1/compliance/rules lists them)",
            )
    return list(dict.fromkeys(rule_ids))


def _must_reach(
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


def _group_in_reach(session: Session, reach: Reach, group_id: uuid.UUID) -> None:
    _must_reach(session, col(Group.id), reach.groups, [group_id], "group_id", "group")


def _audit(
    session: Session,
    *,
    actor: Principal,
    action: str,
    entity: SQLModel,
    before: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    # Free text about children and adults lives in the append-only incident tables; the audit writer records
    # that it was written, not what it says.
    changes = {**audit.diff(before or {}, audit.snapshot(entity)), **(extra or {})}
    audit.record(session, actor=actor, action=action, entity=entity, changes=changes)


def _touch(incident: Incident) -> None:
    incident.updated_at = utcnow()
    incident.version += 1


# --- the incident -------------------------------------------------------------------------------------


def get(*, session: Session, reach: Reach, incident_id: uuid.UUID) -> Incident:
    """One incident within the caller's reach, or 404 (an incident out of reach does not exist for them)."""
    query = select(Incident).where(Incident.id == incident_id, reach.incidents(Incident.reported_by_id))
    incident = session.exec(query).first()
    if incident is None:
        raise NotFound(f"No incident with id {incident_id}")
    return incident


def _log_views(
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


def to_public(*, session: Session, incidents: Sequence[Incident]) -> list[IncidentPublic]:
    """The response shape for a page of incidents, in a fixed number of queries however long the page."""
    ids = [i.id for i in incidents]
    participants: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    staff: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    if ids:
        for incident_id, participant_id in session.exec(
            select(IncidentParticipant.incident_id, IncidentParticipant.participant_id)
            .where(col(IncidentParticipant.incident_id).in_(ids))
            .order_by(col(IncidentParticipant.participant_id))
        ).all():
            participants[incident_id].append(participant_id)
        for incident_id, staff_id in session.exec(
            select(IncidentStaff.incident_id, IncidentStaff.staff_id)
            .where(col(IncidentStaff.incident_id).in_(ids))
            .order_by(col(IncidentStaff.staff_id))
        ).all():
            staff[incident_id].append(staff_id)
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
    _log_views(session, caller=reach.actor, incident_ids=[incident.id], via=ViewKind.incident)
    return to_public(session=session, incidents=[incident])[0]


def list_(
    *,
    session: Session,
    reach: Reach,
    limit: int,
    offset: int,
    status: IncidentStatus | None = None,
    category: Category | None = None,
    severity: Severity | None = None,
    group_id: uuid.UUID | None = None,
    occurred_from: date | None = None,
    occurred_to: date | None = None,
) -> tuple[list[IncidentPublic], int]:
    """A filtered page of the incidents in the caller's reach, newest first; each one returned is logged."""
    check_order(occurred_from, occurred_to, start_field="occurred_from", end_field="occurred_to")
    query = select(Incident).where(reach.incidents(Incident.reported_by_id))
    if status is not None:
        query = query.where(Incident.status == status)
    if category is not None:
        query = query.where(Incident.category == category)
    if severity is not None:
        query = query.where(Incident.severity == severity)
    if group_id is not None:
        query = query.where(Incident.group_id == group_id)
    if occurred_from is not None:
        query = query.where(col(Incident.occurred_at) >= clock.start_of(occurred_from))
    if occurred_to is not None:
        # Whole days of the organisation's calendar, `occurred_to` included.
        query = query.where(col(Incident.occurred_at) < clock.start_of(occurred_to + timedelta(days=1)))
    query = query.order_by(col(Incident.occurred_at).desc(), col(Incident.id))
    items, total = crud.page(session, query, limit=limit, offset=offset)
    if items:
        _log_views(session, caller=reach.actor, incident_ids=[i.id for i in items], via=ViewKind.list)
    return to_public(session=session, incidents=items), total


def create(*, session: Session, reach: Reach, data: IncidentCreate) -> IncidentPublic:
    """Report an incident; it starts `reported`."""
    _staff_id(reach.actor)
    # The reporter is the caller, or a member of staff a coordinator records it for: current staff today,
    # the day the report is recorded.
    reporter = reach.signer(session, data.reported_by_id, clock.today(), "reported_by_id")
    occurred_at = _past("occurred_at", data.occurred_at)
    if data.group_id is not None:
        _group_in_reach(session, reach, data.group_id)
    participant_ids = list(dict.fromkeys(data.participant_ids))
    staff_ids = list(dict.fromkeys(data.staff_ids))
    # A child the reporter does not reach is refused exactly as an unknown id: reporting cannot be used to
    # learn which ids exist, nor to bring a child into the reporter's view.
    _must_reach(
        session,
        col(Participant.id),
        reach.participants,
        data.participant_ids,
        "participant_ids",
        "participant",
    )
    _must_reach(session, col(Staff.id), reach.staff, data.staff_ids, "staff_ids", "staff member")
    rule_ids = _rule_ids(data.rule_ids)
    incident = Incident.model_validate(
        data.model_dump(exclude={"participant_ids", "staff_ids", "reported_by_id"}),
        update={"reported_by_id": reporter, "occurred_at": occurred_at, "rule_ids": rule_ids},
    )
    session.add(incident)
    session.flush()  # the incident row first: the links below refer to it
    session.add_all(IncidentParticipant(incident_id=incident.id, participant_id=p) for p in participant_ids)
    session.add_all(IncidentStaff(incident_id=incident.id, staff_id=s) for s in staff_ids)
    _audit(
        session,
        actor=reach.actor,
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
    for field in IncidentUpdate.NOT_NULL:
        if field in data.model_fields_set and getattr(data, field) is None:
            raise Unprocessable.field(field, f"{field} cannot be null")
    if data.group_id is not None:
        _group_in_reach(session, reach, data.group_id)
    rule_ids = _rule_ids(data.rule_ids) if data.rule_ids is not None else None
    author = _staff_id(reach.actor)
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
        _audit(session, actor=reach.actor, action="incident.correction.create", entity=correction)
    crud.save(
        session,
        incident,
        actor=reach.actor,
        action="incident.update",
        before=before,
        expected_version=expected_version,
    )
    # Moving an incident between groups (or changing its severity) can change both groups' standing.
    events.publish(session, events.GroupFactsChanged.of([group_before, incident.group_id]))
    return to_public(session=session, incidents=[incident])[0]


def _correction_public(row: IncidentCorrection, *, full: bool) -> CorrectionPublic:
    """A correction as the caller may see it: free text (the summary) only as "changed" unless `full`."""
    hidden = set() if full else audit.free_text_fields(Incident)
    changes: dict[str, FieldChange | Literal["changed"]] = {
        field: CHANGED if field in hidden else FieldChange.model_validate(change)
        for field, change in row.changes.items()
    }
    return CorrectionPublic.model_validate(row, update={"changes": changes})


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
            code="invalid_transition",
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
    record = IncidentTransition(
        incident_id=incident.id,
        from_status=incident.status,
        to_status=data.to_status,
        reason=data.reason,
        outcome=data.outcome,
        outcome_summary=data.outcome_summary,
        actor_id=_staff_id(reach.actor),
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
    _touch(incident)
    session.add(record)
    session.add(incident)
    _audit(session, actor=reach.actor, action="incident.transition", entity=incident, before=before)
    session.commit()
    events.publish(session, events.GroupFactsChanged.of([incident.group_id]))
    return to_public(session=session, incidents=[incident])[0]


# --- the chronology -----------------------------------------------------------------------------------


def _entries_public(session: Session, entries: Sequence[IncidentEntry]) -> list[EntryPublic]:
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
    author = _staff_id(reach.actor)
    occurred_at = _past("occurred_at", data.occurred_at) if data.occurred_at is not None else utcnow()
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
    _audit(session, actor=reach.actor, action="incident.entry.create", entity=entry)
    session.commit()
    return _entries_public(session, [entry])[0]


def _entry_order() -> tuple[Any, ...]:
    return (col(IncidentEntry.occurred_at), col(IncidentEntry.created_at), col(IncidentEntry.id))


def list_entries(
    *, session: Session, reach: Reach, incident: Incident, limit: int, offset: int
) -> tuple[list[EntryPublic], int]:
    """The incident's entries in the order things happened; the read is logged."""
    query = select(IncidentEntry).where(IncidentEntry.incident_id == incident.id).order_by(*_entry_order())
    items, total = crud.page(session, query, limit=limit, offset=offset)
    _log_views(session, caller=reach.actor, incident_ids=[incident.id], via=ViewKind.entries)
    return _entries_public(session, items), total


def get_entry(*, session: Session, reach: Reach, incident: Incident, entry_id: uuid.UUID) -> EntryPublic:
    """One entry of the incident, or 404; the read is logged."""
    entry = session.get(IncidentEntry, entry_id)
    if entry is None or entry.incident_id != incident.id:
        raise NotFound(f"No entry with id {entry_id} in this incident")
    _log_views(session, caller=reach.actor, incident_ids=[incident.id], via=ViewKind.entries)
    return _entries_public(session, [entry])[0]


def _notification_public(row: IncidentNotification) -> NotificationPublic:
    return NotificationPublic.model_validate(row, update={"informed": row.informed_name is not None})


def add_notification(
    *, session: Session, reach: Reach, incident: Incident, data: NotificationCreate
) -> NotificationPublic:
    """Record that a parent or carer was informed, or the decision not to inform them and why."""
    recorder = _staff_id(reach.actor)
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
        informed_at = _past("informed_at", data.informed_at)
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
    _audit(session, actor=reach.actor, action="incident.notification.create", entity=row)
    session.commit()
    return _notification_public(row)


def list_notifications(
    *, session: Session, reach: Reach, incident: Incident, limit: int, offset: int
) -> tuple[list[NotificationPublic], int]:
    """Parent and carer notifications and decisions, in the order recorded; the read is logged."""
    query = (
        select(IncidentNotification)
        .where(IncidentNotification.incident_id == incident.id)
        .order_by(col(IncidentNotification.created_at), col(IncidentNotification.id))
    )
    items, total = crud.page(session, query, limit=limit, offset=offset)
    _log_views(session, caller=reach.actor, incident_ids=[incident.id], via=ViewKind.notifications)
    return [_notification_public(n) for n in items], total


def add_referral(
    *, session: Session, reach: Reach, incident: Incident, data: ReferralCreate
) -> IncidentReferral:
    """Record a referral to an outside agency."""
    if data.referred_on > clock.today():
        raise Unprocessable.field("referred_on", f"referred_on ({data.referred_on}) is in the future")
    row = IncidentReferral.model_validate(
        data, update={"incident_id": incident.id, "referred_by_id": _staff_id(reach.actor)}
    )
    session.add(row)
    _audit(session, actor=reach.actor, action="incident.referral.create", entity=row)
    session.commit()
    return row


def list_referrals(
    *, session: Session, reach: Reach, incident: Incident, limit: int, offset: int
) -> tuple[list[IncidentReferral], int]:
    """Referrals by date; the read is logged."""
    query = (
        select(IncidentReferral)
        .where(IncidentReferral.incident_id == incident.id)
        .order_by(
            col(IncidentReferral.referred_on), col(IncidentReferral.created_at), col(IncidentReferral.id)
        )
    )
    items, total = crud.page(session, query, limit=limit, offset=offset)
    _log_views(session, caller=reach.actor, incident_ids=[incident.id], via=ViewKind.referrals)
    return items, total


def timeline(
    *, session: Session, reach: Reach, incident: Incident, limit: int, offset: int
) -> tuple[list[TimelineItem], int]:
    """Entries, transitions, notifications and (for coordinators) referrals in the order they happened."""
    items: list[TimelineItem] = []
    entries = session.exec(select(IncidentEntry).where(IncidentEntry.incident_id == incident.id)).all()
    for e in _entries_public(session, entries):
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
                correction=_correction_public(c, full=_manages(reach)),
            )
        )
    # Referrals (allegations passed to the police or the LADO) are for those who manage incidents only.
    if _manages(reach):
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
    _log_views(session, caller=reach.actor, incident_ids=[incident.id], via=ViewKind.timeline)
    return items[offset : offset + limit], len(items)


def list_views(
    *, session: Session, incident: Incident, limit: int, offset: int
) -> tuple[list[IncidentView], int]:
    """Who has read the incident, oldest first."""
    query = (
        select(IncidentView)
        .where(IncidentView.incident_id == incident.id)
        .order_by(col(IncidentView.viewed_at), col(IncidentView.id))
    )
    return crud.page(session, query, limit=limit, offset=offset)


# --- statistics ---------------------------------------------------------------------------------------

SMALL_COUNT = 3


def _pinned(counts: dict[Any, int], hidden: set[Any]) -> bool:
    """Whether the total and the shown counts would give the hidden small ones away: one alone (the total
    minus the rest), or several whose sum says each is the largest a mask hides (three "<3" adding up to 6).
    A sum of zero gives away only that there were none, which identifies nobody."""
    hidden_sum = sum(counts[k] for k in hidden)
    return hidden_sum > 0 and (len(hidden) == 1 or hidden_sum == (SMALL_COUNT - 1) * len(hidden))


def _smallest_shown(counts: dict[Any, int], hidden: set[Any]) -> Any | None:
    rest = [k for k in counts if k not in hidden]
    return min(rest, key=lambda k: (counts[k], str(k))) if rest else None


def _protected(total: int, dimensions: list[dict[Any, int]]) -> tuple[Count, list[dict[Any, Count]]]:
    """The total and each breakdown of it, as a trustee may see them. Small counts (a child could be
    identified: one grooming report in March) are never shown exactly, and neither is any count that would let
    one be worked out (secondary suppression): each breakdown is a partition of the same total."""
    hidden = [{k for k, n in d.items() if n < SMALL_COUNT} for d in dimensions]
    show_total = total >= SMALL_COUNT
    if show_total:
        for counts, h in zip(dimensions, hidden, strict=True):
            if h and _pinned(counts, h):
                extra = _smallest_shown(counts, h)
                if extra is None:
                    show_total = False  # every count is already hidden: only the total can go
                else:
                    h.add(extra)
    if not show_total and total >= SMALL_COUNT:
        # A breakdown with every count shown would add up to the withheld total: hide one of its counts too.
        for counts, h in zip(dimensions, hidden, strict=True):
            extra = _smallest_shown(counts, h) if not h else None
            if extra is not None:
                h.add(extra)

    def shown(n: int, is_hidden: bool) -> Count:
        if not is_hidden:
            return n
        return "<3" if n < SMALL_COUNT else "withheld"

    masked_total = shown(total, not show_total)
    return masked_total, [
        {k: shown(n, k in h) for k, n in counts.items()} for counts, h in zip(dimensions, hidden, strict=True)
    ]


def _by_month(session: Session) -> dict[str, int]:
    """Incidents by month of occurrence on the organisation's calendar, `YYYY-MM`."""
    if session.get_bind().dialect.name == "postgresql":
        month: Any = func.to_char(
            func.timezone(clock.organisation_zone().key, col(Incident.occurred_at)), "YYYY-MM"
        )
        rows = session.exec(select(month, func.count()).select_from(Incident).group_by(month)).all()
        return {str(m): int(n) for m, n in rows}
    # SQLite keeps UTC text and knows no time zones: count by UTC minute (every zone's offset is whole
    # minutes), then fold the minutes into the organisation's months.
    minute: Any = func.strftime("%Y-%m-%d %H:%M", col(Incident.occurred_at))
    by_month: dict[str, int] = {}
    for m, n in session.exec(select(minute, func.count()).select_from(Incident).group_by(minute)).all():
        key = clock.day_of(datetime.fromisoformat(str(m)).replace(tzinfo=UTC)).strftime("%Y-%m")
        by_month[key] = by_month.get(key, 0) + int(n)
    return by_month


def stats(*, session: Session) -> IncidentStats:
    """Counts by category, severity, status and month of occurrence; no names, no text."""

    def counts(column: Any) -> dict[Any, int]:
        rows = session.exec(select(column, func.count()).select_from(Incident).group_by(column)).all()
        return {key: int(n) for key, n in rows}

    by_category = counts(col(Incident.category))
    by_severity = counts(col(Incident.severity))
    by_status = counts(col(Incident.status))
    by_month = _by_month(session)
    total, (category, severity, status, month) = _protected(
        sum(by_status.values()),
        [
            {c: by_category.get(c, 0) for c in Category},
            {s: by_severity.get(s, 0) for s in Severity},
            {s: by_status.get(s, 0) for s in IncidentStatus},
            {str(m): n for m, n in sorted(by_month.items())},
        ],
    )
    return IncidentStats(
        total=total, by_category=category, by_severity=severity, by_status=status, by_month=month
    )
