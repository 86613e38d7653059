"""Rosters: the verbs (upload, and whose rosters a caller reaches). The only module that writes roster rows;
reading one is api/rosters/reading.py, its ETag api/rosters/etags.py, answering for its entries and
applying it api/rosters/answers.py.

Reach (`Record.roster`): coordinators every group; staff read the rosters of the groups they are in and
upload, resolve and apply those of the groups they admin; a platform connector's key (`sync:write`) uploads
to any group and reads nothing back; trustees reach counts only. Out of reach answers as unknown (404).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from api import clock, crud, events, ratelimit
from api.audit import service as audit
from api.auth.reach import Reach, Record
from api.config import get_settings
from api.db import utcnow
from api.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.groups.models import Group, GroupStatus
from api.problems import ProblemCode
from api.rosters import match
from api.rosters.directory import _E, directory
from api.rosters.models import (
    EntryIn,
    GroupRoster,
    Match,
)
from api.rosters.parse import JSON, Source
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent


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
    if reach.caller.kind == "user":
        ratelimit.hit_user(
            session,
            user_id=reach.caller.id,
            action=RATE_ACTION,
            limit=get_settings().roster_uploads_per_minute,
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
        .order_by(*crud.latest_first(GroupRoster, GroupRoster.captured_on))
    )
    return crud.page(session, query, limit=limit, offset=offset)


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
        uploaded_by_type=reach.caller.kind,
        uploaded_by_id=reach.caller.id,
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
        session, actor=reach.caller, action="roster.upload", entity=roster, changes={"counts": counts}
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
