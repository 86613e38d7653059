"""Record and list staff declarations of personal social media conduct."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from api import clock, crud
from api.auth.principal import Principal
from api.auth.reach import Reach
from api.declarations.models import DeclarationCreate, StaffDeclaration
from api.errors import Forbidden, NotFound, Unprocessable
from api.policy.versions import PolicyVersion
from api.staff.models import Staff


def _staff_in_reach(session: Session, reach: Reach, staff_id: uuid.UUID) -> Staff:
    # A member of staff's declarations are theirs: out of reach answers as an unknown id.
    staff = session.get(Staff, staff_id)
    if staff is None or not reach.holds(session, reach.staff_reports, staff_id):
        raise NotFound(f"No staff member with id {staff_id}")
    return staff


def list_(*, session: Session, reach: Reach, staff_id: uuid.UUID) -> list[StaffDeclaration]:
    """Every declaration of one member of staff, newest first (staff: only their own; 404 otherwise)."""
    _staff_in_reach(session, reach, staff_id)
    return list(
        session.exec(
            select(StaffDeclaration)
            .where(StaffDeclaration.staff_id == staff_id)
            .order_by(col(StaffDeclaration.declared_on).desc(), col(StaffDeclaration.created_at).desc())
        ).all()
    )


def create(
    *, session: Session, reach: Reach, actor: Principal, staff_id: uuid.UUID, data: DeclarationCreate
) -> StaffDeclaration:
    """Record a declaration for the latest published version of the policy.

    Errors: 404 for a member of staff out of reach; 403 when a member of staff declares for someone else
    (a coordinator may record a declaration made on paper); 422 `policy_version` for any version but the
    latest published, 422 `declared_on` in the future or before that version was published, or after the
    person left."""
    staff = _staff_in_reach(session, reach, staff_id)
    if not reach.signs_for(staff_id):
        raise Forbidden("You record your own declaration; a coordinator may record one for another")
    today = clock.today()
    latest = session.exec(select(PolicyVersion).order_by(col(PolicyVersion.number).desc())).first()
    if latest is None or data.policy_version != latest.number:
        current = latest.number if latest is not None else None
        raise Unprocessable.field(
            "policy_version", f"Declarations are made for the latest version of the policy ({current})"
        )
    on = data.declared_on or today
    if on > today:
        raise Unprocessable.field("declared_on", f"declared_on ({on}) is in the future")
    if on < latest.published_on:
        raise Unprocessable.field(
            "declared_on", f"declared_on ({on}) is before version {latest.number} was published"
        )
    if on < staff.started_on or (staff.left_on is not None and on >= staff.left_on):
        raise Unprocessable.field("declared_on", f"{staff.full_name} was not current staff on {on}")
    row = StaffDeclaration.model_validate(
        data.model_dump(exclude={"declared_on", "policy_version"}),
        update={
            "staff_id": staff_id,
            "policy_version_id": latest.id,
            "policy_version": latest.number,
            "declared_on": on,
            "recorded_by_label": actor.label,
        },
    )
    return crud.save(session, row, actor=actor, action="staff_declaration.create")
