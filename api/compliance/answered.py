"""The organisation report's load, smaller than a group's (issue 19): statuses need outcomes only, so

- the participants' consents come answered by the database, one row per participant with what the group
  rules ask of them on `as_of` (api/compliance/consent_answers.py), not every consent as a row;
- the members statement names a member of staff by id, and the groups' staff come once each in a statement
  of their own, instead of ten staff columns on every membership row (null on every participant's).

`answered_queries` gives the statements (run by `loading._load`, which sees `_Queries.staff` set) and
`members_of` decodes their rows. A snapshot loaded so answers `engine.verdicts`, not `evaluate`: a refused
consent's evidence names the consent (`rules.base.refused_consent` refuses to word it without them).
bench/README.md ("Branch `perf-org2`") has the figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import ColumnElement, Select
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from api.compliance.consent_answers import NONE_HELD, QUESTIONS, Answers
from api.compliance.decoding import _staff_facts
from api.compliance.queries import (
    _ACTIVE,
    _AS_OF,
    _AS_OF_END,
    _GROUP_STAFF_COLUMNS,
    CONSENT,
    GROUP,
    MEMBERSHIP,
    PARTICIPANT,
    STAFF,
    _current_on,
    _Queries,
    _queries,
)
from api.compliance.snapshot import DeclarationFacts, MemberFacts, ParticipantFacts, StaffFacts


class _Covers(ColumnElement[bool]):
    """Whether a consent's purposes (a JSON array of text) hold `purpose`: `purpose in ConsentFact.purposes`
    as the database can ask it."""

    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [
        ("purposes", InternalTraversal.dp_clauseelement),
        ("purpose", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, purposes: ColumnElement[Any], purpose: str) -> None:
        self.purposes = purposes
        self.purpose = sa.literal(purpose, sa.String)


@compiles(_Covers, "sqlite")
def _covers_on_sqlite(element: _Covers, compiler: SQLCompiler, **kw: Any) -> str:
    purposes, purpose = compiler.process(element.purposes, **kw), compiler.process(element.purpose, **kw)
    # Both parts are compiled SQL (a column, a bound parameter), never a value written in.
    return f"EXISTS (SELECT 1 FROM json_each({purposes}) WHERE json_each.value = {purpose})"  # noqa: S608


@compiles(_Covers, "postgresql")
def _covers_on_postgresql(element: _Covers, compiler: SQLCompiler, **kw: Any) -> str:
    purposes, purpose = compiler.process(element.purposes, **kw), compiler.process(element.purpose, **kw)
    return f"(CAST({purposes} AS JSONB) ? {purpose})"


def _answers(participant_ids: Select[Any]) -> Select[Any]:
    """A row per participant of `participant_ids` with a consent in force on `as_of` (and recorded by then)
    of a kind the rules ask about: their id, then the two answers of each of `QUESTIONS` (`Answers`)."""
    c = CONSENT.c
    one: ColumnElement[int] = sa.literal_column("1")
    answers: list[ColumnElement[Any]] = []
    for kind, purpose in QUESTIONS:
        asked = c.kind == kind if purpose is None else sa.and_(c.kind == kind, _Covers(c.purposes, purpose))
        answers.append(sa.func.max(sa.case((sa.and_(asked, c.given_by != "participant"), one))))
        answers.append(sa.func.max(sa.case((sa.and_(asked, c.given_by == "participant"), c.given_on))))
    return (
        sa.select(c.participant_id, *answers)
        .where(
            c.participant_id.in_(participant_ids),
            c.kind.in_(tuple(dict.fromkeys(kind for kind, _ in QUESTIONS))),
            c.created_at < _AS_OF_END,
            # In force on `as_of` (`consents.logic.is_in_force`).
            c.given_on <= _AS_OF,
            sa.or_(c.withdrawn_on.is_(None), c.withdrawn_on > _AS_OF),
            sa.or_(c.expires_on.is_(None), c.expires_on > _AS_OF),
        )
        .group_by(c.participant_id)
    )


def answered_queries(in_groups: Callable[[sa.Column[Any]], ColumnElement[bool]]) -> _Queries:
    """`queries._queries` for the groups `in_groups` names, with the consents answered, the members
    without staff columns and the staff on their own (`_Queries.staff`)."""
    members_here = sa.and_(in_groups(MEMBERSHIP.c.group_id), _current_on(MEMBERSHIP, _AS_OF))
    m = MEMBERSHIP.c
    participant_ids = sa.select(m.participant_id).where(members_here, m.participant_id.is_not(None))
    staff_ids = sa.select(m.staff_id).where(members_here, m.staff_id.is_not(None))
    p = PARTICIPANT.c
    members = (
        sa.select(
            m.group_id,
            m.participant_id,
            m.role,
            m.started_on,
            m.ended_on,
            m.staff_id,
            p.full_name,
            p.date_of_birth,
            p.joined_on,
            p.left_on,
        )
        .select_from(MEMBERSHIP.outerjoin(PARTICIPANT, p.id == m.participant_id))
        .where(members_here)
    )
    staff = sa.select(*_GROUP_STAFF_COLUMNS).where(STAFF.c.id.in_(staff_ids))
    return replace(_queries(in_groups), consents=_answers(participant_ids), members=members, staff=staff)


# Every group active on `as_of`: the organisation report of a caller who reaches every group, its commonest
# form. Built once, so that `fetch` writes its SQL once (`reuse`).
EVERY_ACTIVE = answered_queries(lambda column: column.in_(sa.select(GROUP.c.id).where(_ACTIVE)))


def members_of(
    member_rows: Iterable[Sequence[Any]],
    answer_rows: Iterable[Sequence[Any]],
    staff_rows: Iterable[Sequence[Any]],
    declared: dict[Any, tuple[DeclarationFacts, ...]],
    days: dict[Any, Any],
) -> dict[Any, list[MemberFacts]]:
    """Each group's members (keyed by the group's raw id) from the rows of `answered_queries`' members,
    consents and staff statements; `declared`: the staff's declarations by raw id; `days`: the load's
    decoder of days (`decoding._Days`)."""
    answers: dict[Any, Answers] = {}
    for r in answer_rows:
        found = tuple(r[1:])
        # SQLite gives the latest days as text; most participants gave none themselves.
        if found[1::2].count(None) != len(QUESTIONS):
            found = tuple(days[v] if i % 2 else v for i, v in enumerate(found))
        answers[r[0]] = found
    staff: dict[Any, StaffFacts] = {r[0]: _staff_facts(r, 0, declared.get(r[0], ())) for r in staff_rows}
    new = tuple.__new__
    members: defaultdict[Any, list[MemberFacts]] = defaultdict(list)
    for r in member_rows:
        person = participant = None
        if r[5] is not None:
            person = staff.get(r[5])
            if person is None:
                # Gone between the two statements (PostgreSQL reads each in a snapshot of its own).
                continue
        else:
            # The id in SQLite's form on both databases, as in `loading._load`.
            pid, name, born, joined, left = r[1], r[6], days[r[7]], days[r[8]], days[r[9]]
            held = answers.get(pid, NONE_HELD)
            participant = new(ParticipantFacts, (pid.replace("-", ""), name, born, joined, left, (), held))
        members[r[0]].append(new(MemberFacts, (r[2], days[r[3]], days[r[4]], person, participant)))
    return members
