"""Groups, their risk assessments and reviews: the verbs. Routes call these; nothing else writes these rows.

Reach is the caller's `Reach` (api/auth/reach.py), filtered in SQL so a list's `total` and paging stay right;
a group out of reach answers 404, exactly as an unknown one.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import TypeVar

from sqlalchemy import ColumnElement, ScalarSelect, func
from sqlmodel import Session, col, select

from api import clock, crud, events
from api.audit import service as audit
from api.auth.reach import Reach, Record
from api.common import Page, PageParams, check_order, contains
from api.db import utcnow
from api.errors import Conflict, Forbidden, PreconditionFailed, Unprocessable
from api.groups.models import (
    Group,
    GroupCreate,
    GroupPublic,
    GroupReview,
    GroupStatus,
    GroupUpdate,
    Platform,
    ReviewCreate,
    RiskAssessment,
    RiskAssessmentCreate,
    Visibility,
    seen_by_all_default,
)
from api.memberships.in_force import current_on
from api.memberships.models import MemberRole, Membership

# What `_record_signed` writes: a group's risk assessment or review.
Signed = TypeVar("Signed", RiskAssessment, GroupReview)

ARCHIVE_REASON = "group archived"
# The columns that always hold a value: the PATCH body's own list, in a fixed order for the error named.
_REQUIRED = tuple(sorted(GroupUpdate.NOT_NULL))


def _member_count() -> ScalarSelect[int]:
    """Current memberships of the group in the enclosing query, correlated so one statement counts a page."""
    return (
        select(func.count(col(Membership.id)))
        .where(col(Membership.group_id) == col(Group.id), current_on(clock.today()))
        .correlate(Group)
        .scalar_subquery()
    )


def _public(group: Group, member_count: int) -> GroupPublic:
    return GroupPublic.model_validate(group, update={"member_count": member_count})


def _not_future(value: date, field: str) -> None:
    if value > clock.today():
        raise Unprocessable.field(field, f"{field} ({value}) is in the future")


def _validate(group: Group) -> None:
    if group.min_age is not None and group.max_age is not None and group.max_age < group.min_age:
        raise Unprocessable.field("max_age", f"max_age ({group.max_age}) is below min_age ({group.min_age})")
    if group.archived_on is not None and group.started_on > group.archived_on:
        raise Unprocessable.field(
            "started_on", f"started_on ({group.started_on}) is after archived_on ({group.archived_on})"
        )


def get(*, session: Session, reach: Reach, group_id: uuid.UUID) -> Group:
    """One group within the caller's reach, or 404 (the same answer whether it exists or not)."""
    return crud.get_within(session, Group, group_id, reach.groups(Group.id), "group")


def public(*, session: Session, group: Group) -> GroupPublic:
    """The group as the API shows it, with its current member count."""
    count = session.exec(
        select(func.count(col(Membership.id))).where(
            Membership.group_id == group.id, current_on(clock.today())
        )
    ).one()
    return _public(group, int(count))


def list_(
    *,
    session: Session,
    reach: Reach,
    paging: PageParams,
    platform: Platform | None = None,
    status: GroupStatus | None = None,
    visibility: Visibility | None = None,
    project: str | None = None,
    q: str | None = None,
) -> Page[GroupPublic]:
    """A filtered page of the groups within the caller's reach, by name then id, with member counts."""
    conditions: list[ColumnElement[bool]] = [reach.groups(Group.id)]
    if platform is not None:
        conditions.append(col(Group.platform) == platform)
    if status is not None:
        conditions.append(col(Group.status) == status)
    if visibility is not None:
        conditions.append(col(Group.visibility) == visibility)
    if project is not None:
        conditions.append(col(Group.project) == project)
    if q:
        conditions.append(contains(Group.name, q))
    total = session.exec(select(func.count()).select_from(Group).where(*conditions)).one()
    rows = session.exec(
        select(Group, _member_count())
        .where(*conditions)
        .order_by(col(Group.name), col(Group.id))
        .limit(paging.limit)
        .offset(paging.offset)
    ).all()
    items = [_public(group, int(count)) for group, count in rows]
    return Page(items=items, total=int(total), limit=paging.limit, offset=paging.offset)


def create(*, session: Session, reach: Reach, data: GroupCreate) -> Group:
    """Add a group. A member of staff who creates one becomes its admin, in the same transaction, so the
    group they made is in their reach (a caller who reaches every group needs no membership for that)."""
    group = Group.model_validate(data)
    if "messages_seen_by_all" not in data.model_fields_set:
        group.messages_seen_by_all = seen_by_all_default(group.platform)
    _validate(group)
    session.add(group)
    caller = reach.caller
    audit.record(session, actor=caller, action="group.create", entity=group)
    if not reach.reads_every(Record.group) and caller.staff_id is not None:
        # The group row must exist before the membership's foreign key points at it (PostgreSQL checks
        # foreign keys at once).
        session.flush()
        # The creator admins the group from today even if it starts later: the policy asks the member of
        # staff who wants to use a tool to risk-assess it in advance, so they must reach it before it starts.
        membership = Membership(
            group_id=group.id,
            staff_id=caller.staff_id,
            role=MemberRole.admin,
            started_on=min(group.started_on, clock.today()),
        )
        session.add(membership)
        audit.record(session, actor=caller, action="membership.create", entity=membership)
    session.commit()
    session.refresh(group)
    # Records the new group's first status, so the first change after it is announced.
    events.publish(session, events.GroupFactsChanged.of([group.id]))
    return group


def _lock(session: Session, group: Group, expected_version: int | None) -> None:
    """Re-read the group under a row lock (PostgreSQL; SQLite serialises writers anyway), so two archives or
    an archive and an update racing each other see each other's result.

    If-Match is checked on the version read under the lock, so the lock and the ETag agree: a writer that
    waited for another sees the version it left, and its stale ETag is a 412 before anything is applied."""
    session.refresh(group, with_for_update=True)
    if expected_version is not None and expected_version != group.version:
        session.rollback()  # releases the row lock
        raise PreconditionFailed(
            f"The group is at version {group.version}, not {expected_version}: read it again"
        )


def update(
    *,
    session: Session,
    reach: Reach,
    group: Group,
    data: GroupUpdate,
    expected_version: int | None = None,
) -> Group:
    """Change the fields sent; checks run on the merged record. An archived group is not changed (409)."""
    crud.refuse_nulls(data, _REQUIRED)
    _lock(session, group, expected_version)
    try:
        if group.status is GroupStatus.archived:
            raise Conflict("An archived group cannot be changed")
        before = crud.apply(group, data)
        sent = data.model_fields_set
        if "platform" in sent and "messages_seen_by_all" not in sent and group.platform != before["platform"]:
            # Another platform answers the question afresh: its own default, or unknown until recorded.
            group.messages_seen_by_all = seen_by_all_default(group.platform)
        _validate(group)
    except (Conflict, Unprocessable):
        # Releases the row lock and drops the half-applied patch, so no later commit can write it.
        session.rollback()
        raise
    return crud.save(
        session,
        group,
        actor=reach.caller,
        action="group.update",
        before=before,
        expected_version=expected_version,
        announce=events.GroupFactsChanged.of([group.id]),
    )


def archive(
    *,
    session: Session,
    reach: Reach,
    group: Group,
    archived_on: date,
    expected_version: int | None = None,
) -> Group:
    """Archive the group and end every membership still open on `archived_on`; nothing is deleted."""
    _lock(session, group, expected_version)
    try:
        if group.status is GroupStatus.archived:
            raise Conflict(f"The group was already archived on {group.archived_on}")
        # The status changes today, so the date it takes effect cannot be later than today.
        _not_future(archived_on, "archived_on")
        check_order(group.started_on, archived_on, start_field="started_on", end_field="archived_on")
    except (Conflict, Unprocessable):
        session.rollback()  # releases the row lock
        raise
    now = utcnow()
    before = audit.snapshot(group)
    group.status = GroupStatus.archived
    group.archived_on = archived_on
    group.updated_at, group.version = now, group.version + 1
    session.add(group)
    audit.record(session, actor=reach.caller, action="group.archive", entity=group, before=before)
    # Every membership that would still hold on or after archived_on: current ones, ones with a later
    # planned end, and ones not yet started (which end the day they would have begun, so never hold).
    open_memberships = session.exec(
        select(Membership)
        .where(
            Membership.group_id == group.id,
            (col(Membership.ended_on).is_(None)) | (col(Membership.ended_on) > archived_on),
        )
        .order_by(col(Membership.started_on), col(Membership.id))
    ).all()
    for membership in open_memberships:
        before_membership = audit.snapshot(membership)
        membership.ended_on = max(archived_on, membership.started_on)
        membership.end_reason = ARCHIVE_REASON
        membership.updated_at, membership.version = now, membership.version + 1
        session.add(membership)
        audit.record(
            session, actor=reach.caller, action="membership.end", entity=membership, before=before_membership
        )
    session.commit()
    session.refresh(group)
    return group


def check_may_record(*, session: Session, reach: Reach, group: Group) -> None:
    """Coordinators record for any group; a member of staff only for a group they currently admin (403,
    since they can see the group but not add to its record)."""
    if not reach.holds(session, reach.recorded_groups, group.id):
        raise Forbidden(
            "Only the group's current admins and coordinators record its risk assessments and reviews"
        )


def list_risk_assessments(*, session: Session, group: Group, paging: PageParams) -> Page[RiskAssessment]:
    """A group's risk assessments, newest first."""
    return crud.history(
        session, RiskAssessment, RiskAssessment.group_id == group.id, RiskAssessment.assessed_on, paging
    )


def _record_signed(
    session: Session,
    reach: Reach,
    group: Group,
    data: RiskAssessmentCreate | ReviewCreate,
    row_type: type[Signed],
    signed: str,
    action: str,
) -> Signed:
    """A record of what happened to the group (a risk assessment, a review), never changed afterwards: on
    the day `{signed}_on` (not in the future), signed by the caller or by the member of staff a coordinator
    names in `{signed}_by_id` (see `Reach.signer`). Announces the group's facts changed."""
    check_may_record(session=session, reach=reach, group=group)
    day_field, by_field = f"{signed}_on", f"{signed}_by_id"
    day: date = getattr(data, day_field)
    _not_future(day, day_field)
    signer = reach.signer(session, getattr(data, by_field), day, by_field)
    row = row_type.model_validate(data, update={"group_id": group.id, by_field: signer})
    announce = events.GroupFactsChanged.of([group.id])
    return crud.save(session, row, actor=reach.caller, action=action, announce=announce)


def record_risk_assessment(
    *, session: Session, reach: Reach, group: Group, data: RiskAssessmentCreate
) -> RiskAssessment:
    """Record a risk assessment of the group. It is a record of what happened: never changed afterwards.
    Signed by the caller, or by the member of staff a coordinator names (see `Reach.signer`)."""
    return _record_signed(session, reach, group, data, RiskAssessment, "assessed", "risk_assessment.create")


def list_reviews(*, session: Session, group: Group, paging: PageParams) -> Page[GroupReview]:
    """A group's reviews, newest first."""
    return crud.history(
        session, GroupReview, GroupReview.group_id == group.id, GroupReview.reviewed_on, paging
    )


def record_review(*, session: Session, reach: Reach, group: Group, data: ReviewCreate) -> GroupReview:
    """Record a review of the group. It is a record of what happened: never changed afterwards. Signed by
    the caller, or by the member of staff a coordinator names (see `Reach.signer`)."""
    return _record_signed(session, reach, group, data, GroupReview, "reviewed", "group_review.create")
