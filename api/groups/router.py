from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi import status as http_status
from sqlmodel import Session

from api.auth.principal import Principal, require
from api.auth.reach import Reach, ReachDep
from api.auth.roles import Permission
from api.common import Page, PageDep
from api.consents.redaction import RedactorDep
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, Responses, problem
from api.groups import service
from api.groups.models import (
    Group,
    GroupArchive,
    GroupCreate,
    GroupPublic,
    GroupStatus,
    GroupUpdate,
    Platform,
    ReviewCreate,
    ReviewPublic,
    RiskAssessmentCreate,
    RiskAssessmentPublic,
    Visibility,
)
from api.preconditions import set_etag
from api.records import Records, Write

router = APIRouter()

Reader = Annotated[Principal, Depends(require(Permission.GROUP_READ))]
Creator = Annotated[Principal, Depends(require(Permission.GROUP_CREATE))]
Writer = Annotated[Principal, Depends(require(Permission.GROUP_WRITE))]
Recorder = Annotated[Principal, Depends(require(Permission.GROUP_RECORD))]

NOT_ADMIN: Responses = {
    403: problem("The caller's role may not use this route, or they do not admin this group")
}


def group_or_404(group_id: uuid.UUID, session: SessionDep, reach: ReachDep) -> Group:
    # Routes declare their permission before this parameter, so the role check answers first.
    return service.get(session=session, reach=reach, group_id=group_id)


GroupById = Annotated[Group, Depends(group_or_404)]


def public(session: Session, _: Reach, group: Group) -> GroupPublic:
    return service.public(session=session, group=group)


records = Records(router, by_id=GroupById, public=GroupPublic, reader=Reader, writer=Writer, present=public)

# The free text staff write here, answered through the redactor (api/consents/redaction.py).
ASSESSMENT_TEXT = ("risks", "mitigations")
REVIEW_TEXT = ("notes",)


@dataclass
class GroupFilters:
    platform: Annotated[Platform | None, Query(description="Only groups on this platform")] = None
    status: Annotated[GroupStatus | None, Query(description="Only active or only archived groups")] = None
    visibility: Annotated[Visibility | None, Query(description="Only groups with this privacy setting")] = (
        None
    )
    project: Annotated[str | None, Query(max_length=200, description="The project, exactly")] = None
    q: Annotated[str | None, Query(max_length=200, description="Part of the group's name")] = None


records.list(
    "list_groups",
    "List groups",
    "Online groups, ordered by name. A member of staff sees only the groups they are currently in.",
    call=service.list_,
    filters=GroupFilters,
)


@records.create("", summary="Add a group", writer=Creator)
def create_group(write: Write, data: GroupCreate) -> Group:
    """Add an online group. A member of staff who adds one becomes its admin from its `started_on`;
    a coordinator does not become a member."""
    return write.call(service.create, data=data)


records.get(
    "/{group_id}",
    "get_group",
    "Get a group",
    """One group, with its current member count. 404 for a group outside a member of staff's groups.
    The ETag header is the version to send back in If-Match.""",
)


@records.change(
    "patch", "/{group_id}", summary="Update a group", responses={**NOT_FOUND, **CONFLICT, **PRECONDITION}
)
def update_group(write: Write, group: Group, data: GroupUpdate) -> Group:
    """Change the fields sent; the age range is checked on the result. An archived group cannot be
    changed (409). Send If-Match to refuse the change (412) if the group changed since you read it."""
    return write.call(service.update, group=group, data=data)


@records.change(
    "post",
    "/{group_id}/archive",
    summary="Archive a group",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
def archive_group(write: Write, group: Group, data: GroupArchive) -> Group:
    """Archive the group from `archived_on` and end every current membership on that day (reason
    "group archived"). Nothing is deleted; archiving twice is 409; a stale If-Match is 412."""
    return write.call(service.archive, group=group, archived_on=data.archived_on)


@router.get(
    "/{group_id}/risk-assessments",
    response_model=Page[RiskAssessmentPublic],
    responses=NOT_FOUND,
    summary="List a group's risk assessments",
)
def list_risk_assessments(
    session: SessionDep, _: Reader, redact: RedactorDep, group: GroupById, paging: PageDep
) -> Page[RiskAssessmentPublic]:
    """The group's risk assessments, newest first. A participant's (or their carer's) details in `risks`
    and `mitigations` are replaced by a label for a caller who may not read that participant."""
    found = service.list_risk_assessments(session=session, group=group, paging=paging)
    return redact.page(found, RiskAssessmentPublic, *ASSESSMENT_TEXT)


@router.post(
    "/{group_id}/risk-assessments",
    response_model=RiskAssessmentPublic,
    status_code=http_status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **NOT_ADMIN},
    summary="Record a risk assessment",
)
def record_risk_assessment(
    session: SessionDep,
    _: Recorder,
    reach: ReachDep,
    redact: RedactorDep,
    group: GroupById,
    data: RiskAssessmentCreate,
    response: Response,
) -> RiskAssessmentPublic:
    """Record a risk assessment of the group (coordinators, or the group's current admins). It cannot be
    changed or deleted afterwards."""
    assessment = service.record_risk_assessment(session=session, reach=reach, group=group, data=data)
    set_etag(response, assessment.version)
    return redact.answer(assessment, RiskAssessmentPublic, *ASSESSMENT_TEXT)


@router.get(
    "/{group_id}/reviews",
    response_model=Page[ReviewPublic],
    responses=NOT_FOUND,
    summary="List a group's reviews",
)
def list_reviews(
    session: SessionDep, _: Reader, redact: RedactorDep, group: GroupById, paging: PageDep
) -> Page[ReviewPublic]:
    """The group's reviews, newest first (`notes` redacted as the risk assessments are)."""
    found = service.list_reviews(session=session, group=group, paging=paging)
    return redact.page(found, ReviewPublic, *REVIEW_TEXT)


@router.post(
    "/{group_id}/reviews",
    response_model=ReviewPublic,
    status_code=http_status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **NOT_ADMIN},
    summary="Record a review",
)
def record_review(
    session: SessionDep,
    _: Recorder,
    reach: ReachDep,
    redact: RedactorDep,
    group: GroupById,
    data: ReviewCreate,
    response: Response,
) -> ReviewPublic:
    """Record a periodic review of the group (coordinators, or the group's current admins). It cannot be
    changed or deleted afterwards."""
    review = service.record_review(session=session, reach=reach, group=group, data=data)
    set_etag(response, review.version)
    return redact.answer(review, ReviewPublic, *REVIEW_TEXT)
