"""Record and list staff declarations of personal social media conduct."""

from __future__ import annotations

import uuid

from sqlmodel import Session, select

from api import clock, crud
from api.auth.principal import Principal
from api.auth.reach import Reach, Record
from api.common import Page, PageParams
from api.declarations.models import (
    DeclarationCreate,
    DeclarationPublic,
    StaffDeclaration,
)
from api.errors import Forbidden, NotFound, Unprocessable
from api.policy import version_service
from api.policy.versions import PolicyVersion
from api.staff.models import Staff


def _staff_in_reach(session: Session, reach: Reach, staff_id: uuid.UUID) -> Staff:
    # A member of staff's declarations are theirs: out of reach answers as an unknown id.
    staff = session.get(Staff, staff_id)
    if staff is None or not reach.holds(session, reach.staff_reports, staff_id):
        raise NotFound(f"No staff member with id {staff_id}")
    return staff


_ANSWERS = (
    "read_policy",
    "profile_private",
    "no_young_friends",
    "no_personal_messages",
    "no_personal_follows",
)


def list_(
    *, session: Session, reach: Reach, staff_id: uuid.UUID, paging: PageParams
) -> Page[DeclarationPublic]:
    """Every declaration of one member of staff, newest first. Staff read only their own (another's answers
    as an unknown id: 404); a caller who reaches declarations' status only (a trustee) gets each with its
    answers null; the coordinator reads everything."""
    if not reach.reads(Record.declaration):
        raise NotFound(f"No staff member with id {staff_id}")
    _staff_in_reach(session, reach, staff_id)
    answers = reach.reads_declaration_answers(staff_id)
    found = crud.history(
        session, StaffDeclaration, StaffDeclaration.staff_id == staff_id, StaffDeclaration.declared_on, paging
    )
    out = [DeclarationPublic.model_validate(r) for r in found.items]
    return crud.recast(found, out if answers else [d.model_copy(update=dict.fromkeys(_ANSWERS)) for d in out])


def create(
    *, session: Session, reach: Reach, caller: Principal, staff_id: uuid.UUID, data: DeclarationCreate
) -> StaffDeclaration:
    """Record a declaration for the version of the policy in force today or for one published to come into
    force later (made early, it counts from that version's effective day; `api.compliance.declarations`).

    Declarations are required of staff (the policy: "More Music staff must not..."), so they are made by a
    member of staff for themselves; a trustee whose account is linked to a staff record declares as that
    member of staff; a coordinator may record a declaration made on paper for anyone.

    Errors: 404 for a member of staff out of reach; 403 naming why for an account not linked to any staff
    record (it has no declaration to make) and for a declaration for someone else; 422 `policy_version` for a
    version older than the one in force or not published, 422 `declared_on` in the future or before that
    version was published, or after the person left."""
    staff = _staff_in_reach(session, reach, staff_id)
    if not reach.declares_for(staff_id):
        if caller.staff_id is None:
            raise Forbidden(
                'Declarations are made by members of staff for themselves (the policy: "More Music staff '
                'must..."), and this account is linked to no staff record, so it has no declaration to make. '
                "A coordinator can link it to your staff record, or record a declaration made on paper."
            )
        raise Forbidden("You record your own declaration; a coordinator may record one for another")
    today = clock.today()
    current = version_service.in_force(session=session, on=today)
    chosen = session.exec(select(PolicyVersion).where(PolicyVersion.number == data.policy_version)).first()
    if chosen is None or chosen.withdrawn_on is not None or current is None or chosen.number < current.number:
        in_force = current.number if current is not None else None
        raise Unprocessable.field(
            "policy_version",
            f"Declarations are made for the version of the policy in force ({in_force}) or a later one "
            "already published",
        )
    latest = chosen
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
            "recorded_by_label": caller.label,
        },
    )
    return crud.save(session, row, actor=caller, action="staff_declaration.create")
