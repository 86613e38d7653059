"""Staff: the verbs. Routes call these; nothing else writes staff rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from sqlmodel import Session, col, func, or_, select

from api import clock, crud
from api.auth.coordinators import keep_one_for_staff
from api.auth.models import User
from api.auth.principal import Principal
from api.common import Page, PageParams, WriteOutcome, check_order, contains
from api.errors import Unprocessable
from api.memberships.in_force import current_on
from api.memberships.models import Membership
from api.staff.models import EmploymentType, Staff, StaffCreate, StaffUpdate
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent

UNIQUE = ("email", "external_id")


def _validate(staff: Staff) -> None:
    check_order(staff.started_on, staff.left_on, start_field="started_on", end_field="left_on")
    for field in ("code_of_conduct_signed_on", "esafety_training_completed_on"):
        value = getattr(staff, field)
        if value is not None and value > clock.today():
            raise Unprocessable.field(field, f"{field} ({value}) is in the future")


def _announce_if_left_with_access(session: Session, staff: Staff, left_before: date | None) -> None:
    """A newly recorded leaving date while the person still has standing somewhere: tell the subscribers.

    Standing means a membership still in force on the later of today and the leaving day, or a sign-in
    that is still active. Queued in the caller's transaction, so it commits (or not) with the change.
    """
    if staff.left_on is None or staff.left_on == left_before:
        return
    day = max(clock.today(), staff.left_on)
    # No autoflush: a clash in the pending change must surface in crud.save as a 409, not here.
    with session.no_autoflush:
        group_ids = sorted(
            set(
                session.exec(
                    select(Membership.group_id).where(Membership.staff_id == staff.id, current_on(day))
                ).all()
            )
        )
        active_accounts = session.exec(
            select(func.count())
            .select_from(User)
            .where(col(User.staff_id) == staff.id, col(User.is_active).is_(True))
        ).one()
    if not group_ids and not active_accounts:
        return
    webhooks.emit(
        session,
        WebhookEvent.staff_left_with_access,
        {
            "staff_id": staff.id,
            "left_on": staff.left_on,
            "group_ids": group_ids,
            "current_memberships": len(group_ids),
            "active_accounts": int(active_accounts),
        },
    )


def get(*, session: Session, staff_id: uuid.UUID) -> Staff:
    """One staff record, or 404."""
    return crud.get_or_404(session, Staff, staff_id, "staff member")


def list_(
    *,
    session: Session,
    paging: PageParams,
    current: bool | None = None,
    employment_type: EmploymentType | None = None,
    is_esafety_coordinator: bool | None = None,
    external_id: str | None = None,
    q: str | None = None,
) -> Page[Staff]:
    """A filtered page of staff, by name then id."""
    query = select(Staff)
    today = clock.today()
    if current is True:
        query = query.where(or_(col(Staff.left_on).is_(None), col(Staff.left_on) > today))
    elif current is False:
        query = query.where(col(Staff.left_on) <= today)
    query = crud.where_equal(
        query,
        (Staff.employment_type, employment_type),
        (Staff.is_esafety_coordinator, is_esafety_coordinator),
        (Staff.external_id, external_id),
    )
    if q:
        query = query.where(or_(contains(Staff.full_name, q), contains(Staff.email, q)))
    return crud.paged(session, query.order_by(col(Staff.full_name), col(Staff.id)), paging)


def create(*, session: Session, caller: Principal, data: StaffCreate) -> Staff:
    """Add a member of staff."""
    staff = Staff.model_validate(data)
    staff.email = staff.email.lower()
    _validate(staff)
    return crud.save(session, staff, actor=caller, action="staff.create", unique_fields=UNIQUE)


def update(
    *,
    session: Session,
    caller: Principal,
    staff: Staff,
    data: StaffUpdate,
    expected_version: int | None = None,
) -> Staff:
    """Change the fields sent; a `left_on` ends access the same as `leave`."""
    crud.refuse_nulls(data, ("full_name", "email", "employment_type", "started_on", "is_esafety_coordinator"))
    left_before = staff.left_on
    before = crud.apply(staff, data)
    staff.email = staff.email.lower()
    _validate(staff)
    keep_one_for_staff(session, staff_id=staff.id, left_before=left_before, left_on=staff.left_on)
    _announce_if_left_with_access(session, staff, left_before)
    return crud.save(
        session,
        staff,
        actor=caller,
        action="staff.update",
        before=before,
        unique_fields=UNIQUE,
        expected_version=expected_version,
    )


def leave(
    *, session: Session, caller: Principal, staff: Staff, left_on: date, expected_version: int | None = None
) -> Staff:
    """Record the day employment ends; access ends that day. The record is kept."""
    left_before = staff.left_on
    before = crud.apply(staff, StaffUpdate(left_on=left_on))
    _validate(staff)
    keep_one_for_staff(session, staff_id=staff.id, left_before=left_before, left_on=staff.left_on)
    _announce_if_left_with_access(session, staff, left_before)
    return crud.save(
        session, staff, actor=caller, action="staff.leave", before=before, expected_version=expected_version
    )


def upsert_by_external_id(
    *,
    session: Session,
    caller: Principal,
    external_id: str,
    data: StaffCreate,
    expected_version: int | None = None,
) -> tuple[Staff, WriteOutcome]:
    """Create or replace the record the CRM knows by `external_id`; an identical push changes nothing (see
    `crud.upsert_by_external_id`)."""
    data = crud.whole_for(data, external_id, email=str(data.email).lower())
    # A replacement is a patch of every field: the ones the body left out become empty.
    whole = StaffUpdate.model_validate(data.model_dump())
    return _push(session, caller, external_id, whole, lambda: data, expected_version)


def merge_by_external_id(
    *,
    session: Session,
    caller: Principal,
    external_id: str,
    data: StaffUpdate,
    expected_version: int | None = None,
) -> tuple[Staff, WriteOutcome]:
    """The CRM's partial push (`PATCH /staff/by-external-id/{id}`, and bulk sync's `merge` mode): the fields
    sent change as `update` changes them, the fields left out keep their values, `null` clears a field that
    may be empty. No record with `external_id` yet: created, if the body has every field `StaffCreate`
    requires. A change that races another is re-read and re-applied (`crud.upsert_by_external_id`), so two
    partial pushes at once keep both changes; with If-Match the later one is a 412 instead.

    Returns the record and `created`, `updated` or `unchanged`. Errors: 422 naming the missing fields (and
    nothing written) for a create without them; 422 on `external_id` if the body names another; otherwise
    as `update` and `create` (409 `last_coordinator`, 409 on a taken email, 412 on a stale If-Match)."""
    patch = crud.merge_patch_for(data, external_id)
    if patch.email is not None:
        patch = patch.model_copy(update={"email": str(patch.email).lower()})
    return _push(
        session,
        caller,
        external_id,
        patch,
        lambda: crud.completed(patch, StaffCreate, external_id=external_id),
        expected_version,
    )


def _push(
    session: Session,
    caller: Principal,
    external_id: str,
    patch: StaffUpdate,
    new: Callable[[], StaffCreate],
    expected_version: int | None,
) -> tuple[Staff, WriteOutcome]:
    """A push by external id: `patch` applied to the record that has it (nothing written if it changes
    nothing), or the record `new()` describes created."""

    def change(existing: Staff) -> tuple[Staff, WriteOutcome]:
        if crud.unchanged(existing, patch):
            crud.check_version(existing, expected_version)
            return existing, "unchanged"
        return update(
            session=session, caller=caller, staff=existing, data=patch, expected_version=expected_version
        ), "updated"

    return crud.upsert_by_external_id(
        session,
        find=lambda: session.exec(select(Staff).where(Staff.external_id == external_id)).first(),
        create=lambda: create(session=session, caller=caller, data=new()),
        change=change,
        expected_version=expected_version,
        if_match_required=caller.require_if_match,
    )
