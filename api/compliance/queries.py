"""Compliance loading, the statements: what the group and staff loads ask the database, built once (the
values are bound parameters), a fixed number of them whatever the size.

The group loads run through `fetch` (the driver's cursor; one round trip on PostgreSQL), whose rows come back
as the driver returns them and are read by `fetch.Reader`; the staff loads run on the session's connection,
with the columns the loops read `_plain` so that SQLAlchemy does not convert them either (measured in
bench/README.md). api/compliance/loading.py runs them and decodes the rows into snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select

from api.auth.models import User
from api.auth.reach import OWN_GROUPS_PARAMETRISED
from api.compliance import fetch
from api.compliance.models import Waiver
from api.compliance.snapshot import uuid_of
from api.consents.models import Consent
from api.db import UTCDateTime, table_of
from api.declarations.models import StaffDeclaration
from api.groups.models import Group, GroupReview, RiskAssessment
from api.incidents.models import Incident
from api.memberships.models import Membership
from api.participants.models import Participant
from api.policy.versions import PolicyClause, PolicyVersion
from api.rosters.models import GroupRoster, RosterEntry
from api.staff.models import Staff

GROUP, MEMBERSHIP, STAFF = table_of(Group), table_of(Membership), table_of(Staff)
PARTICIPANT, USER, CONSENT = table_of(Participant), table_of(User), table_of(Consent)
REVIEW, RISK, INCIDENT = table_of(GroupReview), table_of(RiskAssessment), table_of(Incident)
WAIVER, ROSTER, ROSTER_ENTRY = table_of(Waiver), table_of(GroupRoster), table_of(RosterEntry)
POLICY_VERSION, POLICY_CLAUSE = table_of(PolicyVersion), table_of(PolicyClause)
DECLARATION = table_of(StaffDeclaration)

SERIOUS = ("high", "critical")


# The consents the group rules read (GRP-ESAFETY-AGREEMENT, GRP-IMAGE-CONSENT,
# GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT): no other kind is loaded.
CONSENT_KINDS_READ = ("esafety_agreement", "image_use", "code_of_conduct")


_AS_OF = sa.bindparam("as_of", type_=sa.Date())


# The first instant after the organisation's day `as_of` (UTC): what was stamped before it was done by then.
_AS_OF_END = sa.bindparam("as_of_end", type_=UTCDateTime())


_GROUP_ID = sa.bindparam("group_id", type_=GROUP.c.id.type)


def _plain(column: sa.Column[Any]) -> ColumnElement[Any]:
    """A column as the driver returns it: ids as UUIDs (PostgreSQL) or 32 hex digits (SQLite), dates as dates
    or ISO text, enums as text, booleans as booleans or 0/1. SQLAlchemy's own conversions (UUID objects, a
    regular expression per date) were most of a large group's time."""
    return sa.type_coerce(column, sa.String)


# A person's id as a UUID; the ids of consents stay as read (only a refusal's message shows one).
_uuid = uuid_of


def _day(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _day_or_none(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _current_on(table: sa.Table, on: date | sa.BindParameter[date]) -> ColumnElement[bool]:
    return sa.and_(table.c.started_on <= on, sa.or_(table.c.ended_on.is_(None), table.c.ended_on > on))


_STAFF_COLUMNS = (
    _plain(STAFF.c.id),
    STAFF.c.full_name,
    STAFF.c.email,
    _plain(STAFF.c.started_on),
    _plain(STAFF.c.left_on),
    _plain(STAFF.c.is_esafety_coordinator),
    _plain(STAFF.c.uses_social_media_for_work),
    _plain(STAFF.c.code_of_conduct_signed_on),
    _plain(STAFF.c.esafety_training_completed_on),
    sa.exists().where(USER.c.staff_id == STAFF.c.id, USER.c.is_active.is_(True)),
)


# The same for the group loads, less whether the person has an enabled account: no group rule reads it (only
# STF-NO-ACCESS-AFTER-LEAVING), and asking it on every member row cost planning and a lookup per row.
_GROUP_STAFF_COLUMNS = (*_STAFF_COLUMNS[:-1], sa.null())


_GROUP_COLUMNS = (
    GROUP.c.id,
    GROUP.c.name,
    GROUP.c.platform,
    GROUP.c.visibility,
    GROUP.c.join_approval,
    GROUP.c.started_on,
    GROUP.c.min_age,
    GROUP.c.max_age,
    GROUP.c.shares_images,
    GROUP.c.archived_on,
    GROUP.c.messages_seen_by_all,
)


_ONE_GROUP = sa.select(*_GROUP_COLUMNS).where(GROUP.c.id == _GROUP_ID)


# Staff evaluate only the groups they are in today: reach's own condition, with parameters, so the
# statement is compiled once for every member of staff.
_ONE_GROUP_IN_REACH = _ONE_GROUP.where(GROUP.c.id.in_(OWN_GROUPS_PARAMETRISED))


@dataclass(frozen=True)
class _Queries:
    """The six statements that load every group fact, for the groups one filter names; `as_of` is bound. They
    run through `fetch`, so SQLAlchemy's column types play no part in what their rows hold."""

    consents: Select[Any]
    members: Select[Any]
    # Reviews and rosters together (a reconciled roster is a review): one statement, rows told apart by
    # their open counts (null for a review).
    reviews: fetch.Statement
    risks: Select[Any]
    incidents: Select[Any]
    waivers: Select[Any]
    # The declarations of the groups' staff made on or before `as_of` (the declaration rules read them).
    declarations: Select[Any] | None = None
    # The entries of the group's latest roster on `as_of`, whose evidence names each discrepancy: loaded for
    # one group's report only (a status needs the counts alone).
    roster_entries: Select[Any] | None = None
    # The groups' staff, once each: where set (api/compliance/answered.py), `members` names them by id only
    # and `consents` gives the participants' in-force consents for `answered.people_of` to answer ahead.
    staff: Select[Any] | None = None


_WINDOW_FROM = sa.bindparam("window_from", type_=sa.Date())


_WINDOW_TO = sa.bindparam("window_to", type_=sa.Date())


def _queries(in_groups: Callable[[sa.Column[Any]], ColumnElement[bool]], *, window: bool = False) -> _Queries:
    """With `window`, the memberships current on any day from the bound `window_from` to `window_to` (a
    forecast's days, or the past days of a backfilled history), not only on `as_of`: a snapshot keeps
    those in force on its own date."""
    current = (
        sa.and_(
            MEMBERSHIP.c.started_on <= _WINDOW_TO,
            sa.or_(MEMBERSHIP.c.ended_on.is_(None), MEMBERSHIP.c.ended_on > _WINDOW_FROM),
        )
        if window
        else _current_on(MEMBERSHIP, _AS_OF)
    )
    members_here = sa.and_(in_groups(MEMBERSHIP.c.group_id), current)
    participant_ids = sa.select(MEMBERSHIP.c.participant_id).where(
        members_here, MEMBERSHIP.c.participant_id.is_not(None)
    )
    consents = sa.select(
        CONSENT.c.participant_id,
        CONSENT.c.id,
        CONSENT.c.kind,
        # Read as text on both databases (see `fetch`): few distinct values, parsed once each (see
        # `decoding._Purposes`); the JSON type's own decoding dominated the report's time.
        CONSENT.c.purposes,
        CONSENT.c.given_by,
        CONSENT.c.given_on,
        CONSENT.c.expires_on,
        CONSENT.c.withdrawn_on,
    ).where(
        CONSENT.c.participant_id.in_(participant_ids),
        CONSENT.c.kind.in_(CONSENT_KINDS_READ),
        CONSENT.c.created_at < _AS_OF_END,
    )
    # Every statement whose order reaches an answer (a finding's evidence, its digest, an export's rows) has a
    # total order, by the same keys on both databases, the id last: without one, PostgreSQL returns rows in
    # whatever order its plan leaves them, and SQLite in its index's. Ids sort alike on both (SQLite's 32 hex
    # digits, PostgreSQL's uuid bytes).
    consents = consents.order_by(CONSENT.c.created_at, CONSENT.c.id)
    members = (
        sa.select(
            MEMBERSHIP.c.group_id,
            MEMBERSHIP.c.participant_id,
            MEMBERSHIP.c.role,
            MEMBERSHIP.c.started_on,
            MEMBERSHIP.c.ended_on,
            *_GROUP_STAFF_COLUMNS,
            PARTICIPANT.c.full_name,
            PARTICIPANT.c.date_of_birth,
            PARTICIPANT.c.joined_on,
            PARTICIPANT.c.left_on,
        )
        .select_from(
            MEMBERSHIP.outerjoin(STAFF, STAFF.c.id == MEMBERSHIP.c.staff_id).outerjoin(
                PARTICIPANT, PARTICIPANT.c.id == MEMBERSHIP.c.participant_id
            )
        )
        .where(members_here)
        .order_by(MEMBERSHIP.c.created_at, MEMBERSHIP.c.id)
    )
    no_count = sa.cast(sa.null(), sa.Integer)
    reviews = sa.union_all(
        sa.select(
            REVIEW.c.group_id,
            REVIEW.c.id,
            REVIEW.c.reviewed_on,
            REVIEW.c.reviewed_by_id,
            no_count,
            no_count,
            no_count,
            no_count,
            REVIEW.c.created_at.label("uploaded_at"),
        ).where(
            in_groups(REVIEW.c.group_id), REVIEW.c.reviewed_on <= _AS_OF, REVIEW.c.created_at < _AS_OF_END
        ),
        sa.select(
            ROSTER.c.group_id,
            ROSTER.c.id,
            ROSTER.c.captured_on,
            ROSTER.c.uploaded_by_id,
            _still_open("unknown"),
            _still_open("probable"),
            sa.case((ROSTER.c.uploaded_by_type == "user", 1), else_=0),
            # Applied by then: a person acted on it (an API key may not apply).
            sa.case((ROSTER.c.applied_at < _AS_OF_END, 1), else_=0),
            ROSTER.c.created_at,
        ).where(in_groups(ROSTER.c.group_id), _roster_known),
    ).order_by(sa.literal_column("uploaded_at"), sa.literal_column("id"))
    assessor_uses_group = sa.exists().where(
        MEMBERSHIP.c.group_id == RISK.c.group_id, MEMBERSHIP.c.staff_id == RISK.c.assessed_by_id
    )
    risks = (
        sa.select(
            RISK.c.group_id,
            RISK.c.id,
            RISK.c.assessed_on,
            RISK.c.privacy_features_checked,
            assessor_uses_group,
            *_GROUP_STAFF_COLUMNS,
            RISK.c.created_at,
        )
        .select_from(RISK.join(STAFF, STAFF.c.id == RISK.c.assessed_by_id))
        .where(in_groups(RISK.c.group_id), RISK.c.assessed_on <= _AS_OF, RISK.c.created_at < _AS_OF_END)
        .order_by(RISK.c.created_at, RISK.c.id)
    )
    incidents = _in_recording_order(
        INCIDENT, "group_id", "id", "severity", "category", "status", "created_at", "closed_at"
    ).where(in_groups(INCIDENT.c.group_id), INCIDENT.c.severity.in_(SERIOUS))
    waivers = _in_recording_order(
        WAIVER, "group_id", "id", "rule_id", "reason", "created_at", "expires_on", "revoked_at"
    ).where(in_groups(WAIVER.c.group_id))
    staff_ids = sa.select(MEMBERSHIP.c.staff_id).where(members_here, MEMBERSHIP.c.staff_id.is_not(None))
    declarations = _declarations(DECLARATION.c.staff_id.in_(staff_ids))
    return _Queries(consents, members, reviews, risks, incidents, waivers, declarations)


def _in_recording_order(table: sa.Table, *columns: str) -> Select[Any]:
    """`columns` of `table`, its rows in the order they were recorded, the id breaking ties."""
    return sa.select(*(table.c[name] for name in columns)).order_by(table.c.created_at, table.c.id)


def _declarations(staff_condition: ColumnElement[bool]) -> Select[Any]:
    """The declarations of the staff `staff_condition` names, made and recorded by `as_of`, oldest first (so
    the last one read for a person is their latest)."""
    return (
        sa.select(
            DECLARATION.c.staff_id,
            DECLARATION.c.id,
            DECLARATION.c.declared_on,
            DECLARATION.c.policy_version,
            DECLARATION.c.read_policy,
            DECLARATION.c.profile_private,
            DECLARATION.c.no_young_friends,
            DECLARATION.c.no_personal_messages,
            DECLARATION.c.no_personal_follows,
        )
        .where(staff_condition, DECLARATION.c.declared_on <= _AS_OF, DECLARATION.c.created_at < _AS_OF_END)
        .order_by(DECLARATION.c.declared_on, DECLARATION.c.created_at, DECLARATION.c.id)
    )


# A roster counts on `as_of` once it was taken and uploaded by the end of that day.
_roster_known = sa.and_(ROSTER.c.captured_on <= _AS_OF, ROSTER.c.created_at < _AS_OF_END)


def _still_open(match: str) -> sa.ScalarSelect[Any]:
    """How many of the roster's entries matched `match` had no answer by the end of `as_of`."""
    e = ROSTER_ENTRY.c
    return (
        sa.select(sa.func.count())
        .where(
            e.roster_id == ROSTER.c.id,
            e.match == match,
            sa.or_(e.resolution.is_(None), e.resolved_at >= _AS_OF_END),
        )
        .scalar_subquery()
    )


def _roster_entries() -> Select[Any]:
    """The entries of the one group's latest roster on `as_of` (as the rule picks it: taken last, then
    uploaded last), each with its answer if made by then and the person it names."""
    e = ROSTER_ENTRY.c
    latest = (
        sa.select(ROSTER.c.id)
        .where(ROSTER.c.group_id == _GROUP_ID, _roster_known)
        .order_by(ROSTER.c.captured_on.desc(), ROSTER.c.created_at.desc(), ROSTER.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    answered = e.resolved_at < _AS_OF_END
    return (
        sa.select(
            e.roster_id,
            e.id,
            e.row,
            sa.func.coalesce(e.display_name, e.handle, e.email, e.phone),
            e.platform_role,
            e.match,
            sa.case((answered, e.resolution), else_=sa.null()),
            e.staff_id,
            STAFF.c.full_name,
            STAFF.c.started_on,
            STAFF.c.left_on,
            e.participant_id,
            PARTICIPANT.c.full_name,
            PARTICIPANT.c.joined_on,
            PARTICIPANT.c.left_on,
            PARTICIPANT.c.date_of_birth,
        )
        .select_from(
            ROSTER_ENTRY.outerjoin(STAFF, STAFF.c.id == e.staff_id).outerjoin(
                PARTICIPANT, PARTICIPANT.c.id == e.participant_id
            )
        )
        .where(e.roster_id == latest)
        .order_by(e.row, e.id)
    )


_ONE_GROUP_QUERIES = replace(_queries(lambda column: column == _GROUP_ID), roster_entries=_roster_entries())
# One group's current memberships alone, in the members statement's order: who is a member, as what and
# since when, for a load that has the people's own facts already (`loading.load_group`'s `people`).
_ONE_GROUP_MEMBERSHIPS = (
    sa.select(
        MEMBERSHIP.c.participant_id,
        MEMBERSHIP.c.staff_id,
        MEMBERSHIP.c.role,
        MEMBERSHIP.c.started_on,
        MEMBERSHIP.c.ended_on,
    )
    .where(MEMBERSHIP.c.group_id == _GROUP_ID, _current_on(MEMBERSHIP, _AS_OF))
    .order_by(MEMBERSHIP.c.created_at, MEMBERSHIP.c.id)
)


# Every group active on `as_of`, by name: the organisation report of a caller who reaches every group, its
# commonest form. Built once, so that `fetch` writes its SQL once (`reuse`), as for one group's loads.
_ACTIVE = sa.and_(
    GROUP.c.started_on <= _AS_OF, sa.or_(GROUP.c.archived_on.is_(None), GROUP.c.archived_on > _AS_OF)
)
_EVERY_ACTIVE = sa.select(*_GROUP_COLUMNS).where(_ACTIVE).order_by(GROUP.c.name, GROUP.c.id)
