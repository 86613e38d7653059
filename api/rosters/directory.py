"""Rosters, the records' side: who the records say each person is. The directory an upload's entries are
matched against (everyone, indexed by the keys a platform shows: email, phone, handle), the group's
memberships in force, and the people entries and memberships name.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from api.auth.reach import Reach, Record
from api.groups.models import Group
from api.identities import normalise
from api.identities.models import PlatformIdentity
from api.memberships.models import Membership
from api.participants.models import Participant
from api.rosters.match import Directory, Person
from api.rosters.models import (
    MatchedBy,
    RosterEntry,
)
from api.staff.models import Staff

_S, _P = Staff.__table__.c, Participant.__table__.c  # type: ignore[attr-defined]
IDENTITY, _M = PlatformIdentity.__table__.c, Membership.__table__.c  # type: ignore[attr-defined]
_E = RosterEntry.__table__  # type: ignore[attr-defined]


def _staff_person(r: Sequence[Any]) -> Person:
    return Person("staff", r[0], r[1], r[2], r[3])


def _participant_person(r: Sequence[Any]) -> Person:
    return Person("participant", r[0], r[1], r[2], r[3], r[4])


_STAFF_COLUMNS = (_S.id, _S.full_name, _S.started_on, _S.left_on)


_PARTICIPANT_COLUMNS = (_P.id, _P.full_name, _P.joined_on, _P.left_on, _P.date_of_birth)


def _current_members(session: Session, group_id: uuid.UUID, today: date) -> list[Any]:
    return list(
        session.execute(
            sa.select(_M.id, _M.staff_id, _M.participant_id, _M.role).where(
                _M.group_id == group_id,
                _M.started_on <= today,
                sa.or_(_M.ended_on.is_(None), _M.ended_on > today),
            )
        ).all()
    )


def directory(session: Session, group: Group, today: date, reach: Reach | None = None) -> Directory:
    """Everyone in the records, indexed for one group's platform: five statements whatever the numbers.
    With `reach`, only the young people it reads: an upload must not tell its caller who is a child of the
    charity outside their reach (a list of guesses would otherwise be a directory lookup)."""
    staff = session.execute(sa.select(*_STAFF_COLUMNS, _S.email, _S.personal_email, _S.personal_phone)).all()
    child_query = sa.select(*_PARTICIPANT_COLUMNS, _P.personal_email, _P.personal_phone)
    if reach is not None and not reach.reads_every(Record.participant):
        child_query = child_query.where(reach.participants(_P.id))
    children = session.execute(child_query).all()
    members = _current_members(session, group.id, today)
    people = [_staff_person(r) for r in staff] + [_participant_person(r) for r in children]
    found = Directory(people, members=[m[1] or m[2] for m in members])
    for r in staff:
        found.add(MatchedBy.email, normalise.email_key(r[4]), r[0])
        if r[5]:
            found.add(MatchedBy.email, normalise.email_key(r[5]), r[0])
        if r[6]:
            found.add(MatchedBy.phone, normalise.phone_key(r[6]), r[0])
    for r in children:
        if r[5]:
            found.add(MatchedBy.email, normalise.email_key(r[5]), r[0])
        if r[6]:
            found.add(MatchedBy.phone, normalise.phone_key(r[6]), r[0])
    identities = session.execute(
        sa.select(IDENTITY.kind, IDENTITY.match_key, IDENTITY.staff_id, IDENTITY.participant_id).where(
            IDENTITY.ended_on.is_(None),
            # A member of staff's unverified claim matches nobody: it may be someone else's value.
            IDENTITY.verified_at.is_not(None),
            sa.or_(IDENTITY.platform.is_(None), IDENTITY.platform == group.platform.value),
        )
    ).all()
    by_kind = {"handle": MatchedBy.handle, "email": MatchedBy.email, "phone": MatchedBy.phone}
    for kind, key, staff_id, participant_id in identities:
        if normalise.usable(kind, key):  # a key stored under older rules may name nobody ("profile.php")
            found.add(by_kind[kind], key, staff_id or participant_id)
    return found


def _people(
    session: Session, staff_ids: Iterable[uuid.UUID], participant_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Person]:
    people: dict[uuid.UUID, Person] = {}
    staff_ids, participant_ids = set(staff_ids), set(participant_ids)
    if staff_ids:
        for r in session.execute(sa.select(*_STAFF_COLUMNS).where(_S.id.in_(staff_ids))):
            people[r[0]] = _staff_person(r)
    if participant_ids:
        for r in session.execute(sa.select(*_PARTICIPANT_COLUMNS).where(_P.id.in_(participant_ids))):
            people[r[0]] = _participant_person(r)
    return people
