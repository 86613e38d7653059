"""The controls register and the technology register: list, read, change, and record checks and
assessments. Each write is audited with ids, dates and outcomes only (the free text stays on the record)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, SQLModel, col, select

from api import clock, crud
from api.audit import service as audit
from api.auth.principal import Principal
from api.auth.reach import Reach
from api.auth.roles import Permission
from api.controls.models import (
    AssessmentCreate,
    Control,
    ControlCheck,
    ControlCheckCreate,
    ControlUpdate,
    Technology,
    TechnologyAssessment,
    TechnologyCreate,
)
from api.errors import Forbidden, Unprocessable
from api.staff.models import Staff


def _not_future(value: Any, field: str) -> None:
    if value > clock.today():
        raise Unprocessable.field(field, f"{field} ({value}) is in the future")


def _save(session: Session, row: SQLModel, *, actor: Principal, action: str, changes: dict[str, Any]) -> None:
    session.add(row)
    audit.record(session, actor=actor, action=action, entity=row, changes=changes)
    session.flush()
    session.refresh(row)
    session.commit()


def list_controls(*, session: Session) -> list[Control]:
    """Every control of the register, by code."""
    return list(session.exec(select(Control).order_by(col(Control.code))).all())


def get_control(*, session: Session, control_id: uuid.UUID) -> Control:
    """One control, or 404."""
    return crud.get_or_404(session, Control, control_id, "control")


def update_control(*, session: Session, actor: Principal, control: Control, data: ControlUpdate) -> Control:
    """Change a control's owner (a current member of staff, 422 otherwise), cadence or warning window."""
    if data.owner_id is not None:
        owner = session.get(Staff, data.owner_id)
        today = clock.today()
        if (
            owner is None
            or owner.started_on > today
            or (owner.left_on is not None and owner.left_on <= today)
        ):
            raise Unprocessable.field("owner_id", f"No current member of staff with id {data.owner_id}")
    before = crud.apply(control, data)
    return crud.save(session, control, actor=actor, action="control.update", before=before)


def list_checks(*, session: Session, control: Control) -> list[ControlCheck]:
    """A control's checks, newest first."""
    return list(
        session.exec(
            select(ControlCheck)
            .where(ControlCheck.control_id == control.id)
            .order_by(col(ControlCheck.performed_on).desc(), col(ControlCheck.created_at).desc())
        ).all()
    )


def record_check(
    *, session: Session, reach: Reach, actor: Principal, control: Control, data: ControlCheckCreate
) -> ControlCheck:
    """Record a check of a control, signed by the caller (a coordinator may name another member of staff).

    Errors: 422 `performed_on` in the future; 422 `performed_by_id` for someone not current staff then; 403
    for a member of staff naming another, or checking a control they do not own (the owner answers for the
    control: a check by anyone else could clear its failure)."""
    _not_future(data.performed_on, "performed_on")
    signer = reach.signer(session, data.performed_by_id, data.performed_on, "performed_by_id")
    if Permission.CONTROL_ADMIN not in actor.permissions and control.owner_id != signer:
        raise Forbidden("Only the control's owner, or a coordinator, records its checks")
    row = ControlCheck.model_validate(data, update={"control_id": control.id, "performed_by_id": signer})
    _save(
        session,
        row,
        actor=actor,
        action="control_check.create",
        changes={
            "control_id": str(control.id),
            "performed_on": data.performed_on.isoformat(),
            "result": data.result.value,
            "follow_up_recorded": data.follow_up is not None,
        },
    )
    return row


def list_technologies(*, session: Session) -> list[Technology]:
    """Every technology of the register, by name."""
    return list(session.exec(select(Technology).order_by(col(Technology.name), col(Technology.id))).all())


def get_technology(*, session: Session, technology_id: uuid.UUID) -> Technology:
    """One technology, or 404."""
    return crud.get_or_404(session, Technology, technology_id, "technology")


def create_technology(*, session: Session, actor: Principal, data: TechnologyCreate) -> Technology:
    """Add a technology the organisation uses or plans to use (first_used_on: not in the future)."""
    if data.first_used_on is not None:
        _not_future(data.first_used_on, "first_used_on")
    row = Technology.model_validate(data)
    first = data.first_used_on.isoformat() if data.first_used_on else None
    _save(session, row, actor=actor, action="technology.create", changes={"first_used_on": first})
    return row


def list_assessments(*, session: Session, technology: Technology) -> list[TechnologyAssessment]:
    """A technology's risk assessments, newest first."""
    return list(
        session.exec(
            select(TechnologyAssessment)
            .where(TechnologyAssessment.technology_id == technology.id)
            .order_by(
                col(TechnologyAssessment.assessed_on).desc(), col(TechnologyAssessment.created_at).desc()
            )
        ).all()
    )


def assess(
    *, session: Session, reach: Reach, actor: Principal, technology: Technology, data: AssessmentCreate
) -> TechnologyAssessment:
    """Record a risk assessment of a technology and the decision, signed by the caller (a coordinator may
    name another). Errors as for `record_check`, on `assessed_on` and `assessed_by_id`."""
    _not_future(data.assessed_on, "assessed_on")
    signer = reach.signer(session, data.assessed_by_id, data.assessed_on, "assessed_by_id")
    row = TechnologyAssessment.model_validate(
        data, update={"technology_id": technology.id, "assessed_by_id": signer}
    )
    _save(
        session,
        row,
        actor=actor,
        action="technology_assessment.create",
        changes={
            "technology_id": str(technology.id),
            "assessed_on": data.assessed_on.isoformat(),
            "decision": data.decision.value,
        },
    )
    return row
