"""Reconciliation, pure: which person each entry of a platform's member list is, and what is wrong.

`Directory` holds everyone the records know, indexed by match key (api.identities.normalise): handles on
this group's platform, email addresses and phone numbers (recorded identities, a member of staff's official
and personal addresses, a young person's own). An entry is matched `certain` by the first of its handle,
email and phone that names exactly one person; else `probable` by its name alone when one person has that
name (or, of several, one is in the group today) and no other entry of the list names them too, and the
entry's handle, email or phone is not of a kind that person has on record (a different account of the same
kind is someone else using their name: `unknown`, naming whom the name matches); else `unknown`. Nothing
here reads the database.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from api.consents.logic import age_on
from api.identities import normalise
from api.rosters.models import Match, MatchedBy, PlatformRole, Resolution


@dataclass(frozen=True, slots=True)
class Person:
    type: str  # "staff" or "participant"
    id: uuid.UUID
    name: str
    started_on: date  # a member of staff's start, a participant's joining
    left_on: date | None = None
    date_of_birth: date | None = None  # participants only


@dataclass(frozen=True, slots=True)
class Found:
    match: Match
    matched_by: MatchedBy | None = None
    # For a `probable` match, the person named; for an `unknown` one, the person whose name it bears while
    # the account is not one recorded as theirs (a possible impostor), else None.
    person: Person | None = None


UNKNOWN = Found(Match.unknown)


class Directory:
    """Everyone the records know, by handle, email, phone and name."""

    def __init__(self, people: Iterable[Person], members: Iterable[uuid.UUID] = ()) -> None:
        self.people: dict[uuid.UUID, Person] = {}
        self.handles: dict[str, set[uuid.UUID]] = defaultdict(set)
        self.emails: dict[str, set[uuid.UUID]] = defaultdict(set)
        self.phones: dict[str, set[uuid.UUID]] = defaultdict(set)
        self.names: dict[str, list[uuid.UUID]] = defaultdict(list)
        self.members = frozenset(members)  # people in the group today: a tie-break for names
        # Which kinds of account (handle on this platform, email, phone) each person has on record.
        self.kinds: dict[uuid.UUID, set[MatchedBy]] = defaultdict(set)
        for person in people:
            self.people[person.id] = person
            key = normalise.name_key(person.name)
            if key is not None:
                self.names[key].append(person.id)

    def add(self, kind: MatchedBy, key: str | None, person_id: uuid.UUID) -> None:
        """Index one of a person's identities by its match key (None: nothing to index)."""
        if key is None or person_id not in self.people:
            return
        {MatchedBy.handle: self.handles, MatchedBy.email: self.emails, MatchedBy.phone: self.phones}[kind][
            key
        ].add(person_id)
        self.kinds[person_id].add(kind)

    def find(
        self, *, display_name: str | None, handle: str | None, email: str | None, phone: str | None
    ) -> Found:
        """Who one entry is (see the module's docstring)."""
        probes = (
            (MatchedBy.handle, self.handles, handle and normalise.handle_key(handle)),
            (MatchedBy.email, self.emails, email and normalise.email_key(email)),
            (MatchedBy.phone, self.phones, phone and normalise.phone_key(phone)),
        )
        given: set[MatchedBy] = set()
        for by, index, key in probes:
            if key:
                given.add(by)
                held = index.get(key)
                if held and len(held) == 1:
                    return Found(Match.certain, by, self.people[next(iter(held))])
        key = normalise.name_key(display_name) if display_name else None
        if key is None:
            return UNKNOWN
        ids: list[uuid.UUID] = self.names.get(key, [])
        if len(ids) > 1:
            ids = [i for i in ids if i in self.members]
        if len(ids) == 1:
            person = self.people[ids[0]]
            if given & self.kinds.get(person.id, set()):
                # The entry's handle (email, phone) is not the one on record for the person it is named
                # after: an impostor takes a member's name; never a match to confirm.
                return Found(Match.unknown, MatchedBy.name, person)
            return Found(Match.probable, MatchedBy.name, person)
        return UNKNOWN


def one_account_each(found: list[Found]) -> list[Found]:
    """A name alone cannot say which of two accounts is the person's: a probable match to someone another
    entry of the same list also matches (for certain or by name) is `unknown`, so someone identifies it
    rather than confirming an impostor who took a member's name."""
    seen = Counter(f.person.id for f in found if f.person is not None)
    return [
        UNKNOWN if f.match is Match.probable and f.person is not None and seen[f.person.id] > 1 else f
        for f in found
    ]


# --- discrepancies -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EntryState:
    """One roster entry as reconciliation left it and as resolved since."""

    id: uuid.UUID
    platform_role: PlatformRole
    match: Match
    person: Person | None
    resolution: Resolution | None

    @property
    def on_platform(self) -> bool:
        return self.resolution is not Resolution.removed

    @property
    def settled_person(self) -> Person | None:
        """The person the entry is, once nobody needs to confirm it (None while unknown or unconfirmed)."""
        if self.match is Match.certain or self.resolution in (Resolution.confirmed, Resolution.identified):
            return self.person
        return None

    @property
    def platform_admin(self) -> bool:
        # A moderator approves new members on Facebook and Discord: for the policy that is an admin's power.
        return self.platform_role in (PlatformRole.admin, PlatformRole.moderator)


@dataclass(frozen=True, slots=True)
class MemberState:
    """A membership in force today."""

    id: uuid.UUID
    person: Person
    admin: bool


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: str
    severity: str
    entry_id: uuid.UUID | None
    membership_id: uuid.UUID | None
    person: Person | None
    action: str


ACTIONS = {
    "unknown_person": (
        "critical",
        "Find out who this is. If they belong, resolve the entry as identified (the person); if not, remove "
        "them from the platform now and resolve the entry as removed. An adult nobody has identified may be "
        "in a group of children.",
    ),
    "name_of_another_account": (
        "critical",
        "The name matches the person shown, but this account is not their recorded account: someone may be "
        "using their name. Find out who this is: resolve the entry as identified if it is a new account of "
        "theirs (or someone else's), or remove them from the platform and resolve it as removed.",
    ),
    "several_accounts": (
        "high",
        "The same person is on the platform under several accounts: check each is theirs; remove any that "
        "is not (an impostor may copy a handle with invisible characters) and resolve it as removed.",
    ),
    "probable_match": (
        "high",
        "Check the person on the platform is the one named, then resolve the entry as confirmed (or as "
        "identified, naming the right person).",
    ),
    "departed_staff": (
        "critical",
        "They no longer work for the organisation: remove them from the platform, then resolve the entry "
        "as removed.",
    ),
    "participant_left": (
        "high",
        "They no longer take part: remove them from the platform, then resolve the entry as removed.",
    ),
    "outside_age_range": (
        "high",
        "They are outside the group's age range: remove them from the platform, then resolve the entry as "
        "removed.",
    ),
    "admin_not_staff": (
        "critical",
        "Only current staff may be admins: take the admin role away on the platform.",
    ),
    "admin_not_in_records": (
        "high",
        "An admin on the platform is not recorded as one: apply the roster to record it, or take the admin "
        "role away on the platform.",
    ),
    "admin_not_on_platform": (
        "medium",
        "Recorded as an admin but not one on the platform: apply the roster to record them as a member, or "
        "make them an admin on the platform.",
    ),
    "not_in_records": (
        "medium",
        "On the platform but not recorded in the group: apply the roster to add their membership.",
    ),
    "not_on_platform": (
        "medium",
        "In the records but no longer on the platform: apply the roster to end the membership.",
    ),
}


def _of(
    kind: str, entry: uuid.UUID | None, membership: uuid.UUID | None, person: Person | None
) -> Discrepancy:
    severity, action = ACTIONS[kind]
    return Discrepancy(kind, severity, entry, membership, person, action)


def discrepancies(
    entries: Iterable[EntryState],
    members: Iterable[MemberState],
    *,
    today: date,
    min_age: int | None,
    max_age: int | None,
) -> list[Discrepancy]:
    """What is wrong between the platform's list and today's records, each with what to do."""
    out: list[Discrepancy] = []
    by_person = {m.person.id: m for m in members}
    on_platform: set[uuid.UUID] = set()
    accounted: set[uuid.UUID] = set()
    for e in entries:
        if not e.on_platform:
            continue
        if e.match is Match.unknown and e.resolution is None:
            out.append(_of("unknown_person", e.id, None, None))
            if e.person is not None:
                out.append(_of("name_of_another_account", e.id, None, e.person))
        elif e.match is Match.probable and e.resolution is None and e.person is not None:
            out.append(_of("probable_match", e.id, None, e.person))
            # Not yet "no longer on the platform": that waits for the answer.
            on_platform.add(e.person.id)
        person = e.settled_person
        if person is None:
            if e.platform_admin:
                out.append(_of("admin_not_staff", e.id, None, None))
            continue
        if person.id in accounted:
            # Judged once, at their first entry: a second account is its own finding, not a second
            # "not in the records".
            out.append(_of("several_accounts", e.id, None, person))
            continue
        accounted.add(person.id)
        on_platform.add(person.id)
        gone = person.left_on is not None and person.left_on <= today
        member = by_person.get(person.id)
        if person.type == "staff":
            if gone:
                out.append(_of("departed_staff", e.id, None, person))
        else:
            if gone:
                out.append(_of("participant_left", e.id, None, person))
            elif person.date_of_birth is not None:
                age = age_on(person.date_of_birth, today)
                if (max_age is not None and age > max_age) or (min_age is not None and age < min_age):
                    out.append(_of("outside_age_range", e.id, None, person))
        if e.platform_admin and (person.type != "staff" or gone):
            out.append(_of("admin_not_staff", e.id, None, person))
        elif e.platform_admin and not (member and member.admin):
            out.append(_of("admin_not_in_records", e.id, None, person))
        elif member and member.admin and not e.platform_admin:
            out.append(_of("admin_not_on_platform", e.id, member.id, person))
        if member is None and not gone:
            out.append(_of("not_in_records", e.id, None, person))
    for m in by_person.values():
        if m.person.id not in on_platform:
            out.append(_of("not_on_platform", None, m.id, m.person))
    return out
