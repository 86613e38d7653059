from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.permissions import StaffRead, StaffWrite
from api.auth.reach import Record
from api.common import QueryFlag, WriteOutcome
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, conflict
from api.external_ids import EXTERNAL_ID, EXTERNAL_ID_MAX
from api.lookups import by_id
from api.problems import ProblemCode
from api.records import Records, Write
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

StaffById = Annotated[Staff, Depends(by_id(service.get, "staff_id"))]
# A caller who may write staff records but not read them (a `sync:write` key) gets a receipt, not the record.
records = Records(
    router, by_id=StaffById, public=StaffPublic, reader=StaffRead, writer=StaffWrite, receipts=Record.staff
)

LAST_COORDINATOR = conflict(ProblemCode.last_coordinator)


@dataclass
class StaffFilters:
    current: Annotated[QueryFlag | None, Query(description="Only current (true) or departed (false)")] = None
    employment_type: Annotated[
        EmploymentType | None, Query(description="Only staff of this employment type")
    ] = None
    is_esafety_coordinator: Annotated[
        QueryFlag | None, Query(description="true: only e-safety coordinators; false: everyone else")
    ] = None
    external_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=EXTERNAL_ID_MAX,
            description="The CRM's id: the member of staff with this external_id",
        ),
        EXTERNAL_ID,
    ] = None
    q: Annotated[str | None, Query(max_length=200, description="Part of a name or email")] = None


records.list(
    "list_staff",
    "List staff",
    "The staff directory, ordered by name. Departed staff stay listed with their `left_on`.",
    call=service.list_,
    filters=StaffFilters,
)


@records.create("", summary="Add staff", responses=CONFLICT)
def create_staff(write: Write, data: StaffCreate) -> Staff:
    """Add a member of staff. Their email must be unique (409 otherwise)."""
    return write.call(service.create, data=data)


@records.upsert(
    "/by-external-id/{external_id}",
    summary="Create or replace by the CRM's id",
    responses={**LAST_COORDINATOR, **PRECONDITION},
)
def upsert_staff_by_external_id(
    write: Write, external_id: str, data: StaffCreate
) -> tuple[Staff, WriteOutcome]:
    """The CRM's push: creates the record (201) or replaces it (200), matched on `external_id`. The body is
    the full record: a field left out becomes empty, `is_esafety_coordinator` false. Pushing the same record
    again changes nothing. A `left_on` ends access as an edit does (and is refused the same way for the last
    active coordinator: 409 `last_coordinator`); so is a record that would leave no current e-safety
    coordinator (the flag left out on the only one: 409 `last_coordinator` naming the field)."""
    return write.call(service.upsert_by_external_id, external_id=external_id, data=data)


records.get(
    "/{staff_id}",
    "get_staff",
    "Get a staff member",
    "One member of staff. The ETag header is the version to send back in If-Match.",
)


@records.change(
    "patch",
    "/{staff_id}",
    summary="Update staff",
    responses={**NOT_FOUND, **LAST_COORDINATOR, **PRECONDITION},
)
def update_staff(write: Write, staff: Staff, data: StaffUpdate) -> Staff:
    """Change the fields sent. Setting `left_on` ends their access on that day (today or earlier for the last
    active coordinator: 409 `last_coordinator`; likewise for a change that leaves no current e-safety
    coordinator, naming the field). Send If-Match to refuse the change (412) if someone else
    changed the record since you read it."""
    return write.call(service.update, staff=staff, data=data)


@records.change(
    "post",
    "/{staff_id}/leave",
    summary="Record leaving",
    responses={**NOT_FOUND, **LAST_COORDINATOR, **PRECONDITION},
)
def leave_staff(write: Write, staff: Staff, data: StaffLeave) -> Staff:
    """Record the day a member of staff leaves. Their sign-in stops working that day; nothing is deleted.
    A day of today or earlier for the last active coordinator's record is a 409 `last_coordinator`."""
    return write.call(service.leave, staff=staff, left_on=data.left_on)


@records.upsert(
    "/by-external-id/{external_id}",
    method="patch",
    # The demo's own (`make run`), so Swagger UI's "Try it out" changes a record that exists.
    example="CRM-S0100",
    summary="Create or update the fields sent, by the CRM's id",
    responses={**LAST_COORDINATOR, **PRECONDITION},
)
def merge_staff_by_external_id(
    write: Write, external_id: str, data: StaffUpdate
) -> tuple[Staff, WriteOutcome]:
    """The CRM's partial push, matched on `external_id`: the fields sent change, the fields left out keep
    their values, `null` clears a field that may be empty (a JSON merge patch, RFC 7396). 200 with the
    record when it existed (unchanged if nothing sent differs); when none has this external id, 201 with
    `Location`, if the body has every field a create requires (`full_name`, `email`, `employment_type`,
    `started_on`), otherwise 422 naming each missing one and nothing written. A `left_on` ends access as an
    edit does (409 `last_coordinator` for the last active coordinator). If-Match: 412 if the record moved
    on. Use `PUT` to send the whole record (a field left out becomes empty). A caller who may write but not
    read staff (a `sync:write` key) gets 403 `whole_records_only`: a patch is checked against the stored
    record, which would tell them what is stored."""
    return write.call(service.merge_by_external_id, external_id=external_id, data=data)
