"""The organisation report's load, smaller than a group's (issue 19): statuses need outcomes only, so

- the participants' consents come as the few columns of those in force on `as_of` that the group rules
  ask about, folded in one pass into what the rules ask of each participant
  (api/compliance/consent_answers.py), not every consent decoded into a fact;
- the members statement names a member of staff by id, and the groups' staff come once each in a statement
  of their own, instead of ten staff columns on every membership row (null on every participant's);
- both hand Python as few new objects as the rules need: kinds and roles as small numbers (objects the
  driver makes once), a day or purposes only where a question reads them, a participant's name and joining
  day not at all (`NOT_LOADED`).

`answered_queries` gives the statements (run by `loading._load`, which sees `_Queries.staff` set),
`people_of` decodes their rows and `with_staff` seats the staff. A snapshot loaded so answers
`engine.verdicts`, not `evaluate`: a refused consent's evidence names the consent
(`rules.base.refused_consent` refuses to word it without them).
bench/README.md ("Branch `perf-org2`", "Session 8") has the figures.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NoReturn

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
from api.consents.models import GivenBy
from api.memberships.models import MemberRole

# The kinds the rules ask about, numbered by the consents statement in this order, and those some question
# asks of for a purpose: only their consents' purposes are read.
_KINDS: tuple[str, ...] = tuple(dict.fromkeys(kind for kind, _ in QUESTIONS))
_WITH_PURPOSES: tuple[str, ...] = tuple(dict.fromkeys(kind for kind, purpose in QUESTIONS if purpose))


def _in_force_consents(participant_ids: Select[Any] | None) -> Select[Any]:
    """The consents of participants of `participant_ids` (None: of every participant) in force on `as_of`
    (and recorded by then) of a kind the rules ask about, as few Python objects as the fold needs: the
    participant's id, the kind's index in `_KINDS`, the day given where the participant gave it themself
    (null: given by someone else), the purposes (JSON text) of a kind asked about for a purpose (else null).
    Small integers and nulls are objects the driver makes once, where a text is a new one a row
    (bench/README.md, "Session 10"). Unordered: `fold_answers` folds them with max and any, which no order
    moves. The database only filters and numbers: answering in SQL (six CASE aggregates a row, the purposes
    searched with `json_each` or a JSONB cast) cost more than reading the rows and folding them
    (bench/README.md, "Session 8")."""
    c = CONSENT.c
    of_whom = [c.participant_id.in_(participant_ids)] if participant_ids is not None else []
    return sa.select(
        c.participant_id,
        sa.case({kind: i for i, kind in enumerate(_KINDS)}, value=c.kind),
        sa.case((c.given_by == GivenBy.participant.value, c.given_on)),
        sa.case((c.kind.in_(_WITH_PURPOSES), c.purposes)),
    ).where(
        *of_whom,
        c.kind.in_(_KINDS),
        c.created_at < _AS_OF_END,
        # In force on `as_of` (`consents.logic.is_in_force`).
        c.given_on <= _AS_OF,
        sa.or_(c.withdrawn_on.is_(None), c.withdrawn_on > _AS_OF),
        sa.or_(c.expires_on.is_(None), c.expires_on > _AS_OF),
    )


class _Bearing(dict[str | None, tuple[int, tuple[int, ...]]]):
    """What a consent of one kind bears on, by its purposes (JSON text; None: none read): the questions it
    answers (their indices in `QUESTIONS`), as a bitmask (bit i: `QUESTIONS[i]`) and as a tuple. A handful
    of distinct purposes, each worked out once; one map a kind, so that a row's lookup makes no key."""

    def __init__(self, kind: str, purposes: _Purposes) -> None:
        super().__init__()
        self._kind, self._purposes = kind, purposes

    def __missing__(self, raw: str | None) -> tuple[int, tuple[int, ...]]:
        asked = [
            i
            for i, (kind, purpose) in enumerate(QUESTIONS)
            if kind == self._kind and (purpose is None or purpose in self._purposes[raw])
        ]
        value = self[raw] = (sum(1 << i for i in asked), tuple(asked))
        return value


def _answers_by_others(mask: int) -> Answers:
    """The answers of a participant whose consents in force were all given by someone else, for the
    questions in `mask` (`_Bearing`)."""
    return tuple(
        None if half else (1 if mask >> i & 1 else None) for i in range(len(QUESTIONS)) for half in (0, 1)
    )


# Every answer of consents given by others alone, by mask (0: `NONE_HELD` itself): most participants'
# answers are one of these.
_BY_OTHERS: tuple[Answers, ...] = (
    NONE_HELD,
    *(_answers_by_others(mask) for mask in range(1, 1 << len(QUESTIONS))),
)


def fold_answers(rows: Iterable[Sequence[Any]], days: dict[Any, Any]) -> dict[Any, Answers]:
    """Each participant's `Answers` (by raw id) from `_in_force_consents`' rows: what
    `consent_answers.answers_of` works out from the consents, folded in one pass; `days`: the load's
    decoder of days.

    Equal answers are one shared tuple: a report holds tens of thousands of participants and few distinct
    answers, and a tuple per participant (a list as well, while folding) is a container the collector
    walks. A consent given by another only sets a bit; a list is folded only for a participant who gave
    one themself, whose latest days make their answers."""
    purposes = _Purposes()
    bearing = tuple(_Bearing(kind, purposes) for kind in _KINDS)
    # Per participant: the questions a consent given by another answers (a bitmask), and the latest day
    # they gave one themself for each question (only for those who gave one).
    by_others: dict[Any, int] = {}
    latest: dict[Any, list[Any]] = {}
    for pid, kind, own_day, raw_purposes in rows:
        mask, asked = bearing[kind][raw_purposes]
        if own_day is None:
            by_others[pid] = by_others.get(pid, 0) | mask
            continue
        days_of = latest.get(pid)
        if days_of is None:
            days_of = latest[pid] = [None] * len(QUESTIONS)
        day = days[own_day]
        for i in asked:
            held = days_of[i]
            if held is None or day > held:
                days_of[i] = day
    table = _BY_OTHERS
    found = {pid: table[mask] for pid, mask in by_others.items()}
    shared: dict[Answers, Answers] = {answers: answers for answers in table}
    for pid, days_of in latest.items():
        merged = list(table[by_others.get(pid, 0)])
        merged[1::2] = days_of
        answers = tuple(merged)
        found[pid] = shared.setdefault(answers, answers)
    return found


# Membership roles, numbered by the members statement in this order.
_ROLES: tuple[str, ...] = tuple(role.value for role in MemberRole)


class _NotLoaded:
    """A participant's name and joining day in the report's form (`people_of`): read by no rule for its
    outcome, only for evidence (`rules.base.participant_ref`, which gives a placeholder in
    `outcomes_only`) and for a roster's discrepancies (entries the report does not load), so not read
    from the database. Any use of it as a value raises: a rule that starts to read either makes the
    report's tests fail (tests/compliance/test_answered.py) rather than decide on a placeholder."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_LOADED"

    def _refuse(self, *_: object) -> NoReturn:
        raise TypeError("not loaded for the organisation report's outcomes (api/compliance/answered.py)")

    __str__ = __format__ = __bool__ = __hash__ = __len__ = __iter__ = _refuse
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = _refuse


NOT_LOADED: Any = _NotLoaded()


def answered_queries(
    in_groups: Callable[[sa.Column[Any]], ColumnElement[bool]], *, every_participant: bool = False
) -> _Queries:
    """`queries._queries` for the groups `in_groups` names, with the consents in force to be answered
    (`people_of`), the members without staff columns and the staff on their own (`_Queries.staff`).

    With `every_participant`, the consents statement reads every participant's, not only the groups'
    current members': for a load of most of the organisation's groups. Asking the database to keep the
    members' alone (IN a subquery of the memberships) cost SQLite more than reading every row (a b-tree
    probe a consent), and `people_of` folds only what it is handed and keeps only the members'."""
    members_here = sa.and_(in_groups(MEMBERSHIP.c.group_id), _current_on(MEMBERSHIP, _AS_OF))
    m = MEMBERSHIP.c
    participant_ids = sa.select(m.participant_id).where(members_here, m.participant_id.is_not(None))
    staff_ids = sa.select(m.staff_id).where(members_here, m.staff_id.is_not(None))
    p = PARTICIPANT.c
    members = (
        sa.select(
            m.group_id,
            m.participant_id,
            sa.case({role: i for i, role in enumerate(_ROLES)}, value=m.role),
            m.started_on,
            m.ended_on,
            m.staff_id,
            p.date_of_birth,
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


@functools.cache
def of_bound_groups(width: int) -> tuple[ColumnElement[bool], _Queries]:
    """Which groups are active on `as_of` among `width` ids bound as `group_0`.. (a power of two, the last id
    repeated to fill it: `bound`), and `answered_queries` for them: built once a width, so that `fetch`
    writes their SQL once (`reuse`)."""
    ids = [sa.bindparam(f"group_{i}", type_=GROUP.c.id.type) for i in range(width)]
    chosen = sa.and_(_ACTIVE, GROUP.c.id.in_(ids))
    chosen_ids = sa.select(GROUP.c.id).where(chosen)
    return chosen, answered_queries(lambda column: column.in_(chosen_ids))


def bound(group_ids: Sequence[Any]) -> tuple[int, dict[str, Any]]:
    """`of_bound_groups`' width for `group_ids` (at least one) and their parameters."""
    width = 1 << (len(group_ids) - 1).bit_length()
    return width, {f"group_{i}": group_ids[min(i, len(group_ids) - 1)] for i in range(width)}


# Every group active on `as_of`: the organisation report of a caller who reaches every group, its commonest
# form. Built once, so that `fetch` writes its SQL once (`reuse`).
EVERY_ACTIVE = answered_queries(
    lambda column: column.in_(sa.select(GROUP.c.id).where(_ACTIVE)), every_participant=True
)


@dataclass(frozen=True, slots=True)
class GroupPeople:
    """One group's members as the report's load decoded them, before its staff's own facts: kept across a
    write to the organisation's own tables (api/compliance/org_people.py), which those facts read.

    `members`: each membership in the members statement's order, a young person's `MemberFacts` whole and
    None where a member of staff stands; `staff_seats`: for each of those, its position in `members`, role
    (index in `_ROLES`), started and ended days and the member of staff's raw id."""

    members: tuple[MemberFacts | None, ...]
    staff_seats: tuple[tuple[int, int, Any, Any, Any], ...]


def people_of(
    member_rows: Iterable[Sequence[Any]], answers: Mapping[Any, Answers], days: dict[Any, Any]
) -> dict[Any, GroupPeople]:
    """Each group's `GroupPeople` (keyed by the group's raw id) from the rows of `answered_queries`' members
    statement and `fold_answers` of its consents statement's; `days`: the load's decoder of days
    (`decoding._Days`). Reads only memberships, participants and consents."""
    new = tuple.__new__
    members: defaultdict[Any, list[MemberFacts | None]] = defaultdict(list)
    seats: defaultdict[Any, list[tuple[int, int, Any, Any, Any]]] = defaultdict(list)
    roles = _ROLES
    # Unpacked once a row: cheaper than indexing it again for each column.
    for group, pid, role, started_on, ended_on, staff_id, born, left_on in member_rows:
        in_group = members[group]
        if staff_id is not None:
            seats[group].append((len(in_group), role, days[started_on], days[ended_on], staff_id))
            in_group.append(None)
            continue
        # The id in SQLite's form on both databases, as in `loading._load`.
        held = answers.get(pid, NONE_HELD)
        participant = new(
            ParticipantFacts,
            (pid.replace("-", ""), NOT_LOADED, days[born], NOT_LOADED, days[left_on], (), held),
        )
        in_group.append(new(MemberFacts, (roles[role], days[started_on], days[ended_on], None, participant)))
    return {g: GroupPeople(tuple(found), tuple(seats.get(g, ()))) for g, found in members.items()}


def with_staff(
    people: dict[Any, GroupPeople],
    staff_rows: Iterable[Sequence[Any]],
    declared: dict[Any, tuple[DeclarationFacts, ...]],
) -> dict[Any, list[MemberFacts]]:
    """Each group's members (keyed by the group's raw id): `people`'s, each member of staff's seat filled from
    the rows of `answered_queries`' staff statement; `declared`: the staff's declarations by raw id. A seat
    whose member of staff is not in the rows (gone between the statements: PostgreSQL reads each in a
    snapshot of its own) is left out."""
    staff: dict[Any, StaffFacts] = {r[0]: _staff_facts(r, 0, declared.get(r[0], ())) for r in staff_rows}
    new, roles = tuple.__new__, _ROLES
    members: dict[Any, list[MemberFacts]] = {}
    for group, found in people.items():
        in_group = list(found.members)
        for at, role, started_on, ended_on, staff_id in found.staff_seats:
            person = staff.get(staff_id)
            if person is not None:
                in_group[at] = new(MemberFacts, (roles[role], started_on, ended_on, person, None))
        members[group] = [m for m in in_group if m is not None]
    return members
