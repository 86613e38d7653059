from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api.accounts import user_service as service
from api.auth.models import User, UserCreate, UserPublic, UserUpdate
from api.auth.principal import Principal, require
from api.auth.roles import Permission, Role
from api.common import Page, PageDep, QueryFlag
from api.db import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, conflict
from api.preconditions import IfMatch, set_etag
from api.problems import ProblemCode

router = APIRouter()

Admin = Annotated[Principal, Depends(require(Permission.USER_ADMIN))]


def user_or_404(user_id: uuid.UUID, session: SessionDep) -> User:
    return service.get(session=session, user_id=user_id)


UserById = Annotated[User, Depends(user_or_404)]


@router.get("", response_model=Page[UserPublic], summary="List user accounts")
def list_users(
    session: SessionDep,
    _: Admin,
    paging: PageDep,
    role: Annotated[Role | None, Query(description="Only accounts with this role")] = None,
    is_active: Annotated[
        QueryFlag | None, Query(description="true: only enabled accounts; false: only disabled ones")
    ] = None,
    staff_id: Annotated[uuid.UUID | None, Query(description="The account of this member of staff")] = None,
    q: Annotated[str | None, Query(max_length=254, description="Part of an email")] = None,
) -> Page[User]:
    """Every sign-in account, ordered by email."""
    return service.list_(
        session=session,
        paging=paging,
        role=role,
        is_active=is_active,
        staff_id=staff_id,
        q=q,
    )


@router.post(
    "",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Create a user account",
)
def create_user(session: SessionDep, caller: Admin, data: UserCreate, response: Response) -> User:
    """Give a current member of staff a sign-in with a role (`coordinator`, `staff` or `trustee`).
    The staff record must exist (422 naming `staff_id`); one account per staff record and per email (409)."""
    user = service.create(session=session, caller=caller, data=data)
    set_etag(response, user.version)
    return user


@router.get("/{user_id}", response_model=UserPublic, responses=NOT_FOUND, summary="Get a user account")
def get_user(_: Admin, user: UserById, response: Response) -> User:
    """One account (never its password). The ETag header is the version to send back in If-Match."""
    set_etag(response, user.version)
    return user


@router.patch(
    "/{user_id}",
    response_model=UserPublic,
    responses={**NOT_FOUND, **conflict(ProblemCode.last_coordinator), **PRECONDITION},
    summary="Change a user's role or disable them",
)
def update_user(
    session: SessionDep,
    caller: Admin,
    user: UserById,
    data: UserUpdate,
    expected_version: IfMatch,
    response: Response,
) -> User:
    """Change `role` or `is_active`. Either change signs the account out everywhere at once. You cannot
    disable or demote your own account (409), nor the last active coordinator (409 `last_coordinator`). A
    stale If-Match is a 412."""
    user = service.update(
        session=session, caller=caller, user=user, data=data, expected_version=expected_version
    )
    set_etag(response, user.version)
    return user
