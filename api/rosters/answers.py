"""Rosters: answering for entries and applying a roster to the group's memberships (the verbs after the
upload; `service` holds the upload and the reading)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import clock, crud, events
from api.audit import service as audit
from api.auth.reach import Reach
from api.db import utcnow
from api.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unprocessable,
)
from api.groups.models import Group
from api.identities import normalise
from api.identities import service as identities
from api.identities.models import PlatformIdentity
from api.identities.normalise import IdentityKind
from api.memberships.models import MemberRole, Membership
from api.preconditions import pinned
from api.problems import ProblemCode
from api.rosters.match import EntryState, Person
from api.rosters.models import Change, GroupRoster, Match, Resolution, ResolutionIn, RosterEntry
from api.rosters.reading import load_states, referrer

# --- resolution --------------------------------------------------------------------------------------------


def get_entry(*, session: Session, roster: GroupRoster, entry_id: uuid.UUID) -> RosterEntry:
    entry = session.get(RosterEntry, entry_id)
    if entry is None or entry.roster_id != roster.id:
        raise NotFound(f"No roster entry with id {entry_id}")
    return entry


def _identify(session: Session, reach: Reach, data: ResolutionIn) -> tuple[str, uuid.UUID]:
    """The person named in a resolution. Identifying records the entry's handle, email and phone on them,
    so the rule is creating an identity's (`identities.check_person`): a member of staff their own record
    unless they manage staff; a young person within their write reach (unknown and out of reach: the same
    422 naming the field; one they read but may not change: 403)."""
    if (data.staff_id is None) == (data.participant_id is None):
        raise Unprocessable.field("staff_id", "identified: give exactly one of staff_id and participant_id")
    kind, pid = (
        ("staff", data.staff_id) if data.staff_id is not None else ("participant", data.participant_id)
    )
    assert pid is not None
    identities.check_person(session=session, reach=reach, field=f"{kind}_id", person_id=pid)
    return kind, pid


def _record_identities(
    session: Session, reach: Reach, group: Group, entry: RosterEntry, kind: str, pid: uuid.UUID
) -> int:
    """Record the entry's handle, email and phone as the person's identities, as `POST /identities` records
    them (`identities.store`): verified when a coordinator identifies (the next roster matches them for
    certain), else unverified claims a coordinator verifies later. A value with nothing to match on, or one
    the person holds already (an open identity or a contact detail), is left. Returns how many were added.

    Errors, for a coordinator only: 409 naming `handle`, `email` or `phone` when someone else holds that
    value (a verified identity or a contact detail, `identities.holders`), saying not whom; nothing is
    recorded. Anyone else's claim is stored alike whether or not someone else holds the value, and the
    answer is the same: a group admin naming themself must not learn whether a child's carer uses an
    address, nor take a value for theirs unchecked (issue 16 F2)."""
    values = (
        ("handle", IdentityKind.handle, entry.handle, group.platform),
        ("email", IdentityKind.email, entry.email, None),
        ("phone", IdentityKind.phone, entry.phone, None),
    )
    verified = identities.verifies(reach)
    new: list[PlatformIdentity] = []
    for field, identity_kind, value, platform in values:
        key = normalise.key(identity_kind, value) if value else None
        if key is None or value is None:
            continue
        identity = PlatformIdentity(
            staff_id=pid if kind == "staff" else None,
            participant_id=pid if kind == "participant" else None,
            platform=platform,
            kind=identity_kind,
            value=value,
            match_key=key,
        )
        if identities.own_open(session, identity) is not None:
            continue
        if verified:
            held = identities.holders(session, identity_kind, key, platform)
            if held - {pid}:
                raise Conflict(
                    f"This entry's {field} is already recorded for someone else, so it cannot be this "
                    "person's: ask a coordinator to check whose it is",
                    extra={"field": field},
                )
            if pid in held:
                continue  # a contact detail of theirs already
        new.append(identity)
    for identity in new:  # after every check: a 409 leaves nothing recorded
        identities.store(session, reach, identity)
    return len(new)


def resolve(
    *,
    session: Session,
    reach: Reach,
    group: Group,
    roster: GroupRoster,
    entry: RosterEntry,
    data: ResolutionIn,
    expected_version: int | None,
) -> RosterEntry:
    """Answer for one entry: `confirmed` (a probable match is the person), `identified` (the entry is the
    person named by `staff_id` or `participant_id`; their handle, email and phone on the entry are recorded
    as identities) or `removed` (taken off the platform on `removed_on`). Bumps the roster's version.

    Errors: 409 once the roster was applied or the entry already answered; 422 naming the field for a
    resolution that does not fit the entry, an unknown person or a `removed_on` before the list was taken
    or in the future (confirming an entry matched to a young person outside the caller's reach answers as for
    an unknown entry: that is how it was shown to them); 412 for a stale If-Match on the roster."""
    if roster.applied_at is not None:
        raise Conflict("The roster was applied: it is history now; upload a new list to change anything")
    if entry.resolution is not None:
        raise Conflict(f"This entry was already resolved ({entry.resolution})", extra={"field": "resolution"})
    before = audit.snapshot(entry)
    was_open = entry.match
    if data.resolution is Resolution.confirmed:
        pid = entry.participant_id
        # A match to a young person outside the caller's reach was shown to them as unknown: it answers so.
        shown = (
            Match.unknown
            if pid is not None and not reach.holds(session, reach.participants, pid)
            else entry.match
        )
        if shown is not Match.probable:
            raise Unprocessable.field(
                "resolution", f"Only a probable match is confirmed; this one is {shown}"
            )
    elif data.resolution is Resolution.identified:
        kind, pid = _identify(session, reach, data)
        _record_identities(
            session, reach, group, entry, kind, pid
        )  # first: a 409 there leaves nothing changed
        entry.staff_id = pid if kind == "staff" else None
        entry.participant_id = pid if kind == "participant" else None
    else:
        if data.removed_on is None:
            raise Unprocessable.field(
                "removed_on", "removed: say on which day they were taken off the platform"
            )
        if data.removed_on < roster.captured_on or data.removed_on > clock.today():
            raise Unprocessable.field(
                "removed_on", f"removed_on must be between captured_on ({roster.captured_on}) and today"
            )
        entry.removed_on = data.removed_on
    entry.resolution = data.resolution
    entry.resolved_at = utcnow()
    entry.resolved_by_id = reach.caller.id
    entry.updated_at = utcnow()
    entry.version += 1
    changes = {k: v for k, v in audit.diff(before, audit.snapshot(entry)).items() if k in _AUDITED_ENTRY}
    audit.record(session, actor=reach.caller, action="roster_entry.resolve", entity=entry, changes=changes)
    if was_open is Match.unknown:
        roster.open_unknown -= 1
    elif was_open is Match.probable:
        roster.open_probable -= 1
    # The roster's version moves with every answer, so an apply sent with an old ETag is refused.
    crud.claim_version(session, roster, expected_version)
    session.add_all([entry, roster])
    session.commit()
    session.refresh(entry)
    events.publish(session, events.GroupFactsChanged.of([group.id]))
    return entry


# What the audit log keeps of a resolution: never the name, handle, email or phone the platform showed.
_AUDITED_ENTRY = ("resolution", "staff_id", "participant_id", "removed_on", "resolved_by_id")


# --- apply -------------------------------------------------------------------------------------------------


def _latest(session: Session, group_id: uuid.UUID) -> uuid.UUID | None:
    return session.exec(
        select(GroupRoster.id)
        .where(GroupRoster.group_id == group_id)
        .order_by(col(GroupRoster.captured_on).desc(), col(GroupRoster.created_at).desc())
        .limit(1)
    ).first()


def _ends(
    m: Membership, live: Mapping[uuid.UUID, object], removed: Mapping[uuid.UUID, object], roster: GroupRoster
) -> bool:
    """Whether applying the roster ends membership `m`: its person is not on the list, and the membership
    began before the list was taken (or the person was removed from the platform since)."""
    pid = m.staff_id or m.participant_id
    if pid in live:
        return False
    return not (m.started_on > roster.captured_on and pid not in removed)


def _check_removals(
    reach: Reach, current: list[Membership], ending: list[Membership], confirmed: bool
) -> None:
    """A list that would end every membership of the group, or the applying admin's own, is far more often
    a bad export (or someone taking the group over) than the truth: it needs `confirm_removals`."""
    if confirmed or not ending:
        return
    everyone = len(ending) == len(current)
    own = reach.caller.staff_id is not None and any(m.staff_id == reach.caller.staff_id for m in ending)
    if everyone or own:
        what = "every membership of the group" if everyone else "your own membership of the group"
        raise Conflict(
            f"Applying this list would end {what} ({len(ending)} in all): check the list, and send "
            '{"confirm_removals": true} if that is what you mean',
            code=ProblemCode.removals_unconfirmed,
            extra={"field": "confirm_removals"},
        )


def apply(
    *,
    session: Session,
    reach: Reach,
    group: Group,
    roster: GroupRoster,
    expected_version: int | None,
    confirm_removals: bool = False,
) -> tuple[GroupRoster, list[Change]]:
    """Make the group's memberships match the platform's list, in one transaction: end the memberships of
    people no longer on it (on the day they were removed, or else the day the list was taken), add those of
    matched people who are on it (from their joining date, or else that day), and set each one's role (a
    platform admin or moderator who is current staff is an admin; everyone else a member). Each change is
    audited and listed. A membership that started after the list was taken is left alone (the list cannot
    say they are gone). Someone on the platform whose records say they should not be there (departed staff,
    a young person who left) gets no new membership: remove them on the platform and resolve the entry.

    Errors: 428 without If-Match (the roster's ETag: the memberships change as the roster stood when the
    caller read it); 409 while entries wait for an answer, once applied, or when a later roster of the group
    exists; 403 `coordinator_only` when a young person would be added and the caller may not place children
    (only a coordinator may: the detail says to ask one); 412 for a stale If-Match; 409
    `removals_unconfirmed` when it would end every current membership of the group, or the applying
    admin's own, without `confirm_removals`."""
    if pinned(expected_version) is None:
        raise PreconditionRequired(
            "Send the roster's ETag as If-Match: apply changes the group's memberships as the roster stood "
            "when you read it (If-Match: * matches any version, so it does not show it was read)"
        )
    if roster.applied_at is not None:
        raise Conflict(f"The roster was already applied at {roster.applied_at:%Y-%m-%d %H:%M} UTC")
    if _latest(session, group.id) != roster.id:
        raise Conflict("A later roster of this group exists: apply that one")
    if roster.open_unknown or roster.open_probable:
        raise Conflict(
            f"{roster.open_unknown} unknown and {roster.open_probable} probable entries wait for an answer: "
            "resolve them first",
            code=ProblemCode.roster_unresolved,
        )
    if expected_version is not None and expected_version != roster.version:
        raise PreconditionFailed(f"The roster is at version {roster.version}, not {expected_version}")
    today = clock.today()
    entries, states, _members, people = load_states(session, roster)
    live: dict[uuid.UUID, tuple[Any, EntryState]] = {}  # (the entry as read, its state)
    removed: dict[uuid.UUID, Any] = {}
    for e, s in zip(entries, states, strict=True):
        person = s.settled_person
        if person is None:
            continue
        if s.on_platform:
            live[person.id] = (e, s)
        else:
            removed.setdefault(person.id, e)
    current = list(
        session.exec(
            select(Membership).where(
                Membership.group_id == group.id,
                col(Membership.started_on) <= today,
                sa.or_(col(Membership.ended_on).is_(None), col(Membership.ended_on) > today),
            )
        )
    )
    _check_removals(
        reach,
        current,
        [m for m in current if _ends(m, live, removed, roster)],
        confirm_removals,
    )
    changes: list[Change] = []

    def role_for(s: EntryState) -> MemberRole:
        p = s.settled_person
        staff_now = p is not None and p.type == "staff" and not (p.left_on is not None and p.left_on <= today)
        return MemberRole.admin if s.platform_admin and staff_now else MemberRole.member

    # Seen as before the change: a young person whose membership ends here was in the caller's reach.
    ref = referrer(session, reach, people.values())

    def note(action: str, m: Membership, person: Person, detail: str) -> None:
        shown = ref(person)
        assert shown is not None
        changes.append(Change(action=action, membership_id=m.id, person=shown, detail=detail))

    in_group: set[uuid.UUID] = set()
    for m in current:
        pid = m.staff_id or m.participant_id
        assert pid is not None
        in_group.add(pid)
        person = people[pid]
        before = audit.snapshot(m)
        if pid in live:
            role = role_for(live[pid][1])
            if m.role != role:
                m.role = role
                note("membership.update", m, person, f"role {before['role']} -> {role.value}")
            else:
                continue
            action = "membership.update"
        elif not _ends(m, live, removed, roster):
            continue  # added after the list was taken: the list cannot say they are gone
        else:
            off = removed[pid].removed_on if pid in removed else None
            ended_on = max(off or roster.captured_on, m.started_on)
            m.ended_on = ended_on
            m.end_reason = (
                f"Removed from the platform (roster of {roster.captured_on})"
                if off
                else f"Not on the platform's member list of {roster.captured_on}"
            )
            action = "membership.end"
            note(action, m, person, f"ended on {ended_on}")
        crud.claim_version(session, m, None)
        session.add(m)
        audit.record(session, actor=reach.caller, action=action, entity=m, before=before)
    for pid, (e, s) in live.items():
        person = people[pid]
        gone = person.left_on is not None and person.left_on <= today
        if pid in in_group or gone:
            continue
        if person.type == "participant" and not reach.holds(session, reach.participant_writes, pid):
            session.rollback()
            raise Forbidden(
                "Applying this list would add a young person to the group, and only a coordinator adds a "
                "young person to a group (it decides which adults see them): ask a coordinator to apply "
                "this roster. Nothing was changed",
                code=ProblemCode.coordinator_only,
            )
        started = e.joined_on or roster.captured_on
        started = max(started, person.started_on, group.started_on)
        m = Membership(
            group_id=group.id,
            staff_id=pid if person.type == "staff" else None,
            participant_id=pid if person.type == "participant" else None,
            role=role_for(s),
            started_on=min(started, today),
        )
        session.add(m)
        audit.record(session, actor=reach.caller, action="membership.create", entity=m)
        note("membership.create", m, person, f"{m.role.value} from {m.started_on}")
    before = audit.snapshot(roster)
    roster.applied_at = utcnow()
    saved = crud.save(
        session,
        roster,
        actor=reach.caller,
        action="roster.apply",
        before=before,
        expected_version=expected_version,
        unique_fields=("staff_id", "participant_id"),
    )
    events.publish(session, events.GroupFactsChanged.of([group.id]))
    return saved, changes
