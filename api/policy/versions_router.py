"""The policy as versioned text: list, read, compare, publish (its coverage map is served by
api/compliance/coverage_router.py, since the rules that keep each sentence are the compliance catalog)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from api.auth.principal import Principal, require
from api.auth.roles import Permission
from api.common import DIGITS_ONLY, Page, PageDep
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND
from api.policy import version_service as service
from api.policy.versions import (
    PolicyDiffPublic,
    PolicyVersionCreate,
    PolicyVersionPublic,
    PolicyVersionSummary,
    PublishedPolicy,
)

router = APIRouter()

Reader = Annotated[Principal, Depends(require(Permission.COMPLIANCE_READ))]
Admin = Annotated[Principal, Depends(require(Permission.POLICY_ADMIN))]
Number = Annotated[
    int, Path(ge=1, le=1_000_000, description="The version's number (1 is the seed)"), DIGITS_ONLY
]


@router.get("/versions", response_model=Page[PolicyVersionSummary], summary="List the policy's versions")
def list_policy_versions(session: SessionDep, _: Reader, paging: PageDep) -> Page[PolicyVersionSummary]:
    """Every version, newest first: its number, the day it takes effect, the day it was published, how many
    clauses it has, and which is in force today."""
    return service.list_versions(session=session, paging=paging)


@router.post(
    "/versions",
    response_model=PublishedPolicy,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Publish a new version of the policy",
)
def publish_policy_version(session: SessionDep, caller: Admin, data: PolicyVersionCreate) -> PublishedPolicy:
    """Publish the whole text of a new version and the day it takes effect (today or later, after the latest
    version's). Each sentence keeps the clause id of the latest version's sentence it keeps or rewords, or
    gets a new one; a sentence left out is no longer in force from that day. Findings quote the words of the
    version in force on their `as_of`; every member of staff's declaration is due again from today. Answers
    the version and its difference from the last; 409 for a text that is the last one's word for word."""
    return service.publish(session=session, caller=caller, data=data)


@router.get(
    "/versions/{version_number}",
    response_model=PolicyVersionPublic,
    responses=NOT_FOUND,
    summary="A version of the policy",
)
def get_policy_version(session: SessionDep, _: Reader, version_number: Number) -> PolicyVersionPublic:
    """The version's full text and its sentences in order, each with its clause id and heading."""
    return service.public(session=session, version=service.get(session=session, number=version_number))


@router.get(
    "/versions/{version_number}/diff",
    response_model=PolicyDiffPublic,
    responses=NOT_FOUND,
    summary="What changed between two versions",
)
def diff_policy_versions(
    session: SessionDep,
    _: Reader,
    version_number: Number,
    against: Annotated[
        int | None,
        Query(ge=1, le=1_000_000, description="The version to compare with (default: the one before)"),
        DIGITS_ONLY,
    ] = None,
) -> PolicyDiffPublic:
    """Clause by clause, from `against` to this version: added, removed, reworded (same id, other words) or
    moved; unchanged clauses are counted."""
    before = against if against is not None else max(version_number - 1, 1)
    return service.diff(session=session, before=before, after=version_number)
