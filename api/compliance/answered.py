"""The organisation report's load, smaller than a group's (issue 19): statuses need outcomes only, so

- the participants' consents come as the few columns of those in force on `as_of` that the group rules
  ask about, folded in one pass into what the rules ask of each participant
  (api/compliance/consent_answers.py), not every consent decoded into a fact;
- the members statement names a member of staff by id, and the groups' staff come once each in a statement
  of their own, instead of ten staff columns on every membership row (null on every participant's).

`answered_queries` gives the statements (run by `loading._load`, which sees `_Queries.staff` set) and
`members_of` decodes their rows. A snapshot loaded so answers `engine.verdicts`, not `evaluate`: a refused
consent's evidence names the consent (`rules.base.refused_consent` refuses to word it without them).
bench/README.md ("Branch `perf-org2`", "Session 8") has the figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select

from api.compliance.consent_answers import NONE_HELD, QUESTIONS, Answers
from api.compliance.decoding import _Purposes, _staff_facts
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


def _in_force_consents(participant_ids: Select[Any] | None) -> Select[Any]:
    """The consents of participants of `participant_ids` (None: of every participant) in force on `as_of`
    (and recorded by then) of a kind the rules ask about: participant id, kind, given by, given on,
    purposes (JSON text). Unordered: `_answered` folds them with max and any, which no order moves. The
    database only filters: answering in SQL (six CASE aggregates a row, the purposes searched with
    `json_each` or a JSONB cast) cost more than reading the rows and folding them (bench/README.md,
    "Session 8")."""
    c = CONSENT.c
    of_whom = [c.participant_id.in_(participant_ids)] if participant_ids is not None else []
    return sa.select(c.participant_id, c.kind, c.given_by, c.given_on, c.purposes).where(
        *of_whom,
        c.kind.in_(tuple(dict.fromkeys(kind for kind, _ in QUESTIONS))),
        c.created_at < _AS_OF_END,
        # In force on `as_of` (`consents.logic.is_in_force`).
        c.given_on <= _AS_OF,
        sa.or_(c.withdrawn_on.is_(None), c.withdrawn_on > _AS_OF),
        sa.or_(c.expires_on.is_(None), c.expires_on > _AS_OF),
    )


class _Slots(dict[tuple[str, str | None], tuple[int, ...]]):
    """Where in `Answers` a consent of a kind and purposes (JSON text) answers: the index of each question
    it bears on (the "given by another" answer; the participant's latest day is the next). A handful of
    distinct keys, each worked out once."""

    def __init__(self) -> None:
        super().__init__()
        self._purposes = _Purposes()

    def __missing__(self, key: tuple[str, str | None]) -> tuple[int, ...]:
        kind, raw = key
        value = self[key] = tuple(
            2 * i
            for i, (asked, purpose) in enumerate(QUESTIONS)
            if asked == kind and (purpose is None or purpose in self._purposes[raw])
        )
        return value


def _answered(rows: Iterable[Sequence[Any]], days: dict[Any, Any]) -> dict[Any, Answers]:
    """Each participant's `Answers` (by raw id) from `_in_force_consents`' rows: what
    `consent_answers.answers_of` works out from the consents, folded in one pass; `days`: the load's
    decoder of days."""
    slots, width = _Slots(), 2 * len(QUESTIONS)
    found: dict[Any, list[Any]] = {}
    for pid, kind, by, given_on, raw_purposes in rows:
        answers = found.get(pid)
        if answers is None:
            answers = found[pid] = [None] * width
        if by != "participant":
            for at in slots[kind, raw_purposes]:
                answers[at] = 1
        else:
            day = days[given_on]
            for at in slots[kind, raw_purposes]:
                latest = answers[at + 1]
                if latest is None or day > latest:
                    answers[at + 1] = day
    return {pid: tuple(answers) for pid, answers in found.items()}


def answered_queries(
    in_groups: Callable[[sa.Column[Any]], ColumnElement[bool]], *, every_participant: bool = False
) -> _Queries:
    """`queries._queries` for the groups `in_groups` names, with the consents in force to be answered
    (`members_of`), the members without staff columns and the staff on their own (`_Queries.staff`).

    With `every_participant`, the consents statement reads every participant's, not only the groups'
    current members': for a load of most of the organisation's groups. Asking the database to keep the
    members' alone (IN a subquery of the memberships) cost SQLite more than reading every row (a b-tree
    probe a consent), and `members_of` folds only what it is handed and keeps only the members'."""
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
    return replace(
        _queries(in_groups),
        consents=_in_force_consents(None if every_participant else participant_ids),
        members=members,
        staff=staff,
    )


# Every group active on `as_of`: the organisation report of a caller who reaches every group, its commonest
# form. Built once, so that `fetch` writes its SQL once (`reuse`).
EVERY_ACTIVE = answered_queries(
    lambda column: column.in_(sa.select(GROUP.c.id).where(_ACTIVE)), every_participant=True
)


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
    answers = _answered(answer_rows, days)
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
