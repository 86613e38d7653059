"""The coverage map: which sentences of the policy in force the service keeps, and how (the rules that cite
them, the workflows, the controls). Mounted under /policy beside the policy's versions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth.permissions import ComplianceRead
from api.common import Day
from api.compliance import coverage as service
from api.compliance.coverage import CoveragePublic
from api.compliance.service import check_as_of
from api.deps import SessionDep
from api.errors import NOT_FOUND

router = APIRouter()


@router.get(
    "/coverage",
    response_model=CoveragePublic,
    summary="Which sentences the service keeps, and how",
    responses=NOT_FOUND,  # no version was in force on `as_of` (a day before the first took effect)
)
def get_policy_coverage(
    session: SessionDep,
    _: ComplianceRead,
    as_of: Annotated[
        Day | None, Query(description="The version in force on this day (default today)")
    ] = None,
) -> CoveragePublic:
    """Every sentence of the version in force, in order, with its clause id and what keeps it: the rules that
    enforce it (id, scope), the workflows that serve it (routes), the recurring controls that evidence it, or
    an `aspiration` with the reason no record could show it. Counts first: sentences, checkable, enforced,
    not enforced."""
    return service.coverage_on(session=session, as_of=check_as_of(as_of))
