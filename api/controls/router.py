"""The organisation's recurring controls (with their checks) and technology register (with assessments)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from api.auth.permissions import ComplianceRead, ControlsAdmin, ControlsRecord
from api.common import Page, PageDep, PageParams
from api.consents.redaction import RedactorDep, redacted_as, redacted_page
from api.controls import service
from api.controls.models import (
    AssessmentCreate,
    Control,
    ControlCheck,
    ControlCheckCreate,
    ControlCheckPublic,
    ControlPublic,
    ControlUpdate,
    Technology,
    TechnologyAssessment,
    TechnologyAssessmentPublic,
    TechnologyCreate,
    TechnologyPublic,
    TechnologyUpdate,
)
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION
from api.lookups import by_id
from api.records import Records, Write
from api.sub_records import SubRecords

controls_router = APIRouter()
technologies_router = APIRouter()

# The free text staff write here, answered through the redactor (api/consents/redaction.py).
CHECK_TEXT = ("follow_up",)
ASSESSMENT_TEXT = ("risks", "mitigations")
TECHNOLOGY_TEXT = ("purpose",)

ControlById = Annotated[Control, Depends(by_id(service.get_control, "control_id"))]
TechnologyById = Annotated[Technology, Depends(by_id(service.get_technology, "technology_id"))]
controls = Records(
    controls_router, by_id=ControlById, public=ControlPublic, reader=ComplianceRead, writer=ControlsAdmin
)
technologies = Records(
    technologies_router,
    by_id=TechnologyById,
    public=TechnologyPublic,
    reader=ComplianceRead,
    writer=ControlsAdmin,
)
filed_under_controls = SubRecords(controls)
filed_under_technologies = SubRecords(technologies)


controls.list(
    "list_controls",
    "List the recurring controls",
    """The controls, by code: each with the policy sentence it evidences, its owner, cadence and warning
    window.""",
    call=service.list_controls,
)


controls.get(
    "/{control_id}",
    "get_control",
    "A control",
    "One control of the register. The ETag header is the version to send back in If-Match.",
)


@controls.change(
    "patch", "/{control_id}", summary="Change a control", responses={**NOT_FOUND, **PRECONDITION}
)
def update_control(write: Write, control: Control, data: ControlUpdate) -> Control:
    """Change the owner (a current member of staff), the cadence (days between checks) or the warning
    window (days before the due date that count as due soon). Audited; send If-Match to refuse the change
    (412) if it changed since you read it."""
    return write.call(service.update_control, control=control, data=data)


@filed_under_controls.list(
    "/{control_id}/checks",
    public=ControlCheckPublic,
    summary="A control's checks",
    present=redacted_page(ControlCheckPublic, *CHECK_TEXT),
)
def list_control_checks(read: Write, control: Control, paging: PageParams) -> Page[ControlCheck]:
    """The checks recorded against the control, newest first. A participant's (or their carer's) details
    in `follow_up` are replaced by a label for a caller who may not read that participant."""
    return read.call(service.list_checks, control=control, paging=paging)


@filed_under_controls.add(
    "/{control_id}/checks",
    public=ControlCheckPublic,
    summary="Record a check of a control",
    writer=ControlsRecord,
    present=redacted_as(ControlCheckPublic, *CHECK_TEXT),
)
def record_control_check(write: Write, control: Control, data: ControlCheckCreate) -> ControlCheck:
    """Record a check: the day, who did it (yourself; a coordinator may name another), `ok` or
    `issues_found` with the follow-up, and a reference to the evidence. Issues found with no follow-up keep
    the control's rule failing until a later check."""
    return write.call(service.record_check, control=control, data=data)


@technologies_router.get("", response_model=Page[TechnologyPublic], summary="List the technology register")
def list_technologies(
    session: SessionDep, _: ComplianceRead, redact: RedactorDep, paging: PageDep
) -> Page[TechnologyPublic]:
    """The technologies the organisation uses, plans to use or has stopped using, by name. A participant's
    details in `purpose` are replaced by a label for a caller who may not read that participant."""
    found = service.list_technologies(session=session, paging=paging)
    return redact.page(found, TechnologyPublic, *TECHNOLOGY_TEXT)


@technologies_router.post(
    "",
    response_model=TechnologyPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Add a technology",
)
def create_technology(session: SessionDep, caller: ControlsAdmin, data: TechnologyCreate) -> Technology:
    """Add a technology: its name, purpose and the day it was first used (none while only planned)."""
    return service.create_technology(session=session, caller=caller, data=data)


technologies.get(
    "/{technology_id}",
    "get_technology",
    "A technology",
    """One technology of the register (its `purpose` redacted as in the list). The ETag header is the
    version to send back in If-Match.""",
    present=redacted_as(TechnologyPublic, *TECHNOLOGY_TEXT),
)


@technologies.change(
    "patch",
    "/{technology_id}",
    summary="Change or end a technology",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
def update_technology(write: Write, technology: Technology, data: TechnologyUpdate) -> Technology:
    """Change the fields sent: name (unique, ignoring case and Unicode form: 409 naming `name`), purpose,
    `first_used_on` (earlier only, once set) or `retired_on` (the day it stopped being used: records end,
    they are not deleted). Audited; send If-Match to refuse the change (412) if it changed since you read
    it."""
    return write.call(service.update_technology, technology=technology, data=data)


@filed_under_technologies.list(
    "/{technology_id}/assessments",
    public=TechnologyAssessmentPublic,
    summary="A technology's risk assessments",
    present=redacted_page(TechnologyAssessmentPublic, *ASSESSMENT_TEXT),
)
def list_technology_assessments(
    read: Write, technology: Technology, paging: PageParams
) -> Page[TechnologyAssessment]:
    """Its risk assessments, newest first. A participant's (or their carer's) details in `risks` and
    `mitigations` are replaced by a label for a caller who may not read that participant."""
    return read.call(service.list_assessments, technology=technology, paging=paging)


@filed_under_technologies.add(
    "/{technology_id}/assessments",
    public=TechnologyAssessmentPublic,
    summary="Risk assess a technology",
    writer=ControlsRecord,
    present=redacted_as(TechnologyAssessmentPublic, *ASSESSMENT_TEXT),
)
def assess_technology(write: Write, technology: Technology, data: AssessmentCreate) -> TechnologyAssessment:
    """Record a risk assessment (risks, mitigations) and the decision: approved, approved with conditions, or
    rejected. It must come before the technology's first use to count (ORG-TECHNOLOGY-ASSESSED)."""
    return write.call(service.assess, technology=technology, data=data)
