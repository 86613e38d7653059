from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from api.auth.principal import Principal, require
from api.auth.reach import ReachDep, Record
from api.auth.roles import Permission
from api.common import (
    Page,
    PageDep,
    QueryFlag,
    WriteOutcome,
    WriteReceipt,
    created_responses,
    set_location,
)
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, conflict
from api.preconditions import IfMatch, set_etag
from api.problems import ProblemCode
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
# A caller who may write staff records but not read them (a `sync:write` key) gets a receipt, not the record.
Written = StaffPublic | WriteReceipt

LAST_COORDINATOR = conflict(ProblemCode.last_coordinator)


@router.get("", response_model=Page[StaffPublic], summary="List staff")
def list_staff(
    session: SessionDep,
    _: Reader,
    paging: PageDep,
    current: Annotated[QueryFlag | None, Query(description="Only current (true) or departed (false)")] = None,
    employment_type: EmploymentType | None = None,
    is_esafety_coordinator: QueryFlag | None = None,
    external_id: Annotated[str | None, Query(max_length=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of a name or email")] = None,
) -> Page[Staff]:
    """The staff directory, ordered by name. Departed staff stay listed with their `left_on`."""
    return service.list_(
        session=session,
        paging=paging,
        current=current,
        employment_type=employment_type,
        is_esafety_coordinator=is_esafety_coordinator,
        external_id=external_id,
        q=q,
    )


@router.post(
    "",
    response_model=Written,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Add staff",
)
def create_staff(
    session: SessionDep, caller: Writer, reach: ReachDep, data: StaffCreate, response: Response
) -> Staff | WriteReceipt:
    """Add a member of staff. Their email must be unique (409 otherwise)."""
    with reach.blind(Record.staff):
        staff = service.create(session=session, caller=caller, data=data)
    set_etag(response, staff.version)
    return reach.answer(Record.staff, staff, "created")


@router.put(
    "/by-external-id/{external_id}",
    response_model=Written,
    responses={201: {"model": Written, "description": "Created"}, **LAST_COORDINATOR, **PRECONDITION},
    summary="Create or replace by the CRM's id",
)
def upsert_staff_by_external_id(
    session: SessionDep,
    caller: Writer,
    reach: ReachDep,
    external_id: Annotated[str, Path(min_length=1, max_length=100)],
    data: StaffCreate,
    expected_version: IfMatch,
    response: Response,
) -> Staff | WriteReceipt:
    """The CRM's push: creates the record (201) or replaces it (200), matched on `external_id`. The body is
    the full record. Pushing the same record again changes nothing. A `left_on` ends access as an edit
    does (and is refused the same way for the last active coordinator: 409 `last_coordinator`)."""
    with reach.blind(Record.staff):
        staff, outcome = service.upsert_by_external_id(
            session=session,
            caller=caller,
            external_id=external_id,
            data=data,
            expected_version=expected_version,
        )
    response.status_code = status.HTTP_201_CREATED if outcome == "created" else status.HTTP_200_OK
    set_etag(response, staff.version)
    return reach.answer(Record.staff, staff, outcome)


@router.get("/{staff_id}", response_model=StaffPublic, responses=NOT_FOUND, summary="Get a staff member")
def get_staff(_: Reader, staff: StaffById, response: Response) -> Staff:
    """One member of staff. The ETag header is the version to send back in If-Match."""
    set_etag(response, staff.version)
    return staff


@router.patch(
    "/{staff_id}",
    response_model=Written,
    responses={**NOT_FOUND, **LAST_COORDINATOR, **PRECONDITION},
    summary="Update staff",
)
def update_staff(
    session: SessionDep,
    caller: Writer,
    reach: ReachDep,
    staff: StaffById,
    data: StaffUpdate,
    expected_version: IfMatch,
    response: Response,
) -> Staff | WriteReceipt:
    """Change the fields sent. Setting `left_on` ends their access on that day (today or earlier for the last
    active coordinator: 409 `last_coordinator`). Send If-Match to refuse the change (412) if someone else
    changed the record since you read it."""
    version = staff.version
    with reach.blind(Record.staff):
        staff = service.update(
            session=session, caller=caller, staff=staff, data=data, expected_version=expected_version
        )
    set_etag(response, staff.version)
    outcome: WriteOutcome = "unchanged" if staff.version == version else "updated"
    return reach.answer(Record.staff, staff, outcome)


@router.post(
    "/{staff_id}/leave",
    response_model=Written,
    responses={**NOT_FOUND, **LAST_COORDINATOR, **PRECONDITION},
    summary="Record leaving",
)
def leave_staff(
    session: SessionDep,
    caller: Writer,
    reach: ReachDep,
    staff: StaffById,
    data: StaffLeave,
    expected_version: IfMatch,
    response: Response,
) -> Staff | WriteReceipt:
    """Record the day a member of staff leaves. Their sign-in stops working that day; nothing is deleted.
    A day of today or earlier for the last active coordinator's record is a 409 `last_coordinator`."""
    with reach.blind(Record.staff):
        staff = service.leave(
            session=session,
            caller=caller,
            staff=staff,
            left_on=data.left_on,
            expected_version=expected_version,
        )
    set_etag(response, staff.version)
    return reach.answer(Record.staff, staff, "updated")


@router.patch(
    "/by-external-id/{external_id}",
    response_model=Written,
    responses={**created_responses(Written), **LAST_COORDINATOR, **PRECONDITION},
    summary="Create or update the fields sent, by the CRM's id",
)
def merge_staff_by_external_id(
    session: SessionDep,
    caller: Writer,
    reach: ReachDep,
    external_id: Annotated[
        str,
        # The demo's own (`make run`), so Swagger UI's "Try it out" changes a record that exists.
        Path(min_length=1, max_length=100, description="The CRM's id", examples=["CRM-S0100"]),
    ],
    data: StaffUpdate,
    expected_version: IfMatch,
    request: Request,
    response: Response,
) -> Staff | WriteReceipt:
    """The CRM's partial push, matched on `external_id`: the fields sent change, the fields left out keep
    their values, `null` clears a field that may be empty (a JSON merge patch, RFC 7396). 200 with the
    record when it existed (unchanged if nothing sent differs); when none has this external id, 201 with
    `Location`, if the body has every field a create requires (`full_name`, `email`, `employment_type`,
    `started_on`), otherwise 422 naming each missing one and nothing written. A `left_on` ends access as an
    edit does (409 `last_coordinator` for the last active coordinator). If-Match: 412 if the record moved
    on. Use `PUT` to send the whole record (a field left out becomes empty)."""
    with reach.blind(Record.staff):
        staff, outcome = service.merge_by_external_id(
            session=session,
            caller=caller,
            external_id=external_id,
            data=data,
            expected_version=expected_version,
        )
    if outcome == "created":
        response.status_code = status.HTTP_201_CREATED
        set_location(response, request, "get_staff", staff_id=str(staff.id))
    set_etag(response, staff.version)
    return reach.answer(Record.staff, staff, outcome)
