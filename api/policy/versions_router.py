"""The policy as versioned text: list, read, compare, publish (its coverage map is served by
api/compliance/coverage_router.py, since the rules that keep each sentence are the compliance catalog)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.auth.permissions import ComplianceRead, PolicyAdmin
from api.common import DIGITS_ONLY, Page, PageDep
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, conflict
from api.policy import publishing
from api.policy import version_service as service
from api.policy.redacting import RedactorDep
from api.policy.versions import (
    PolicyDiffPublic,
    PolicyVersionCreate,
    PolicyVersionPublic,
    PolicyVersionSummary,
    PolicyVersionWithdraw,
    PublishedPolicy,
    PublishPreview,
)
from api.problems import ProblemCode

router = APIRouter()

Number = Annotated[
    int, Path(ge=1, le=1_000_000, description="The version's number (1 is the seed)"), DIGITS_ONLY
]


@router.get("/versions", response_model=Page[PolicyVersionSummary], summary="List the policy's versions")
def list_policy_versions(
    session: SessionDep, _: ComplianceRead, redact: RedactorDep, paging: PageDep
) -> Page[PolicyVersionSummary]:
    """Every version, newest first: its number, the day it takes effect, the day it was published, how many
    clauses it has, and which is in force today. A participant's (or their carer's) details in `summary`
    are replaced by a label for a caller who may not read that participant."""
    found = service.list_versions(session=session, paging=paging)
    return redact.page(found, PolicyVersionSummary, "summary")


@router.post(
    "/versions",
    response_model=PublishedPolicy,
    status_code=status.HTTP_201_CREATED,
    responses=conflict(ProblemCode.confirmation_required),
    summary="Publish a new version of the policy",
)
def publish_policy_version(
    session: SessionDep, caller: PolicyAdmin, data: PolicyVersionCreate, request: Request, response: Response
) -> PublishedPolicy:
    """Publish the whole text of a new version and the day it takes effect (today or later, at most 366
    days ahead, after the latest version's not withdrawn). Each sentence keeps the clause id of the same or
    reworded words among every clause published before (a sentence that comes back gets its id back), or
    gets a new one; a sentence left out is no longer in force from that day. Findings quote the words of the
    version in force on their `as_of`; every member of staff's declaration is due again from today.

    Each rule that would stop being applied must be named in `confirm_rules_stopped`, each enforced clause
    reworded in `confirm_reworded` (or `declare_removed`), and each enforced clause left out or given a new
    id in `confirm_removed` (or `declare_removed`): else 409 `confirmation_required` with `rules_stopped`,
    `reworded` and `removed`, nothing stored (see the preview). A publish needing any confirmation sends the
    preview's `token` for this very body as `preview_token` (409 naming it otherwise, the current token in
    `preview_token`); a confirmation naming nothing in the plan is a 422 naming the field. Answers the
    version and its difference from the last; 409 for a text that is the last one's word for word."""
    published = publishing.publish(session=session, caller=caller, data=data)
    # A version's address is its number, not an id, so the route names it (api/standard_headers.py).
    response.headers["Location"] = f"{request.url.path}/{published.version.number}"
    return published


@router.post(
    "/versions/preview",
    response_model=PublishPreview,
    responses=CONFLICT,
    summary="What publishing a version would do (nothing stored)",
)
def preview_policy_version(
    session: SessionDep, caller: PolicyAdmin, data: PolicyVersionCreate
) -> PublishPreview:
    """The publish's body, checked and matched but stored nowhere: the clause difference from the latest
    version, the rules that would stop being applied, those applied again, the enforced clauses whose words
    change (with a hint where a negation came or went: only a person can judge meaning), the enforced
    clauses left out or given a new id (`enforced_removed`, with the rules citing each), which of them the
    body leaves unconfirmed, and the `token` to send as the publish's `preview_token`."""
    return publishing.preview(session=session, caller=caller, data=data)


@router.post(
    "/versions/{version_number}/withdraw",
    response_model=PolicyVersionPublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Withdraw a version not yet in force",
)
def withdraw_policy_version(
    session: SessionDep, caller: PolicyAdmin, version_number: Number, data: PolicyVersionWithdraw
) -> PolicyVersionPublic:
    """A version published for a later day, withdrawn before that day: it stays on record with the day
    and the reason, never comes into force, and no longer bounds a later version's effective date. 409 if it
    is already in force or already withdrawn, or a later version not withdrawn exists (withdraw that one
    first: its changes were confirmed against this one)."""
    return publishing.withdraw(session=session, caller=caller, number=version_number, data=data)


@router.get(
    "/versions/{version_number}",
    response_model=PolicyVersionPublic,
    responses=NOT_FOUND,
    summary="A version of the policy",
)
def get_policy_version(
    session: SessionDep, _: ComplianceRead, redact: RedactorDep, version_number: Number
) -> PolicyVersionPublic:
    """The version's full text and its sentences in order, each with its clause id and heading (`summary`
    redacted as in the list)."""
    version = service.public(session=session, version=service.get(session=session, number=version_number))
    return redact.fields(version, "summary")


@router.get(
    "/versions/{version_number}/diff",
    response_model=PolicyDiffPublic,
    responses=NOT_FOUND,
    summary="What changed between two versions",
)
def diff_policy_versions(
    session: SessionDep,
    _: ComplianceRead,
    version_number: Number,
    against: Annotated[
        int | None,
        Query(
            ge=1,
            le=1_000_000,
            description="The version to compare with (default: the latest one before it not withdrawn)",
        ),
        DIGITS_ONLY,
    ] = None,
) -> PolicyDiffPublic:
    """Clause by clause, from `against` to this version: added, removed, reworded (same id, other words) or
    moved; unchanged clauses are counted. By default against the version it followed: the latest before it
    not withdrawn (a withdrawn version never came into force)."""
    before = against if against is not None else service.previous_live(session=session, number=version_number)
    return service.diff(session=session, before=before, after=version_number)
