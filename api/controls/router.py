"""The organisation's recurring controls (with their checks) and technology register (with assessments)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status
from sqlmodel import Session

from api.auth.principal import Principal, require
from api.auth.reach import Reach, ReachDep
from api.auth.roles import Permission
from api.common import Page, PageDep
from api.consents.redaction import RedactorDep, redactor
from api.controls import service
from api.controls.models import (
    AssessmentCreate,
    Control,
    ControlCheckCreate,
    ControlCheckPublic,
    ControlPublic,
    ControlUpdate,
    Technology,
    TechnologyAssessmentPublic,
    TechnologyCreate,
    TechnologyPublic,
    TechnologyUpdate,
)
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION
from api.records import Records, Write

controls_router = APIRouter()
technologies_router = APIRouter()

Reader = Annotated[Principal, Depends(require(Permission.COMPLIANCE_READ))]
Admin = Annotated[Principal, Depends(require(Permission.CONTROL_ADMIN))]
Recorder = Annotated[Principal, Depends(require(Permission.CONTROL_RECORD))]


def control_or_404(control_id: uuid.UUID, session: SessionDep) -> Control:
    return service.get_control(session=session, control_id=control_id)


def technology_or_404(technology_id: uuid.UUID, session: SessionDep) -> Technology:
    return service.get_technology(session=session, technology_id=technology_id)


# The free text staff write here, answered through the redactor (api/consents/redaction.py).
CHECK_TEXT = ("follow_up",)
ASSESSMENT_TEXT = ("risks", "mitigations")
TECHNOLOGY_TEXT = ("purpose",)

ControlById = Annotated[Control, Depends(control_or_404)]
TechnologyById = Annotated[Technology, Depends(technology_or_404)]
controls = Records(controls_router, by_id=ControlById, public=ControlPublic, reader=Reader, writer=Admin)
technologies = Records(
    technologies_router, by_id=TechnologyById, public=TechnologyPublic, reader=Reader, writer=Admin
)


def redacted_technology(session: Session, reach: Reach, technology: Technology) -> TechnologyPublic:
    return redactor(session, reach).answer(technology, TechnologyPublic, *TECHNOLOGY_TEXT)


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


@controls_router.get(
    "/{control_id}/checks",
    response_model=Page[ControlCheckPublic],
    responses=NOT_FOUND,
    summary="A control's checks",
)
def list_control_checks(
    session: SessionDep, _: Reader, redact: RedactorDep, control: ControlById, paging: PageDep
) -> Page[ControlCheckPublic]:
    """The checks recorded against the control, newest first. A participant's (or their carer's) details
    in `follow_up` are replaced by a label for a caller who may not read that participant."""
    found = service.list_checks(session=session, control=control, paging=paging)
    return redact.page(found, ControlCheckPublic, *CHECK_TEXT)


@controls_router.post(
    "/{control_id}/checks",
    response_model=ControlCheckPublic,
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
    summary="Record a check of a control",
)
def record_control_check(
    session: SessionDep,
    caller: Recorder,
    reach: ReachDep,
    redact: RedactorDep,
    control: ControlById,
    data: ControlCheckCreate,
) -> ControlCheckPublic:
    """Record a check: the day, who did it (yourself; a coordinator may name another), `ok` or
    `issues_found` with the follow-up, and a reference to the evidence. Issues found with no follow-up keep
    the control's rule failing until a later check."""
    check = service.record_check(session=session, reach=reach, caller=caller, control=control, data=data)
    return redact.answer(check, ControlCheckPublic, *CHECK_TEXT)


@technologies_router.get("", response_model=Page[TechnologyPublic], summary="List the technology register")
def list_technologies(
    session: SessionDep, _: Reader, redact: RedactorDep, paging: PageDep
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
def create_technology(session: SessionDep, caller: Admin, data: TechnologyCreate) -> Technology:
    """Add a technology: its name, purpose and the day it was first used (none while only planned)."""
    return service.create_technology(session=session, caller=caller, data=data)


technologies.get(
    "/{technology_id}",
    "get_technology",
    "A technology",
    """One technology of the register (its `purpose` redacted as in the list). The ETag header is the
    version to send back in If-Match.""",
    present=redacted_technology,
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


@technologies_router.get(
    "/{technology_id}/assessments",
    response_model=Page[TechnologyAssessmentPublic],
    responses=NOT_FOUND,
    summary="A technology's risk assessments",
)
def list_technology_assessments(
    session: SessionDep, _: Reader, redact: RedactorDep, technology: TechnologyById, paging: PageDep
) -> Page[TechnologyAssessmentPublic]:
    """Its risk assessments, newest first. A participant's (or their carer's) details in `risks` and
    `mitigations` are replaced by a label for a caller who may not read that participant."""
    found = service.list_assessments(session=session, technology=technology, paging=paging)
    return redact.page(found, TechnologyAssessmentPublic, *ASSESSMENT_TEXT)


@technologies_router.post(
    "/{technology_id}/assessments",
    response_model=TechnologyAssessmentPublic,
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND,
    summary="Risk assess a technology",
)
def assess_technology(
    session: SessionDep,
    caller: Recorder,
    reach: ReachDep,
    redact: RedactorDep,
    technology: TechnologyById,
    data: AssessmentCreate,
) -> TechnologyAssessmentPublic:
    """Record a risk assessment (risks, mitigations) and the decision: approved, approved with conditions, or
    rejected. It must come before the technology's first use to count (ORG-TECHNOLOGY-ASSESSED)."""
    assessment = service.assess(session=session, reach=reach, caller=caller, technology=technology, data=data)
    return redact.answer(assessment, TechnologyAssessmentPublic, *ASSESSMENT_TEXT)
