"""Compliance loading's row decoders: each statement's rows (api/compliance/queries.py) into the frozen facts
the rules read, with the day and purpose decoders a load shares so each distinct value is decoded once."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import orjson

from api.compliance import fetch
from api.compliance.queries import _day, _day_or_none, _uuid
from api.compliance.snapshot import DeclarationFacts, GroupFacts, MemberFacts, RosterEntryFacts, StaffFacts
from api.rosters.match import Person


def _staff_facts(r: Sequence[Any], o: int = 0, declarations: tuple[DeclarationFacts, ...] = ()) -> StaffFacts:
    """A StaffFacts from `_STAFF_COLUMNS` (or `_GROUP_STAFF_COLUMNS`) starting at column `o` of a row, with
    their declarations where they were loaded."""
    return StaffFacts(
        _uuid(r[o]),
        r[o + 1],
        r[o + 2],
        _day(r[o + 3]),
        _day_or_none(r[o + 4]),
        bool(r[o + 5]),
        bool(r[o + 6]),
        _day_or_none(r[o + 7]),
        _day_or_none(r[o + 8]),
        None if r[o + 9] is None else bool(r[o + 9]),
        declarations,
    )


def _groups(rows: Iterable[Sequence[Any]], rd: fetch.Reader) -> list[tuple[Any, GroupFacts]]:
    """Each group row (`_GROUP_COLUMNS`) as its raw id (the key of its facts in `_Loaded`) and its facts."""
    return [
        (
            r[0],
            GroupFacts(
                id=rd.uuid(r[0]),
                name=r[1],
                platform=r[2],
                visibility=r[3],
                join_approval=r[4],
                started_on=rd.day(r[5]),
                min_age=r[6],
                max_age=r[7],
                shares_images=bool(r[8]),
                archived_on=r[9] and rd.day(r[9]),
                messages_seen_by_all=None if r[10] is None else bool(r[10]),
            ),
        )
        for r in rows
    ]


def _declarations_by_staff(
    rows: Iterable[Sequence[Any]], to_uuid: Callable[[Any], uuid.UUID], day: Callable[[Any], date]
) -> dict[Any, tuple[DeclarationFacts, ...]]:
    """Each person's declarations, oldest first, keyed by their id as the rows hold it."""
    found: dict[Any, list[DeclarationFacts]] = defaultdict(list)
    for r in rows:
        found[r[0]].append(
            DeclarationFacts(
                to_uuid(r[1]), day(r[2]), r[3], bool(r[4]), bool(r[5]), bool(r[6]), bool(r[7]), bool(r[8])
            )
        )
    return {k: tuple(v) for k, v in found.items()}


def _entry_facts(r: Sequence[Any], rd: fetch.Reader) -> RosterEntryFacts:
    """A RosterEntryFacts from a `_roster_entries` row. An unknown entry answered after `as_of` names nobody
    yet (its person came with the answer)."""
    match, resolution = r[5], r[6]
    person = None
    if match != "unknown" or resolution is not None:
        if r[7] is not None:
            person = Person("staff", rd.uuid(r[7]), r[8], rd.day(r[9]), r[10] and rd.day(r[10]))
        elif r[11] is not None:
            person = Person(
                "participant",
                rd.uuid(r[11]),
                r[12],
                rd.day(r[13]),
                r[14] and rd.day(r[14]),
                rd.day(r[15]),
            )
    return RosterEntryFacts(rd.uuid(r[1]), r[2], r[3] or "", r[4], match, resolution, person)


class _Purposes(dict[str | None, frozenset[str]]):
    """Consent purposes by their JSON text (None: none recorded): a handful of distinct values, each parsed
    once."""

    def __missing__(self, raw: str | None) -> frozenset[str]:
        value = self[raw] = frozenset(orjson.loads(raw) or ()) if raw is not None else frozenset()
        return value


class _Days(dict[Any, date | None]):
    """Days by the driver's value (ISO text from SQLite, a date from psycopg; None stays None), each decoded
    once: a report's tens of thousands of dated rows hold a few hundred distinct days, and a lookup costs
    less than decoding (or, on PostgreSQL, than calling the reader's identity function)."""

    def __init__(self, day: Callable[[Any], date]) -> None:
        super().__init__({None: None})
        self._day = day

    def __missing__(self, raw: Any) -> date:
        value = self[raw] = self._day(raw)
        return value


class PeopleChanged(Exception):
    """A group's memberships name someone its people kept do not hold: load the members afresh."""


def members_from_people(
    rows: Iterable[Sequence[Any]], people: tuple[MemberFacts, ...], rd: fetch.Reader
) -> tuple[MemberFacts, ...] | None:
    """The members of `_ONE_GROUP_MEMBERSHIPS`' rows, each person's own facts (details, consents,
    declarations: read from staff tables and young people's own only) taken from `people`, the group's
    members as an earlier load found them under the same organisation's and young people's facts versions
    (cache.py's `_people`); None if a row names someone `people` does not hold (a new member)."""
    participants = {m.participant.raw_id: m.participant for m in people if m.participant is not None}
    staff = {m.staff.id: m.staff for m in people if m.staff is not None}
    days = _Days(rd.day)
    new = tuple.__new__
    members = []
    for participant_id, staff_id, role, started_on, ended_on in rows:
        person = participant = None
        if staff_id is not None:
            person = staff.get(rd.uuid(staff_id))
            if person is None:
                return None
        else:
            # The id in SQLite's form on both databases, as the members statement's decoding keeps it.
            participant = participants.get(participant_id.replace("-", ""))
            if participant is None:
                return None
        members.append(new(MemberFacts, (role, days[started_on], days[ended_on], person, participant)))
    return tuple(members)
