"""The staff snapshots the staff rules read: each member of staff's facts, the groups they are a member of on
`as_of` and their declarations, in three statements whatever the number of staff."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from api import clock
from api.compliance import fetch
from api.compliance.decoding import _declarations_by_staff, _staff_facts
from api.compliance.queries import (
    _AS_OF,
    _STAFF_COLUMNS,
    DECLARATION,
    GROUP,
    MEMBERSHIP,
    STAFF,
    _current_on,
    _declarations,
    _plain,
)
from api.compliance.snapshot import GroupMembershipRef, PolicyFacts, StaffSnapshot, Thresholds


def _statements(where: ColumnElement[bool]) -> tuple[Select[Any], Select[Any], Select[Any]]:
    """The staff `where` names (`_STAFF_COLUMNS`, by name), their memberships current on `as_of` with the
    group's name (by group name), and their declarations (`queries._declarations`), as the driver reads them
    (`fetch`): ids and days raw, the role as its text."""
    staff_ids = sa.select(STAFF.c.id).where(where)
    m = MEMBERSHIP.c
    return (
        sa.select(*_STAFF_COLUMNS).where(where).order_by(STAFF.c.full_name, STAFF.c.id),
        sa.select(
            _plain(m.staff_id),
            _plain(m.group_id),
            GROUP.c.name,
            _plain(m.role),
            _plain(m.started_on),
            _plain(m.ended_on),
        )
        .select_from(MEMBERSHIP.join(GROUP, GROUP.c.id == m.group_id))
        .where(m.staff_id.in_(staff_ids), _current_on(MEMBERSHIP, _AS_OF))
        .order_by(GROUP.c.name, GROUP.c.id, m.id),
        _declarations(DECLARATION.c.staff_id.in_(staff_ids)),
    )


# Every member of staff's: the organisation's own findings (STAFF_RULES across all staff). Built once, so that
# `fetch` writes their SQL once.
_EVERY_STAFF = _statements(sa.true())


def staff_snapshots(
    session: Session,
    as_of: date,
    thresholds: Thresholds,
    where: ColumnElement[bool] | None,
    policy: PolicyFacts | None = None,
) -> list[StaffSnapshot]:
    """A snapshot of each member of staff `where` names (None: every one), by name, with the groups they are
    a member of on `as_of` (by group name) and their declarations made and recorded by then: three
    statements, sent together (`fetch`)."""
    conn = session.connection()
    rd = fetch.reader(conn)
    params = {"as_of": as_of, "as_of_end": clock.start_of(as_of + timedelta(days=1))}
    statements = _EVERY_STAFF if where is None else _statements(where)
    rows, membership_rows, declaration_rows = fetch.fetch_all(conn, statements, params, reuse=where is None)
    group_ids: dict[Any, uuid.UUID] = {}  # a group's raw id -> its UUID, made once a group
    refs: dict[Any, list[GroupMembershipRef]] = defaultdict(list)
    for staff_id, raw_group, name, role, started_on, ended_on in membership_rows:
        group_id = group_ids.get(raw_group)
        if group_id is None:
            group_id = group_ids[raw_group] = rd.uuid(raw_group)
        ended = rd.day(ended_on) if ended_on is not None else None
        refs[staff_id].append(GroupMembershipRef(group_id, name, role, rd.day(started_on), ended))
    declared = _declarations_by_staff(declaration_rows, rd.uuid, rd.day)
    return [
        StaffSnapshot(
            as_of, thresholds, _staff_facts(r, 0, declared.get(r[0], ())), tuple(refs.get(r[0], ())), policy
        )
        for r in rows
    ]
