"""Rosters: the verbs (upload, read, resolve, apply). The only module that writes roster rows.

Reach (`Record.roster`): coordinators every group; staff read the rosters of the groups they are in and
upload, resolve and apply those of the groups they admin; a platform connector's key (`sync:write`) uploads
to any group and reads nothing back; trustees reach counts only. Out of reach answers as unknown (404).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import clock, crud, events, ratelimit
from api.audit import service as audit
from api.auth.reach import Reach, Record
from api.config import get_settings
from api.db import utcnow
from api.errors import Conflict, Forbidden, NotFound, PreconditionFailed, Unprocessable
from api.groups.models import Group, GroupStatus
from api.identities import normalise
from api.identities.models import PlatformIdentity
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.problems import ProblemCode
from api.rosters import match
from api.rosters.match import Directory, EntryState, MemberState, Person
from api.rosters.models import (
    Discrepancy,
    EntryIn,
    EntryPublic,
    GroupRoster,
    Match,
    MatchedBy,
    PersonRef,
    RosterCounts,
    RosterEntry,
    RosterPublic,
)
from api.rosters.parse import JSON, Source
from api.staff.models import Staff
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent

_S, _P = Staff.__table__.c, Participant.__table__.c  # type: ignore[attr-defined]
IDENTITY, _M = PlatformIdentity.__table__.c, Membership.__table__.c  # type: ignore[attr-defined]
_E = RosterEntry.__table__  # type: ignore[attr-defined]
HIDDEN_CHILD = "a young person outside your groups"


# --- reach -------------------------------------------------------------------------------------------------


def writable_group(*, session: Session, reach: Reach, group_id: uuid.UUID) -> Group:
    """The group whose rosters the caller may upload, resolve and apply: 404 unknown or out of reach, 403
    `not_group_admin` for one they may see but not manage (staff in a group they do not admin), saying whom
    to ask."""
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound(f"No group with id {group_id}")
    if not reach.holds(session, reach.roster_writes, group_id):
        if reach.holds(session, reach.rosters, group_id):
            raise Forbidden(
                "Only the group's current admins (or a coordinator) upload, resolve and apply its rosters, "
                "and you are not one of its admins: ask one of them or a coordinator to do it, or a "
                "coordinator to make you an admin of the group",
                code=ProblemCode.not_group_admin,
            )
        raise NotFound(f"No group with id {group_id}")
    return group


RATE_ACTION = "roster_upload"


def count_upload(*, session: Session, reach: Reach) -> None:
    """Count one roster upload by a signed-in user: over ROSTER_UPLOADS_PER_MINUTE, a 429 with Retry-After
    (an API key is limited per key already). Counted before the body is read, refused uploads too."""
    if reach.actor.kind == "user":
        ratelimit.hit_user(
            session,
            user_id=reach.actor.id,
            action=RATE_ACTION,
            limit=get_settings().roster_uploads_per_minute,
            now=utcnow(),
            what="roster uploads",
        )


def readable_group(*, session: Session, reach: Reach, group_id: uuid.UUID) -> Group:
    """The group whose rosters the caller may read (or count), or 404 (unknown and out of reach alike)."""
    group = session.get(Group, group_id)
    if group is None or not reach.holds(session, reach.rosters, group_id):
        raise NotFound(f"No group with id {group_id}")
    return group


def get(*, session: Session, reach: Reach, group_id: uuid.UUID, roster_id: uuid.UUID) -> GroupRoster:
    """One roster of the group that the caller may read (or count), or 404."""
    roster = session.exec(
        select(GroupRoster).where(
            GroupRoster.id == roster_id, GroupRoster.group_id == group_id, reach.rosters(GroupRoster.group_id)
        )
    ).first()
    if roster is None:
        raise NotFound(f"No roster with id {roster_id}")
    return roster


def list_(
    *, session: Session, reach: Reach, group_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[GroupRoster], int]:
    """The group's rosters the caller may read (or count), newest first."""
    query = (
        select(GroupRoster)
        .where(GroupRoster.group_id == group_id, reach.rosters(GroupRoster.group_id))
        .order_by(
            col(GroupRoster.captured_on).desc(), col(GroupRoster.created_at).desc(), col(GroupRoster.id)
        )
    )
    return crud.page(session, query, limit=limit, offset=offset)


# --- the directory -----------------------------------------------------------------------------------------


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
            sa.or_(IDENTITY.platform.is_(None), IDENTITY.platform == group.platform.value),
        )
    ).all()
    by_kind = {"handle": MatchedBy.handle, "email": MatchedBy.email, "phone": MatchedBy.phone}
    for kind, key, staff_id, participant_id in identities:
        found.add(by_kind[kind], key, staff_id or participant_id)
    return found


# --- upload ------------------------------------------------------------------------------------------------


def upload(
    *,
    session: Session,
    reach: Reach,
    group: Group,
    entries: Sequence[tuple[int, EntryIn]],
    captured_on: date | None,
    source: Source = JSON,
) -> GroupRoster:
    """Store the platform's list and its reconciliation; announce `group.roster_reconciled` (counts only).

    Errors: 409 for an archived group; 422 naming `captured_on` for a day in the future or before the
    group started, or naming the entry and `joined_on` (as `source` names places) for a joining date after
    `captured_on`."""
    today = clock.today()
    day = captured_on or today
    if group.status != GroupStatus.active:
        raise Conflict(f"The group is {group.status}: it has no member list to reconcile")
    if not entries:  # the parsers refuse it too; applied, an empty list would end every membership
        raise Unprocessable.field("entries", "The list has nobody on it: a group's member list has its admin")
    if day > today:
        raise Unprocessable.field("captured_on", f"captured_on ({day}) is in the future")
    if day < group.started_on:
        raise Unprocessable.field("captured_on", f"captured_on ({day}) is before the group started")
    for row, entry in entries:
        if entry.joined_on is not None and entry.joined_on > day:
            raise source.error(row, "joined_on", f"joined after the list was taken (captured_on {day})")
    # A caller who reads the answer matches only the young people in their reach; a connector's key gets a
    # receipt, learns nothing, and matches everyone.
    answered = reach.reads(Record.roster) and not reach.reads_counts_only(Record.roster)
    found = directory(session, group, today, reach if answered else None)
    roster = GroupRoster(
        group_id=group.id,
        platform=group.platform,
        captured_on=day,
        uploaded_by_type=reach.actor.kind,
        uploaded_by_id=reach.actor.id,
        entry_count=len(entries),
    )
    now = utcnow()
    rows = []
    tally: Counter[Match] = Counter()
    results = match.one_account_each(
        [
            found.find(display_name=e.display_name, handle=e.handle, email=e.email, phone=e.phone)
            for _, e in entries
        ]
    )
    for (row, e), result in zip(entries, results, strict=True):
        tally[result.match] += 1
        person = result.person
        rows.append(
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "roster_id": roster.id,
                "row": row,
                "display_name": e.display_name,
                "handle": e.handle,
                "email": e.email,
                "phone": e.phone,
                "platform_role": e.platform_role,
                "joined_on": e.joined_on,
                "match": result.match,
                "matched_by": result.matched_by,
                "staff_id": person.id if person and person.type == "staff" else None,
                "participant_id": person.id if person and person.type == "participant" else None,
            }
        )
    roster.certain_count = roster_certain = tally[Match.certain]
    roster.probable_count = roster.open_probable = tally[Match.probable]
    roster.unknown_count = roster.open_unknown = tally[Match.unknown]
    session.add(roster)
    session.flush()
    if rows:
        session.execute(sa.insert(_E), rows)
    counts = {
        "entries": len(entries),
        "certain": roster_certain,
        "probable": roster.probable_count,
        "unknown": roster.unknown_count,
    }
    audit.record(
        session, actor=reach.actor, action="roster.upload", entity=roster, changes={"counts": counts}
    )
    webhooks.emit(
        session,
        WebhookEvent.group_roster_reconciled,
        {"group_id": group.id, "roster_id": roster.id, "captured_on": day, **counts},
    )
    session.commit()
    session.refresh(roster)
    events.publish(session, events.GroupFactsChanged.of([group.id]))
    return roster


# --- the ETag --------------------------------------------------------------------------------------------


def etag(session: Session, roster: GroupRoster) -> str:
    """The roster's entity tag: its version and a digest of everything its reconciliation is judged against
    today: the day itself; the group (its age range, start and status); its memberships in force (each
    one's id and version); every person the entries or those memberships name (version, start and leaving
    dates, date of birth); and the open and ended platform identities that match on the group's platform
    (how many, and their versions). A tag read before any of these changed (a member of staff's leaving
    date, a participant's identity, a membership added, ended or made admin) no longer matches: 412, so
    apply never acts on a stale reconciliation. Strong (RFC 9110 §8.8.3). Five statements."""
    today = clock.today()
    group = session.get(Group, roster.group_id)
    assert group is not None
    in_force = sa.and_(
        _M.group_id == roster.group_id,
        _M.started_on <= today,
        sa.or_(_M.ended_on.is_(None), _M.ended_on > today),
    )
    members = session.execute(sa.select(_M.id, _M.version).where(in_force).order_by(_M.id)).all()
    named = sa.select(_E.c.staff_id, _E.c.participant_id).where(_E.c.roster_id == roster.id)
    in_group = sa.select(_M.staff_id, _M.participant_id).where(in_force)
    people = [
        session.execute(
            sa.select(*columns)
            .where(
                sa.or_(
                    columns[0].in_(named.with_only_columns(entry_column)),
                    columns[0].in_(in_group.with_only_columns(member_column)),
                )
            )
            .order_by(columns[0])
        ).all()
        for columns, entry_column, member_column in (
            ((_S.id, _S.version, _S.started_on, _S.left_on), _E.c.staff_id, _M.staff_id),
            (
                (_P.id, _P.version, _P.joined_on, _P.left_on, _P.date_of_birth),
                _E.c.participant_id,
                _M.participant_id,
            ),
        )
    ]
    identities = session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(IDENTITY.version), 0)).where(
            sa.or_(IDENTITY.platform.is_(None), IDENTITY.platform == group.platform.value)
        )
    ).one()
    parts = [
        str(today),
        f"{group.version}:{group.min_age}:{group.max_age}:{group.started_on}:{group.status}",
        *(f"m{i}:{v}" for i, v in members),
        *(":".join(map(str, r)) for rows in people for r in rows),
        f"i{identities[0]}:{identities[1]}",
    ]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
    return f'"{roster.version}.{digest}"'


def check_tag(session: Session, roster: GroupRoster, sent: str | None) -> int | None:
    """The version an If-Match names, once the whole tag matches the roster's current one (None when none
    was sent). Errors: 412 for a weak tag (a change needs strong comparison), one this service did not
    issue, or one that no longer matches (the roster or anything its reconciliation depends on moved on)."""
    if sent is None or sent.strip() == "*":
        return None
    value = sent.strip()
    if value.startswith("W/"):
        raise PreconditionFailed("A weak ETag cannot guard a change: send the roster's ETag as it was given")
    current = etag(session, roster)
    if value != current:
        version = value.strip('"').split(".", 1)[0]
        if not version.isdigit():
            raise PreconditionFailed(f"If-Match {sent!r} is not an ETag this service issued")
        raise PreconditionFailed(
            "What the roster was reconciled against changed since you read it (the roster's answers, the "
            "group, its memberships, a member's dates or a platform identity): read it again; after a "
            f"change to an identity, upload a fresh list so it is matched anew (now {current})"
        )
    return roster.version


# --- reading -----------------------------------------------------------------------------------------------


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
    public = RosterPublic(
        id=roster.id,
        group_id=roster.group_id,
        platform=roster.platform,
        captured_on=roster.captured_on,
        applied_at=roster.applied_at,
        created_at=roster.created_at,
        version=roster.version,
        counts=counts,
        entries=None,
        discrepancies=None,
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
