from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.auth.principal import Principal, require
from api.auth.reach import ReachDep
from api.auth.roles import Permission
from api.common import Page, PageDep, QueryFlag
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, Responses, problem
from api.memberships import service
from api.memberships.models import (
    MemberRole,
    Membership,
    MembershipCreate,
    MembershipEnd,
    MembershipPublic,
    MembershipUpdate,
)
from api.preconditions import IfMatch, set_etag

router = APIRouter()

Reader = Annotated[Principal, Depends(require(Permission.MEMBERSHIP_READ))]
Writer = Annotated[Principal, Depends(require(Permission.MEMBERSHIP_WRITE))]

NOT_ADMIN: Responses = {
    403: problem("The caller's role may not use this route, or they do not admin the group")
}


def membership_or_404(membership_id: uuid.UUID, session: SessionDep, reach: ReachDep) -> Membership:
    # Routes declare their permission first; what is left is reach: out of it is a 404, as if missing.
    return service.get(session=session, reach=reach, membership_id=membership_id)


MembershipById = Annotated[Membership, Depends(membership_or_404)]


@router.get("", response_model=Page[MembershipPublic], summary="List memberships")
def list_memberships(
    session: SessionDep,
    _: Reader,
    reach: ReachDep,
    paging: PageDep,
    group_id: Annotated[uuid.UUID | None, Query(description="Only memberships of this group")] = None,
    staff_id: Annotated[
        uuid.UUID | None, Query(description="Only this member of staff's memberships")
    ] = None,
    participant_id: Annotated[
        uuid.UUID | None, Query(description="Only this young person's memberships")
    ] = None,
    current: Annotated[
        QueryFlag | None, Query(description="Only in force today (true) or not (false)")
    ] = None,
    role: Annotated[MemberRole | None, Query(description="Only admins or only members")] = None,
) -> Page[Membership]:
    """Memberships the caller may read, by start date. Staff see those of the groups they are currently in.
    Ended memberships stay listed with their `ended_on`."""
    return service.list_(
        session=session,
        reach=reach,
        paging=paging,
        group_id=group_id,
        staff_id=staff_id,
        participant_id=participant_id,
        current=current,
        role=role,
    )


@router.post(
    "",
    response_model=MembershipPublic,
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **CONFLICT, **NOT_ADMIN},
    summary="Add a member to a group",
)
def create_membership(
    session: SessionDep, _: Writer, reach: ReachDep, data: MembershipCreate, response: Response
) -> Membership:
    """Put exactly one of a member of staff (`staff_id`) or a participant (`participant_id`) in an active
    group. A person is in a group once at a time (409 while a membership overlaps); an archived group takes
    no one (409). Staff may add members only to groups they currently admin."""
    membership = service.create(session=session, reach=reach, data=data)
    set_etag(response, membership.version)
    return membership


@router.get(
    "/{membership_id}", response_model=MembershipPublic, responses=NOT_FOUND, summary="Get a membership"
)
def get_membership(_: Reader, membership: MembershipById, response: Response) -> Membership:
    """One membership; 404 if there is none with this id or it is out of the caller's reach. The ETag
    header is the version to send back in If-Match."""
    set_etag(response, membership.version)
    return membership


@router.patch(
    "/{membership_id}",
    response_model=MembershipPublic,
    responses={**NOT_FOUND, **NOT_ADMIN, **PRECONDITION},
    summary="Change a member's role",
)
def update_membership(
    session: SessionDep,
    _: Writer,
    reach: ReachDep,
    membership: MembershipById,
    data: MembershipUpdate,
    expected_version: IfMatch,
    response: Response,
) -> Membership:
    """Change the role (admin or member). Only the role can change: to move someone, end and add again.
    A stale If-Match is a 412."""
    membership = service.update(
        session=session, reach=reach, membership=membership, data=data, expected_version=expected_version
    )
    set_etag(response, membership.version)
    return membership


@router.post(
    "/{membership_id}/end",
    response_model=MembershipPublic,
    responses={**NOT_FOUND, **CONFLICT, **NOT_ADMIN, **PRECONDITION},
    summary="End a membership",
)
def end_membership(
    session: SessionDep,
    _: Writer,
    reach: ReachDep,
    membership: MembershipById,
    data: MembershipEnd,
    expected_version: IfMatch,
    response: Response,
) -> Membership:
    """Record the first day the person is no longer in the group. The membership is kept as history;
    ending one that has already ended is a 409."""
    membership = service.end(
        session=session,
        reach=reach,
        membership=membership,
        ended_on=data.ended_on,
        end_reason=data.end_reason,
        expected_version=expected_version,
    )
    set_etag(response, membership.version)
    return membership
