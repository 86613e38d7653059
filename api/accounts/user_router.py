from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.accounts import user_service as service
from api.auth.models import User, UserCreate, UserPublic, UserUpdate
from api.auth.permissions import UsersAdmin
from api.auth.roles import Role
from api.common import QueryFlag
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, conflict
from api.lookups import by_id
from api.problems import ProblemCode
from api.records import Records, Write

router = APIRouter()

UserById = Annotated[User, Depends(by_id(service.get, "user_id"))]
records = Records(router, by_id=UserById, public=UserPublic, reader=UsersAdmin, writer=UsersAdmin)


@dataclass
class UserFilters:
    role: Annotated[Role | None, Query(description="Only accounts with this role")] = None
    is_active: Annotated[
        QueryFlag | None, Query(description="true: only enabled accounts; false: only disabled ones")
    ] = None
    staff_id: Annotated[uuid.UUID | None, Query(description="The account of this member of staff")] = None
    q: Annotated[str | None, Query(max_length=254, description="Part of an email")] = None


records.list(
    "list_users",
    "List user accounts",
    "Every sign-in account, ordered by email.",
    call=service.list_,
    filters=UserFilters,
)


@records.create("", summary="Create a user account", responses=CONFLICT)
def create_user(write: Write, data: UserCreate) -> User:
    """Give a current member of staff a sign-in with a role (`coordinator`, `staff` or `trustee`).
    The staff record must exist (422 naming `staff_id`); one account per staff record and per email (409)."""
    return write.call(service.create, data=data)


records.get(
    "/{user_id}",
    "get_user",
    "Get a user account",
    "One account (never its password). The ETag header is the version to send back in If-Match.",
)


@records.change(
    "patch",
    "/{user_id}",
    summary="Change a user's role or disable them",
    responses={**NOT_FOUND, **conflict(ProblemCode.last_coordinator), **PRECONDITION},
)
def update_user(write: Write, user: User, data: UserUpdate) -> User:
    """Change `role` or `is_active`. Either change signs the account out everywhere at once. You cannot
    disable or demote your own account (409), nor the last active coordinator (409 `last_coordinator`). A
    stale If-Match is a 412."""
    return write.call(service.update, user=user, data=data)
