"""The controls register and the technology register: list, read, change, and record checks and
assessments. Each write is audited with ids, dates and outcomes only (the free text stays on the record)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import clock, crud
from api.audit import service as audit
from api.auth.models import User
from api.auth.principal import Principal
from api.auth.reach import Reach
from api.auth.roles import ROLE_PERMISSIONS, Permission
from api.common import Page, PageParams
from api.controls.models import (
    AssessmentCreate,
    Control,
    ControlCheck,
    ControlCheckCreate,
    ControlUpdate,
    Technology,
    TechnologyAssessment,
    TechnologyCreate,
    TechnologyUpdate,
    name_key,
)
from api.errors import Conflict, Forbidden, Unprocessable
from api.staff.models import Staff


def _not_future(value: Any, field: str) -> None:
    if value > clock.today():
        raise Unprocessable.field(field, f"{field} ({value}) is in the future")


def list_controls(*, session: Session, paging: PageParams) -> Page[Control]:
    """A page of the register's controls, by code, and how many there are."""
    return crud.paged(session, select(Control).order_by(col(Control.code), col(Control.id)), paging)


def get_control(*, session: Session, control_id: uuid.UUID) -> Control:
    """One control, or 404."""
    return crud.get_or_404(session, Control, control_id, "control")


def update_control(
    *,
    session: Session,
    caller: Principal,
    control: Control,
    data: ControlUpdate,
    expected_version: int | None = None,
) -> Control:
    """Change a control's owner, cadence or warning window, audited with the fields' before and after;
    If-Match refuses a stale change (412).

    Errors: 422 naming `owner_id` for someone not current staff today, or whose account may not record
    checks (a trustee's: an owner must be able to record the control's checks); 412 for a stale If-Match."""
    if data.owner_id is not None:
        owner = session.get(Staff, data.owner_id)
        today = clock.today()
        if (
            owner is None
            or owner.started_on > today
            or (owner.left_on is not None and owner.left_on <= today)
        ):
            raise Unprocessable.field("owner_id", f"No current member of staff with id {data.owner_id}")
        account = session.exec(select(User).where(User.staff_id == owner.id)).first()
        if account is not None and Permission.CONTROL_RECORD not in ROLE_PERMISSIONS[account.role]:
            # The owner answers for the control by recording its checks (`record_check`): one whose account
            # may not record checks (a trustee's) could never keep it.
            raise Unprocessable.field(
                "owner_id",
                f"{owner.full_name}'s account ({account.role.value}) cannot record checks of controls: name "
                "a member of staff who can",
            )
    before = crud.apply(control, data)
    return crud.save(
        session,
        control,
        actor=caller,
        action="control.update",
        before=before,
        expected_version=expected_version,
    )


def list_checks(*, session: Session, control: Control, paging: PageParams) -> Page[ControlCheck]:
    """A page of a control's checks, newest first, and how many there are."""
    return crud.history(
        session, ControlCheck, ControlCheck.control_id == control.id, ControlCheck.performed_on, paging
    )


def record_check(
    *, session: Session, reach: Reach, caller: Principal, control: Control, data: ControlCheckCreate
) -> ControlCheck:
    """Record a check of a control, signed by the caller (a coordinator may name another member of staff).

    Errors: 422 `performed_on` in the future; 422 `performed_by_id` for someone not current staff then; 403
    for a member of staff naming another, or checking a control they do not own (the owner answers for the
    control: a check by anyone else could clear its failure)."""
    _not_future(data.performed_on, "performed_on")
    signer = reach.signer(session, data.performed_by_id, data.performed_on, "performed_by_id")
    if Permission.CONTROL_ADMIN not in caller.permissions and control.owner_id != signer:
        raise Forbidden("Only the control's owner, or a coordinator, records its checks")
    row = ControlCheck.model_validate(data, update={"control_id": control.id, "performed_by_id": signer})
    audit.commit_recorded(
        session,
        row,
        actor=caller,
        action="control_check.create",
        changes={
            "control_id": str(control.id),
            "performed_on": data.performed_on.isoformat(),
            "result": data.result.value,
            "follow_up_recorded": data.follow_up is not None,
        },
    )
    return row


def list_technologies(*, session: Session, paging: PageParams) -> Page[Technology]:
    """A page of the technology register, by name (ended ones too: records end, they stay), and the total."""
    query = select(Technology).order_by(col(Technology.name), col(Technology.id))
    return crud.paged(session, query, paging)


def get_technology(*, session: Session, technology_id: uuid.UUID) -> Technology:
    """One technology, or 404."""
    return crud.get_or_404(session, Technology, technology_id, "technology")


def _name_free(session: Session, name: str, technology_id: uuid.UUID | None = None) -> str:
    """`name`'s key, or 409 naming `name` when another technology already has it."""
    key = name_key(name)
    clash = session.exec(select(Technology).where(Technology.name_key == key)).first()
    if clash is not None and clash.id != technology_id:
        raise _name_taken(clash.name)
    return key


def _name_taken(existing: str) -> Conflict:
    return Conflict(
        f"The register already has {existing!r}: one record per technology (its assessments stay with it), "
        "names compared ignoring case, Unicode form and invisible characters. Change that one; if it was "
        "retired, clear its retired_on to bring it back into use",
        extra={"field": "name"},
    )


def create_technology(*, session: Session, caller: Principal, data: TechnologyCreate) -> Technology:
    """Add a technology the organisation uses or plans to use (first_used_on: not in the future).

    Errors: 409 naming `name` when another technology has the same name, ignoring case and Unicode form."""
    if data.first_used_on is not None:
        _not_future(data.first_used_on, "first_used_on")
    row = Technology.model_validate(data, update={"name_key": _name_free(session, data.name)})
    first = data.first_used_on.isoformat() if data.first_used_on else None
    try:
        audit.commit_recorded(
            session, row, actor=caller, action="technology.create", changes={"first_used_on": first}
        )
    except IntegrityError as exc:  # another add of the same name won the race
        session.rollback()
        raise _name_taken(data.name) from exc
    return row


def update_technology(
    *,
    session: Session,
    caller: Principal,
    technology: Technology,
    data: TechnologyUpdate,
    expected_version: int | None = None,
) -> Technology:
    """Change a technology's name, purpose, first use or end (`retired_on`), audited with the fields'
    before and after; If-Match refuses a stale change (412).

    Errors: 409 naming `name` for a name another technology has; 422 naming `first_used_on` in the future or
    moved later than recorded (an assessment made after the recorded first use would then look as if made
    before it: correct a wrong start by ending this record and adding another); 422 naming `retired_on` in
    the future or before the first use."""
    sent = data.model_fields_set
    if data.name is not None:
        _name_free(session, data.name, technology.id)
    if data.first_used_on is not None:
        _not_future(data.first_used_on, "first_used_on")
    if (
        "first_used_on" in sent
        and technology.first_used_on is not None
        and (data.first_used_on is None or data.first_used_on > technology.first_used_on)
    ):
        raise Unprocessable.field(
            "first_used_on",
            f"first_used_on is {technology.first_used_on}: it may be corrected earlier, not later or cleared "
            "(a later first use could make an unassessed use look assessed)",
        )
    if data.retired_on is not None:
        _not_future(data.retired_on, "retired_on")
        first = data.first_used_on or technology.first_used_on
        if first is None or data.retired_on <= first:
            raise Unprocessable.field(
                "retired_on", f"retired_on ({data.retired_on}) must be after the first use ({first})"
            )
    retired_before = technology.retired_on
    before = crud.apply(technology, data)
    technology.name_key = name_key(technology.name)
    if technology.retired_on != retired_before:
        # Kept so that an evaluation as of an earlier day does not see a retirement recorded after it.
        technology.retired_recorded_at = None if technology.retired_on is None else clock.now()
    try:
        return crud.save(
            session,
            technology,
            actor=caller,
            action="technology.update",
            before=before,
            unique_fields=("name_key",),
            expected_version=expected_version,
        )
    except Conflict as exc:
        if exc.extra.get("field") == "name_key":
            raise _name_taken(technology.name) from exc
        raise


def list_assessments(
    *, session: Session, technology: Technology, paging: PageParams
) -> Page[TechnologyAssessment]:
    """A page of a technology's risk assessments, newest first, and how many there are."""
    return crud.history(
        session,
        TechnologyAssessment,
        TechnologyAssessment.technology_id == technology.id,
        TechnologyAssessment.assessed_on,
        paging,
    )


def assess(
    *, session: Session, reach: Reach, caller: Principal, technology: Technology, data: AssessmentCreate
) -> TechnologyAssessment:
    """Record a risk assessment of a technology and the decision, signed by the caller (a coordinator may
    name another). Errors as for `record_check`, on `assessed_on` and `assessed_by_id`."""
    _not_future(data.assessed_on, "assessed_on")
    signer = reach.signer(session, data.assessed_by_id, data.assessed_on, "assessed_by_id")
    row = TechnologyAssessment.model_validate(
        data, update={"technology_id": technology.id, "assessed_by_id": signer}
    )
    audit.commit_recorded(
        session,
        row,
        actor=caller,
        action="technology_assessment.create",
        changes={
            "technology_id": str(technology.id),
            "assessed_on": data.assessed_on.isoformat(),
            "decision": data.decision.value,
        },
    )
    return row
