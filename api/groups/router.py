from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api.auth.permissions import GroupsCreate, GroupsRead, GroupsRecord, GroupsWrite
from api.auth.reach import Reach
from api.common import Page, PageParams
from api.consents.redaction import redacted_as, redacted_page
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, Responses, problem
from api.groups import service
from api.groups.models import (
    Group,
    GroupArchive,
    GroupCreate,
    GroupPublic,
    GroupReview,
    GroupStatus,
    GroupUpdate,
    Platform,
    ReviewCreate,
    ReviewPublic,
    RiskAssessment,
    RiskAssessmentCreate,
    RiskAssessmentPublic,
    Visibility,
)
from api.lookups import by_id_in_reach
from api.records import Records, Write
from api.sub_records import SubRecords

router = APIRouter()

NOT_ADMIN: Responses = {
    403: problem("The caller's role may not use this route, or they do not admin this group")
}


GroupById = Annotated[Group, Depends(by_id_in_reach(service.get, "group_id"))]


def public(session: Session, _: Reach, group: Group) -> GroupPublic:
    return service.public(session=session, group=group)


records = Records(
    router, by_id=GroupById, public=GroupPublic, reader=GroupsRead, writer=GroupsWrite, present=public
)
filed = SubRecords(records)

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


@records.create("", summary="Add a group", writer=GroupsCreate)
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


@filed.list(
    "/{group_id}/risk-assessments",
    public=RiskAssessmentPublic,
    summary="List a group's risk assessments",
    present=redacted_page(RiskAssessmentPublic, *ASSESSMENT_TEXT),
)
def list_risk_assessments(read: Write, group: Group, paging: PageParams) -> Page[RiskAssessment]:
    """The group's risk assessments, newest first. A participant's (or their carer's) details in `risks`
    and `mitigations` are replaced by a label for a caller who may not read that participant."""
    return read.call(service.list_risk_assessments, group=group, paging=paging)


@filed.add(
    "/{group_id}/risk-assessments",
    public=RiskAssessmentPublic,
    summary="Record a risk assessment",
    responses={**NOT_FOUND, **NOT_ADMIN},
    writer=GroupsRecord,
    etag=True,
    present=redacted_as(RiskAssessmentPublic, *ASSESSMENT_TEXT),
)
def record_risk_assessment(write: Write, group: Group, data: RiskAssessmentCreate) -> RiskAssessment:
    """Record a risk assessment of the group (coordinators, or the group's current admins). It cannot be
    changed or deleted afterwards."""
    return write.call(service.record_risk_assessment, group=group, data=data)


@filed.list(
    "/{group_id}/reviews",
    public=ReviewPublic,
    summary="List a group's reviews",
    present=redacted_page(ReviewPublic, *REVIEW_TEXT),
)
def list_reviews(read: Write, group: Group, paging: PageParams) -> Page[GroupReview]:
    """The group's reviews, newest first (`notes` redacted as the risk assessments are)."""
    return read.call(service.list_reviews, group=group, paging=paging)


@filed.add(
    "/{group_id}/reviews",
    public=ReviewPublic,
    summary="Record a review",
    responses={**NOT_FOUND, **NOT_ADMIN},
    writer=GroupsRecord,
    etag=True,
    present=redacted_as(ReviewPublic, *REVIEW_TEXT),
)
def record_review(write: Write, group: Group, data: ReviewCreate) -> GroupReview:
    """Record a periodic review of the group (coordinators, or the group's current admins). It cannot be
    changed or deleted afterwards."""
    return write.call(service.record_review, group=group, data=data)
