from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from api.auth.principal import Principal, require
from api.auth.roles import Permission
from api.common import Page, PageDep
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND
from api.staff import service
from api.staff.models import (
    EmploymentType,
    Staff,
    StaffCreate,
    StaffLeave,
    StaffPublic,
    StaffUpdate,
)

router = APIRouter()

Reader = Annotated[Principal, Depends(require(Permission.STAFF_READ))]
Writer = Annotated[Principal, Depends(require(Permission.STAFF_WRITE))]


def staff_or_404(staff_id: uuid.UUID, session: SessionDep) -> Staff:
    return service.get(session=session, staff_id=staff_id)


StaffById = Annotated[Staff, Depends(staff_or_404)]


@router.get("", response_model=Page[StaffPublic], summary="List staff")
def list_staff(
    session: SessionDep,
    _: Reader,
    paging: PageDep,
    current: Annotated[bool | None, Query(description="Only current (true) or departed (false)")] = None,
    employment_type: EmploymentType | None = None,
    is_esafety_coordinator: bool | None = None,
    external_id: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of a name or email")] = None,
) -> Page[Staff]:
    """The staff directory, ordered by name. Departed staff stay listed with their `left_on`."""
    items, total = service.list_(
        session=session,
        limit=paging.limit,
        offset=paging.offset,
        current=current,
        employment_type=employment_type,
        is_esafety_coordinator=is_esafety_coordinator,
        external_id=external_id,
        q=q,
    )
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post(
    "",
    response_model=StaffPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Add staff",
)
def create_staff(session: SessionDep, caller: Writer, data: StaffCreate) -> Staff:
    """Add a member of staff. Their email must be unique (409 otherwise)."""
    return service.create(session=session, actor=caller, data=data)


@router.get("/{staff_id}", response_model=StaffPublic, responses=NOT_FOUND, summary="Get a staff member")
def get_staff(_: Reader, staff: StaffById) -> Staff:
    """One member of staff."""
    return staff


@router.patch(
    "/{staff_id}", response_model=StaffPublic, responses={**NOT_FOUND, **CONFLICT}, summary="Update staff"
)
def update_staff(session: SessionDep, caller: Writer, staff: StaffById, data: StaffUpdate) -> Staff:
    """Change the fields sent. Setting `left_on` ends their access on that day."""
    return service.update(session=session, actor=caller, staff=staff, data=data)


@router.post("/{staff_id}/leave", response_model=StaffPublic, responses=NOT_FOUND, summary="Record leaving")
def leave_staff(session: SessionDep, caller: Writer, staff: StaffById, data: StaffLeave) -> Staff:
    """Record the day a member of staff leaves. Their sign-in stops working that day; nothing is deleted."""
    return service.leave(session=session, actor=caller, staff=staff, left_on=data.left_on)
