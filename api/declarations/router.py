"""Staff declarations of personal social media conduct, under the member of staff they belong to."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.auth.permissions import ComplianceRead, DeclarationsWrite
from api.auth.reach import ReachDep
from api.common import Page, PageDep
from api.declarations import service
from api.declarations.models import DeclarationCreate, DeclarationPublic, StaffDeclaration
from api.deps import SessionDep
from api.errors import NOT_FOUND

router = APIRouter()


@router.get(
    "/{staff_id}/declarations",
    response_model=Page[DeclarationPublic],
    responses=NOT_FOUND,
    summary="A staff member's declarations",
)
def list_staff_declarations(
    session: SessionDep, _: ComplianceRead, reach: ReachDep, staff_id: uuid.UUID, paging: PageDep
) -> Page[DeclarationPublic]:
    """Their declarations of personal social media conduct, newest first, each for one policy version.
    Staff read only their own (404 otherwise, as for an unknown id); trustees get each declaration with its
    answers null (whether one stands, never what was declared)."""
    return service.list_(session=session, reach=reach, staff_id=staff_id, paging=paging)


@router.post(
    "/{staff_id}/declarations",
    response_model=DeclarationPublic,
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
    summary="Declare personal social media conduct",
)
def create_staff_declaration(
    session: SessionDep,
    caller: DeclarationsWrite,
    reach: ReachDep,
    staff_id: uuid.UUID,
    data: DeclarationCreate,
) -> StaffDeclaration:
    """Declare, for the version of the policy in force (or one published to come into force later), that you
    have read it and that each of the policy's statements about personal accounts holds (or, honestly, that
    one does not). It lasts `declaration_valid_days` (policy settings) or until a newer version comes into
    force, whichever is first. Staff declare for themselves (a trustee only as the member of staff their
    account is linked to; 403 naming why otherwise); a coordinator may record a declaration made on paper
    for anyone."""
    return service.create(session=session, reach=reach, caller=caller, staff_id=staff_id, data=data)
