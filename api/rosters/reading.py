"""Rosters, reading: a roster as the caller may see it (a young person out of their reach shown as nobody
in particular, or only the counts), and the states of its entries and of the group's memberships that the
discrepancies and the answers are judged on."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import clock
from api.auth.reach import Reach, Record
from api.groups.models import Group
from api.memberships.models import MemberRole
from api.participants.models import Participant
from api.rosters import match
from api.rosters.directory import _E, _current_members, _people
from api.rosters.match import EntryState, MemberState, Person
from api.rosters.models import (
    Discrepancy,
    EntryPublic,
    GroupRoster,
    Match,
    PersonRef,
    RosterCounts,
    RosterPublic,
)

HIDDEN_CHILD = "a young person outside your groups"


def load_states(
    session: Session, roster: GroupRoster
) -> tuple[list[Any], list[EntryState], list[MemberState], dict[uuid.UUID, Person]]:
    """The roster's entries (in row order, read-only rows with `RosterEntry`'s attributes: a list of
    thousands is read without building an ORM object for each) with what reconciliation and resolution made
    of each, the group's memberships in force today, and every person either names: four statements."""
    entries = list(session.execute(sa.select(_E).where(_E.c.roster_id == roster.id).order_by(_E.c.row)).all())
    members = _current_members(session, roster.group_id, clock.today())
    people = _people(
        session,
        [i for i in [*(e.staff_id for e in entries), *(m[1] for m in members)] if i is not None],
        [i for i in [*(e.participant_id for e in entries), *(m[2] for m in members)] if i is not None],
    )
    states = [
        EntryState(e.id, e.platform_role, e.match, people.get(e.staff_id or e.participant_id), e.resolution)
        for e in entries
    ]
    member_states = [MemberState(m[0], people[m[1] or m[2]], m[3] == MemberRole.admin.value) for m in members]
    return entries, states, member_states, people


def visible_children(session: Session, reach: Reach, people: Iterable[Person]) -> set[uuid.UUID]:
    """The young people among `people` that the caller reads today."""
    children = [p.id for p in people if p.type == "participant"]
    if reach.reads_every(Record.participant) or not children:
        return set(children)
    return set(
        session.exec(
            select(col(Participant.id)).where(
                col(Participant.id).in_(children), reach.participants(Participant.id)
            )
        ).all()
    )


def referrer(
    session: Session, reach: Reach, people: Iterable[Person]
) -> Callable[[Person | None], PersonRef | None]:
    """How the caller sees each person: staff by name (the directory), a young person by name only when in
    the caller's reach today, else with no id and a neutral label."""
    visible = visible_children(session, reach, people)

    def ref(person: Person | None) -> PersonRef | None:
        if person is None:
            return None
        if person.type == "participant" and person.id not in visible:
            return PersonRef(type="participant", id=None, label=HIDDEN_CHILD)
        return PersonRef(type=person.type, id=person.id, label=person.name)

    return ref


def view(*, session: Session, reach: Reach, roster: GroupRoster) -> RosterPublic:
    """The roster as the caller may see it: its entries (a young person out of the caller's reach shown
    with no id and a neutral label) and discrepancies, or, for a caller who reaches counts only, just the
    counts."""
    group = session.get(Group, roster.group_id)
    assert group is not None
    entries, states, members, people = load_states(session, roster)
    found = match.discrepancies(
        states, members, today=clock.today(), min_age=group.min_age, max_age=group.max_age
    )
    counts = RosterCounts(
        entries=roster.entry_count,
        certain=roster.certain_count,
        probable=roster.probable_count,
        unknown=roster.unknown_count,
        open_unknown=roster.open_unknown,
        open_probable=roster.open_probable,
        discrepancies=dict(sorted(Counter(d.kind for d in found).items())),
    )
    # Counts only until the caller's reach says they may see the entries and discrepancies too.
    public = RosterPublic.model_validate(
        roster, update={"counts": counts, "entries": None, "discrepancies": None}
    )
    if reach.reads_counts_only(Record.roster):
        return public
    ref = referrer(session, reach, people.values())
    visible = visible_children(session, reach, people.values())

    def hidden(person: Person | None) -> bool:
        return person is not None and person.type == "participant" and person.id not in visible

    # An entry matched to a young person outside the caller's reach shows exactly as an unknown one: what
    # the list matched must not tell them who is a child of the charity (a list of guesses as a lookup).
    unknown_action = match.ACTIONS["unknown_person"]
    masked = {d.entry_id for d in found if d.kind == "unknown_person" and d.entry_id is not None}
    public.entries = [
        EntryPublic(
            id=e.id,
            row=e.row,
            display_name=e.display_name,
            handle=e.handle,
            email=e.email,
            phone=e.phone,
            platform_role=e.platform_role,
            joined_on=e.joined_on,
            match=Match.unknown if hidden(s.person) else e.match,
            matched_by=None if hidden(s.person) else e.matched_by,
            person=None if hidden(s.person) else ref(s.person),
            resolution=e.resolution,
            removed_on=e.removed_on,
        )
        for e, s in zip(entries, states, strict=True)
    ]
    public.discrepancies = []
    answers_of = {e.id: e.resolution for e in entries}
    for d in found:
        if d.entry_id is not None and hidden(d.person):
            # Shown once, as an entry nobody is matched to (answered entries: nothing left to do).
            unanswered = answers_of[d.entry_id] is None
            if d.entry_id not in masked and unanswered:
                masked.add(d.entry_id)
                public.discrepancies.append(
                    Discrepancy(
                        kind="unknown_person",
                        severity=unknown_action[0],
                        entry_id=d.entry_id,
                        membership_id=None,
                        person=None,
                        action=unknown_action[1],
                    )
                )
            continue
        public.discrepancies.append(
            Discrepancy(
                kind=d.kind,
                severity=d.severity,
                entry_id=d.entry_id,
                membership_id=d.membership_id,
                person=ref(d.person),
                action=d.action,
            )
        )
    # The counts as this caller sees the entries: told apart from the stored ones, they would say how many
    # entries matched someone outside their reach.
    shown = public.entries
    public.counts = RosterCounts(
        entries=len(shown),
        certain=sum(e.match is Match.certain for e in shown),
        probable=sum(e.match is Match.probable for e in shown),
        unknown=sum(e.match is Match.unknown for e in shown),
        open_unknown=sum(e.match is Match.unknown and e.resolution is None for e in shown),
        open_probable=sum(e.match is Match.probable and e.resolution is None for e in shown),
        discrepancies=dict(sorted(Counter(d.kind for d in public.discrepancies).items())),
    )
    return public
