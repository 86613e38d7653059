from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.permissions import MembershipsRead, MembershipsWrite
from api.common import QueryFlag
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, Responses, problem
from api.lookups import by_id_in_reach
from api.memberships import service
from api.memberships.models import (
    MemberRole,
    Membership,
    MembershipCreate,
    MembershipEnd,
    MembershipPublic,
    MembershipUpdate,
)
from api.records import Records, Write

router = APIRouter()

NOT_ADMIN: Responses = {
    403: problem("The caller's role may not use this route, or they do not admin the group")
}


MembershipById = Annotated[Membership, Depends(by_id_in_reach(service.get, "membership_id"))]
records = Records(
    router, by_id=MembershipById, public=MembershipPublic, reader=MembershipsRead, writer=MembershipsWrite
)


@dataclass
class MembershipFilters:
    group_id: Annotated[uuid.UUID | None, Query(description="Only memberships of this group")] = None
    staff_id: Annotated[uuid.UUID | None, Query(description="Only this member of staff's memberships")] = None
    participant_id: Annotated[uuid.UUID | None, Query(description="Only this young person's memberships")] = (
        None
    )
    current: Annotated[QueryFlag | None, Query(description="Only in force today (true) or not (false)")] = (
        None
    )
    role: Annotated[MemberRole | None, Query(description="Only admins or only members")] = None


records.list(
    "list_memberships",
    "List memberships",
    """Memberships the caller may read, by start date. Staff see those of the groups they are currently in.
    Ended memberships stay listed with their `ended_on`.""",
    call=service.list_,
    filters=MembershipFilters,
)


@records.create("", summary="Add a member to a group", responses={**NOT_FOUND, **CONFLICT, **NOT_ADMIN})
def create_membership(write: Write, data: MembershipCreate) -> Membership:
    """Put exactly one of a member of staff (`staff_id`) or a participant (`participant_id`) in an active
    group. A person is in a group once at a time (409 while a membership overlaps); an archived group takes
    no one (409). Staff may add members only to groups they currently admin."""
    return write.call(service.create, data=data)


records.get(
    "/{membership_id}",
    "get_membership",
    "Get a membership",
    """One membership; 404 if there is none with this id or it is out of the caller's reach. The ETag
    header is the version to send back in If-Match.""",
)


@records.change(
    "patch",
    "/{membership_id}",
    summary="Change a member's role",
    responses={**NOT_FOUND, **NOT_ADMIN, **PRECONDITION},
)
def update_membership(write: Write, membership: Membership, data: MembershipUpdate) -> Membership:
    """Change the role (admin or member). Only the role can change: to move someone, end and add again.
    A stale If-Match is a 412."""
    return write.call(service.update, membership=membership, data=data)


@records.change(
    "post",
    "/{membership_id}/end",
    summary="End a membership",
    responses={**NOT_FOUND, **CONFLICT, **NOT_ADMIN, **PRECONDITION},
)
def end_membership(write: Write, membership: Membership, data: MembershipEnd) -> Membership:
    """Record the first day the person is no longer in the group. The membership is kept as history;
    ending one that has already ended is a 409."""
    return write.call(service.end, membership=membership, ended_on=data.ended_on, end_reason=data.end_reason)
