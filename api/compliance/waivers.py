"""Waivers: a coordinator's recorded decision that a group rule does not apply to a group until a day, with
the reason; granted and revoked, never deleted. Each change re-evaluates the group (the compliance watch)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import clock, crud
from api.audit import service as audit
from api.auth.principal import Principal
from api.auth.reach import Reach
from api.common import Page, PageParams
from api.compliance import watch
from api.compliance.models import Waiver, WaiverCreate
from api.compliance.queries import GROUP
from api.compliance.rules import GROUP_RULE_IDS
from api.db import utcnow
from api.errors import Conflict, Unprocessable


def _announce(session: Session, group_id: uuid.UUID) -> None:
    watch.after_write(session, [group_id])


def get_waiver(*, session: Session, waiver_id: uuid.UUID) -> Waiver:
    """One waiver, or 404."""
    return crud.get_or_404(session, Waiver, waiver_id, "waiver")


def list_waivers(
    *,
    session: Session,
    reach: Reach,
    paging: PageParams,
    group_id: uuid.UUID | None = None,
    rule_id: str | None = None,
    active: bool | None = None,
) -> Page[Waiver]:
    """A filtered page of waivers, newest first (staff: only their groups')."""
    query = crud.where_equal(
        select(Waiver).where(reach.waivers(Waiver.group_id)),
        (Waiver.group_id, group_id),
        (Waiver.rule_id, rule_id),
    )
    today = clock.today()
    is_active = sa.and_(col(Waiver.revoked_at).is_(None), col(Waiver.expires_on) > today)
    if active is True:
        query = query.where(is_active)
    elif active is False:
        query = query.where(sa.not_(is_active))
    query = query.order_by(col(Waiver.created_at).desc(), col(Waiver.id))
    return crud.paged(session, query, paging)


def create_waiver(*, session: Session, caller: Principal, data: WaiverCreate) -> Waiver:
    """Waive one group rule for one group until `expires_on`."""
    if data.rule_id not in GROUP_RULE_IDS:
        raise Unprocessable.field("rule_id", f"{data.rule_id!r} is not a group rule id")
    if session.execute(sa.select(GROUP.c.id).where(GROUP.c.id == data.group_id)).first() is None:
        raise Unprocessable.field("group_id", f"No group with id {data.group_id}")
    if data.expires_on <= clock.today():
        raise Unprocessable.field("expires_on", f"expires_on ({data.expires_on}) must be after today")
    clash = session.exec(
        select(Waiver).where(
            Waiver.group_id == data.group_id,
            Waiver.rule_id == data.rule_id,
            col(Waiver.revoked_at).is_(None),
            col(Waiver.expires_on) > clock.today(),
        )
    ).first()
    if clash is not None:
        raise Conflict(
            f"Waiver {clash.id} already waives {data.rule_id} for this group until {clash.expires_on}",
            extra={"field": "rule_id"},
        )
    waiver = Waiver.model_validate(
        data, update={"granted_by_id": caller.id, "granted_by_label": caller.label}
    )
    waiver = crud.save(session, waiver, actor=caller, action="compliance_waiver.create")
    _announce(session, waiver.group_id)
    return waiver


def revoke_waiver(*, session: Session, caller: Principal, waiver: Waiver) -> Waiver:
    """End a waiver today; its rule counts against the group's status again."""
    if waiver.revoked_at is not None:
        raise Conflict(f"Waiver {waiver.id} was already revoked on {clock.day_of(waiver.revoked_at)}")
    if waiver.expires_on <= clock.today():
        raise Conflict(f"Waiver {waiver.id} already expired on {waiver.expires_on}")
    before = audit.snapshot(waiver)
    waiver.revoked_at = utcnow()
    waiver.revoked_by_label = caller.label
    waiver = crud.save(session, waiver, actor=caller, action="compliance_waiver.revoke", before=before)
    _announce(session, waiver.group_id)
    return waiver
