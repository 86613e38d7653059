"""The staff snapshots the staff rules read: each member of staff's facts, the groups they are a member of on
`as_of` and their declarations, in three statements whatever the number of staff."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from api import clock
from api.compliance.decoding import _declarations_by_staff, _staff_facts
from api.compliance.queries import (
    _STAFF_COLUMNS,
    DECLARATION,
    GROUP,
    MEMBERSHIP,
    STAFF,
    _current_on,
    _day,
    _declarations,
    _uuid,
)
from api.compliance.snapshot import GroupMembershipRef, PolicyFacts, StaffSnapshot, Thresholds


def staff_snapshots(
    session: Session,
    as_of: date,
    thresholds: Thresholds,
    where: ColumnElement[bool],
    policy: PolicyFacts | None = None,
) -> list[StaffSnapshot]:
    conn = session.connection()
    rows = conn.execute(sa.select(*_STAFF_COLUMNS).where(where).order_by(STAFF.c.full_name, STAFF.c.id)).all()
    refs: dict[uuid.UUID, list[GroupMembershipRef]] = defaultdict(list)
    staff_ids = sa.select(STAFF.c.id).where(where)
    for r in conn.execute(
        sa.select(
            MEMBERSHIP.c.staff_id,
            MEMBERSHIP.c.group_id,
            GROUP.c.name,
            MEMBERSHIP.c.role,
            MEMBERSHIP.c.started_on,
            MEMBERSHIP.c.ended_on,
        )
        .select_from(MEMBERSHIP.join(GROUP, GROUP.c.id == MEMBERSHIP.c.group_id))
        .where(MEMBERSHIP.c.staff_id.in_(staff_ids), _current_on(MEMBERSHIP, as_of))
        .order_by(GROUP.c.name, GROUP.c.id, MEMBERSHIP.c.id)
    ).all():
        refs[r[0]].append(GroupMembershipRef(r[1], r[2], str(r[3]), r[4], r[5]))
    declared = _declarations_by_staff(
        conn.execute(
            _declarations(DECLARATION.c.staff_id.in_(staff_ids)),
            {"as_of": as_of, "as_of_end": clock.start_of(as_of + timedelta(days=1))},
        ).all(),
        _uuid,
        _day,
    )
    return [
        StaffSnapshot(as_of, thresholds, facts, tuple(refs.get(facts.id, ())), policy)
        for facts in (_staff_facts(r, 0, declared.get(_uuid(r[0]), ())) for r in rows)
    ]
