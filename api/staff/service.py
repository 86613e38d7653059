"""Staff: the verbs. Routes call these; nothing else writes staff rows."""

from __future__ import annotations

import uuid
from datetime import date
from functools import partial
from typing import Any

from sqlmodel import Session, SQLModel, col, func, or_, select

from api import clock, crud
from api.auth.coordinators import keep_esafety_coordinator, keep_one_for_staff
from api.auth.models import User
from api.auth.principal import Principal
from api.common import Page, PageParams, check_order, contains, in_force
from api.errors import Unprocessable
from api.memberships.in_force import current_on
from api.memberships.models import Membership
from api.pushes import Pushes, PushMode
from api.staff.models import EmploymentType, Staff, StaffCreate, StaffUpdate
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent

UNIQUE = ("email", "external_id")


def _keep_coordinators(session: Session, staff: Staff, before: dict[str, Any]) -> None:
    """The two guards every change of a staff record goes through (`api/auth/coordinators.py`): an active
    coordinator account remains, and so does a current e-safety coordinator. `before`: the record's
    snapshot before the change."""
    left_before = date.fromisoformat(before["left_on"]) if before["left_on"] else None
    keep_one_for_staff(session, staff_id=staff.id, left_before=left_before, left_on=staff.left_on)
    was = bool(before["is_esafety_coordinator"]) and in_force(
        date.fromisoformat(before["started_on"]), left_before, clock.today()
    )
    keep_esafety_coordinator(
        session,
        staff_id=staff.id,
        was=was,
        started_on=staff.started_on,
        left_on=staff.left_on,
        flag=staff.is_esafety_coordinator,
    )


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
    _keep_coordinators(session, staff, before)
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
    _keep_coordinators(session, staff, before)
    _announce_if_left_with_access(session, staff, left_before)
    return crud.save(
        session, staff, actor=caller, action="staff.leave", before=before, expected_version=expected_version
    )


def _lowercased(body: SQLModel) -> dict[str, Any]:
    """The email a push sends, as the record keeps it (see `create`)."""
    email = getattr(body, "email", None)
    return {"email": str(email).lower()} if email is not None else {}


# The CRM's push by external id (`PUT` and `PATCH /staff/by-external-id/{id}`, bulk sync's two modes): any
# record with the id (staff are the whole organisation's), created by `create` and changed as `update`
# changes it (409 `last_coordinator`, 409 on a taken email, the leaving announcement).
pushes = Pushes(
    table=Staff,
    creates=StaffCreate,
    updates=StaffUpdate,
    create=lambda session, reach, data: create(session=session, caller=reach.caller, data=data),
    update=lambda session, reach, staff, patch, version: update(
        session=session, caller=reach.caller, staff=staff, data=patch, expected_version=version
    ),
    stored=_lowercased,
)
# PUT and bulk sync's `replace` push the whole record; PATCH and `merge` the fields sent.
upsert_by_external_id = partial(pushes.push, mode=PushMode.replace)
merge_by_external_id = partial(pushes.push, mode=PushMode.merge)
