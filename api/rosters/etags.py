"""Rosters: the entity tag of a roster, which changes whenever anything its reconciliation is judged
against changes, so an answer or an apply never acts on a stale reconciliation (412)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlmodel import Session

from api import clock
from api.errors import PreconditionFailed
from api.groups.models import Group
from api.preconditions import AnyVersion, if_match_tags, names_any
from api.rosters.directory import _E, _M, _P, _S, IDENTITY
from api.rosters.models import (
    GroupRoster,
)


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


def _issued(version: str) -> bool:
    return version.isascii() and version.isdigit()


def check_tag(session: Session, roster: GroupRoster, sent: str | None) -> int | None:
    """The version an If-Match names, once the whole tag matches the roster's current one (None when none
    was sent, `AnyVersion()` for `*`, as `api.preconditions.if_match` gives it). Errors: 412 for a weak tag
    (a change needs strong comparison), one this service did not issue, or one that no longer matches (the
    roster or anything its reconciliation depends on moved on)."""
    if names_any(sent):
        return AnyVersion()
    tags = if_match_tags(sent)
    if tags is None:
        return None
    if not tags:
        raise PreconditionFailed("A weak ETag cannot guard a change: send the roster's ETag as it was given")
    current = etag(session, roster)
    if current not in tags:
        if not any(_issued(t[1:-1].split(".", 1)[0]) for t in tags):
            raise PreconditionFailed(f"If-Match {sent!r} is not an ETag this service issued")
        raise PreconditionFailed(
            "What the roster was reconciled against changed since you read it (the roster's answers, the "
            "group, its memberships, a member's dates or a platform identity): read it again; after a "
            f"change to an identity, upload a fresh list so it is matched anew (now {current})"
        )
    return roster.version
