"""Compliance: the only module here that touches the database.

Each report loads its snapshot in a fixed number of Core column queries (no ORM objects, no lazy loads, no
query per member or per group), then hands plain data to the pure engine. The organisation report runs the
same queries once for every group at the same time, so its cost in queries does not grow with the groups.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session, SQLModel, col, select

from api import clock, crud
from api import models as _tables  # noqa: F401  (registers every table in the metadata read below)
from api.audit import service as audit
from api.auth.principal import Principal
from api.auth.reach import OWN_GROUPS_PARAMETRISED, Reach, Record
from api.compliance import fetch, history, org_facts
from api.compliance.declarations import redact as redact_declarations
from api.compliance.engine import (
    Evaluation,
    Finding,
    Status,
    WaiverFacts,
    aggregate_staff_rule,
    cite,
    evaluate,
    finding,
    redact_hidden_roster_matches,
    redact_participants,
    redact_rosters,
    run,
    summarise,
)
from api.compliance.models import Waiver, WaiverCreate
from api.compliance.rules import GROUP_RULE_IDS, GROUP_RULES, ORG_RULES, STAFF_RULES
from api.compliance.rules.base import Outcome
from api.compliance.snapshot import (
    DeclarationFacts,
    GroupFacts,
    GroupMembershipRef,
    GroupSnapshot,
    IncidentFacts,
    MemberFacts,
    OrgSnapshot,
    ParticipantFacts,
    PolicyFacts,
    ReviewFacts,
    RiskAssessmentFacts,
    RosterEntryFacts,
    RosterFacts,
    StaffFacts,
    StaffSnapshot,
    Thresholds,
)
from api.consents.logic import ConsentFact
from api.db import UTCDateTime, utcnow
from api.errors import Conflict, NotFound, Unprocessable
from api.groups.models import Platform
from api.participants.models import Participant
from api.policy.models import PolicySettingsBase
from api.rosters.match import Person

_T = SQLModel.metadata.tables
GROUP, MEMBERSHIP, STAFF, PARTICIPANT = _T["online_group"], _T["membership"], _T["staff"], _T["participant"]
USER, CONSENT, REVIEW, RISK = _T["user_account"], _T["consent"], _T["group_review"], _T["risk_assessment"]
INCIDENT, WAIVER, ROSTER = _T["incident"], _T["compliance_waiver"], _T["group_roster"]
ROSTER_ENTRY = _T["roster_entry"]
POLICY_VERSION, POLICY_CLAUSE = _T["policy_version"], _T["policy_clause"]
DECLARATION = _T["staff_declaration"]

SERIOUS = ("high", "critical")
# The consents the group rules read (GRP-ESAFETY-AGREEMENT, GRP-IMAGE-CONSENT,
# GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT): no other kind is loaded.
CONSENT_KINDS_READ = ("esafety_agreement", "image_use", "code_of_conduct")

# What the response tells its reader: which facts were taken as they stood on `as_of`, which are today's.
FACTS: dict[str, list[str]] = {
    "dated": [
        "memberships (started_on, ended_on)",
        "staff employment (started_on, left_on)",
        "participants taking part (joined_on, left_on) and their ages",
        "consents (given_on and recorded by as_of, expires_on, withdrawn_on)",
        "staff code of conduct and e-safety training dates",
        "group start date",
        "reviews and risk assessments (on or before as_of, and recorded by then)",
        "rosters (taken and uploaded on or before as_of) and the answers for their entries (made on or "
        "before as_of)",
        "incidents (reported on or before as_of, not closed by then)",
        "waivers (granted, expires_on, revoked)",
        "the policy version in force (effective_on) and the latest published (published_on)",
        "staff declarations (declared_on), control checks and technology assessments (on or before as_of, "
        "recorded by then)",
    ],
    "current": [
        "policy settings (today's thresholds)",
        "group settings (platform, visibility, join approval, age range, shares images, messages seen by "
        "all)",
        "staff flags (e-safety coordinator, uses social media for work) and email addresses",
        "incident severity and status labels",
        "sign-in accounts (enabled or not)",
        "whom a roster entry answered as identified names (an earlier probable match is not kept)",
        "controls (owner, cadence) and technologies (first used, retired)",
    ],
}


# ---------------------------------------------------------------------------------------------------------
# Reach


def _redact_for(session: Session, reach: Reach, evaluation: Evaluation) -> Evaluation:
    """Children's names only for callers who may see those children today (their `Reach`): none for those
    who reach no participant (trustees), all for those who reach every one, and otherwise only the
    children in reach today, so that an `as_of` in the past cannot show a child who has since moved out.
    Who is on a platform's member list only for callers who read rosters' contents (trustees: the counts).
    What a member of staff declared only to themselves and to callers who read every declaration (the
    coordinator); anyone else sees whether a current declaration stands (`redact_declarations`)."""
    if not reach.reads(Record.roster) or reach.reads_counts_only(Record.roster):
        evaluation = redact_rosters(evaluation)
    if not reach.reads_every(Record.declaration):
        own = reach.actor.staff_id if reach.reads_declaration_answers(reach.actor.staff_id) else None
        evaluation = redact_declarations(evaluation, own)
    if not reach.reads(Record.participant):
        return redact_participants(evaluation)
    if reach.reads_every(Record.participant):
        return evaluation
    named = {e.id for f in evaluation.findings for e in f.evidence if e.type == "participant"}
    if not named:
        return evaluation
    reachable = set(
        session.exec(
            select(col(Participant.id)).where(
                col(Participant.id).in_(named), reach.participants(Participant.id)
            )
        ).all()
    )
    evaluation = redact_hidden_roster_matches(evaluation, named - reachable)
    return redact_participants(evaluation, keep=reachable)


def check_as_of(as_of: date | None) -> date:
    today = clock.today()
    if as_of is None:
        return today
    if as_of > today:
        raise Unprocessable.field("as_of", f"as_of ({as_of}) is in the future; facts after today are unknown")
    return as_of


# ---------------------------------------------------------------------------------------------------------
# Loading: a fixed number of queries, whatever the size
#
# The statements are built once (the values are bound parameters). The group loads run through `fetch` (the
# driver's cursor; one round trip on PostgreSQL), whose rows come back as the driver returns them and are
# read by `fetch.Reader`; the staff loads run on the session's connection, with the columns the loops read
# `_plain` so that SQLAlchemy does not convert them either (measured in bench/README.md).

POLICY = _T["policy_settings"]
_AS_OF = sa.bindparam("as_of", type_=sa.Date())
# The first instant after the organisation's day `as_of` (UTC): what was stamped before it was done by then.
_AS_OF_END = sa.bindparam("as_of_end", type_=UTCDateTime())
_GROUP_ID = sa.bindparam("group_id", type_=GROUP.c.id.type)


def _plain(column: sa.Column[Any]) -> ColumnElement[Any]:
    """A column as the driver returns it: ids as UUIDs (PostgreSQL) or 32 hex digits (SQLite), dates as dates
    or ISO text, enums as text, booleans as booleans or 0/1. SQLAlchemy's own conversions (UUID objects, a
    regular expression per date) were most of a large group's time."""
    return sa.type_coerce(column, sa.String)


def _uuid(value: uuid.UUID | str) -> uuid.UUID:
    # A person's id as a UUID; the ids of consents stay as read (only a refusal's message shows one). From
    # SQLite's hex through `int=`: about 5x cheaper than `hex=`, which strips and checks the text first.
    return value if isinstance(value, uuid.UUID) else uuid.UUID(int=int(value, 16))


def _day(value: date | str) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _day_or_none(value: date | str | None) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


_THRESHOLDS = sa.select(
    POLICY.c.min_group_admins,
    POLICY.c.review_interval_days,
    POLICY.c.risk_assessment_valid_days,
    POLICY.c.training_valid_days,
    POLICY.c.self_consent_min_age,
    POLICY.c.official_email_domains,
    POLICY.c.declaration_valid_days,
).order_by(POLICY.c.created_at)


@cache
def _default_thresholds() -> Thresholds:
    s = PolicySettingsBase()
    return _to_thresholds(
        (
            s.min_group_admins,
            s.review_interval_days,
            s.risk_assessment_valid_days,
            s.training_valid_days,
            s.self_consent_min_age,
            s.official_email_domains,
            s.declaration_valid_days,
        )
    )


def _to_thresholds(r: Sequence[Any]) -> Thresholds:
    return Thresholds(r[0], r[1], r[2], r[3], r[4], tuple(d.lower() for d in r[5]), r[6])


def _thresholds(session: Session) -> Thresholds:
    """The policy settings in force, as `policy_service.get` reads them (the defaults if none were saved), in
    one Core query rather than an ORM object."""
    row = session.connection().execute(_THRESHOLDS).first()
    return _to_thresholds(row) if row is not None else _default_thresholds()


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


@dataclass
class _Loaded:
    # Keyed by the group's raw id (see `_plain`).
    members: dict[Any, list[MemberFacts]]
    reviews: dict[Any, list[ReviewFacts]]
    rosters: dict[Any, list[RosterFacts]]
    risks: dict[Any, list[RiskAssessmentFacts]]
    # The latest roster's entries, by the roster's raw id (one group's report only).
    roster_entries: dict[Any, list[RosterEntryFacts]]
    incidents: dict[Any, list[IncidentFacts]]
    waivers: dict[Any, dict[str, WaiverFacts]]
    policy: PolicyFacts | None = None


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
        # As text: few distinct values, parsed once each (see `_purposes`); the JSON type's own decoding
        # dominated the report's time.
        sa.cast(CONSENT.c.purposes, sa.Text),
        CONSENT.c.given_by,
        CONSENT.c.given_on,
        CONSENT.c.expires_on,
        CONSENT.c.withdrawn_on,
    ).where(
        CONSENT.c.participant_id.in_(participant_ids),
        CONSENT.c.kind.in_(CONSENT_KINDS_READ),
        CONSENT.c.created_at < _AS_OF_END,
    )
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
    ).order_by(sa.literal_column("uploaded_at"))
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
    )
    incidents = sa.select(
        INCIDENT.c.group_id,
        INCIDENT.c.id,
        INCIDENT.c.severity,
        INCIDENT.c.category,
        INCIDENT.c.status,
        INCIDENT.c.created_at,
        INCIDENT.c.closed_at,
    ).where(in_groups(INCIDENT.c.group_id), INCIDENT.c.severity.in_(SERIOUS))
    waivers = (
        sa.select(
            WAIVER.c.group_id,
            WAIVER.c.id,
            WAIVER.c.rule_id,
            WAIVER.c.reason,
            WAIVER.c.created_at,
            WAIVER.c.expires_on,
            WAIVER.c.revoked_at,
        )
        .where(in_groups(WAIVER.c.group_id))
        .order_by(WAIVER.c.created_at)
    )
    staff_ids = sa.select(MEMBERSHIP.c.staff_id).where(members_here, MEMBERSHIP.c.staff_id.is_not(None))
    declarations = _declarations(DECLARATION.c.staff_id.in_(staff_ids))
    return _Queries(consents, members, reviews, risks, incidents, waivers, declarations)


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
        .order_by(DECLARATION.c.declared_on, DECLARATION.c.created_at)
    )


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
        .order_by(ROSTER.c.captured_on.desc(), ROSTER.c.created_at.desc())
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
        .order_by(e.row)
    )


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


_ONE_GROUP_QUERIES = replace(_queries(lambda column: column == _GROUP_ID), roster_entries=_roster_entries())

# The policy as it stood on `as_of`: the clauses of the version in force (never a withdrawn one), each row
# also carrying the version's number and effective day and the latest version published by then (and not
# withdrawn by then). A handful of versions, tens
# of clauses: one statement whatever the groups.
_IN_FORCE_ID = (
    sa.select(POLICY_VERSION.c.id)
    .where(POLICY_VERSION.c.effective_on <= _AS_OF, POLICY_VERSION.c.withdrawn_on.is_(None))
    .order_by(POLICY_VERSION.c.effective_on.desc(), POLICY_VERSION.c.number.desc())
    .limit(1)
    .scalar_subquery()
)
_LATEST_PUBLISHED = (
    sa.select(sa.func.max(POLICY_VERSION.c.number))
    .where(
        POLICY_VERSION.c.published_on <= _AS_OF,
        sa.or_(POLICY_VERSION.c.withdrawn_on.is_(None), POLICY_VERSION.c.withdrawn_on > _AS_OF),
    )
    .scalar_subquery()
)
_POLICY_IN_FORCE = (
    sa.select(
        POLICY_VERSION.c.number,
        POLICY_VERSION.c.effective_on,
        _LATEST_PUBLISHED,
        POLICY_CLAUSE.c.clause_id,
        POLICY_CLAUSE.c.text,
    )
    .select_from(POLICY_CLAUSE.join(POLICY_VERSION, POLICY_VERSION.c.id == POLICY_CLAUSE.c.version_id))
    .where(POLICY_CLAUSE.c.version_id == _IN_FORCE_ID)
)


def _policy_facts(rows: Sequence[Sequence[Any]], day: Callable[[Any], date]) -> PolicyFacts | None:
    """The policy on the evaluation date from `_POLICY_IN_FORCE`'s rows; None before any version."""
    if not rows:
        return None
    first = rows[0]
    return PolicyFacts(first[0], day(first[1]), {r[3]: r[4] for r in rows}, first[2] or first[0])


def policy_on(session: Session, as_of: date) -> PolicyFacts | None:
    """`_POLICY_IN_FORCE` on its own, for the loads that do not go through `_load` (the staff report, the
    rule catalog)."""
    rows = session.connection().execute(_POLICY_IN_FORCE, {"as_of": as_of}).all()
    return _policy_facts(rows, _day)


class _Purposes(dict[str, frozenset[str]]):
    """Consent purposes by their JSON text: a handful of distinct values, each parsed once."""

    def __missing__(self, raw: str) -> frozenset[str]:
        value = self[raw] = frozenset(orjson.loads(raw) or ())
        return value


def _load(
    session: Session,
    groups_statement: Select[Any],
    q: _Queries,
    params: dict[str, Any],
    as_of: date,
    *,
    reuse: bool = False,
) -> tuple[list[tuple[Any, GroupFacts]], Thresholds, _Loaded]:
    """The groups `groups_statement` names, the policy thresholds and everything the group rules read about
    those groups: ten statements (the last two: the policy in force, staff declarations; eleven with a
    roster's entries), sent together (see `fetch`)."""
    conn = session.connection()
    rd = fetch.reader(conn)
    params = params | {"as_of_end": clock.start_of(as_of + timedelta(days=1))}
    statements = (groups_statement, _THRESHOLDS, q.consents, q.members, q.reviews, q.risks, q.incidents)
    added = (
        _POLICY_IN_FORCE,
        *([q.declarations] if q.declarations is not None else []),
        *([q.roster_entries] if q.roster_entries is not None else []),
    )
    (
        group_rows,
        policy_rows,
        consent_rows,
        member_rows,
        review_rows,
        risk_rows,
        incident_rows,
        waiver_rows,
        *more,
    ) = fetch.fetch_all(conn, (*statements, q.waivers, *added), params, reuse=reuse)
    policy_in_force = more[0]
    declaration_rows = more[1] if q.declarations is not None else None
    roster_entries: dict[Any, list[RosterEntryFacts]] = defaultdict(list)
    for r in more[-1] if q.roster_entries is not None else ():
        roster_entries[r[0]].append(_entry_facts(r, rd))
    groups = _groups(group_rows, rd)
    if policy_rows:
        p = policy_rows[0]
        thresholds = _to_thresholds((*p[:5], rd.json(p[5]), p[6]))
    else:
        thresholds = _default_thresholds()

    # The hot loops call the reader's converters directly (a None stays None through `x and day(x)`).
    day, to_uuid = rd.day, rd.uuid
    purposes = _Purposes()
    consents: dict[Any, list[ConsentFact]] = defaultdict(list)
    for c in consent_rows:
        consents[c[0]].append(
            ConsentFact(
                c[1],
                c[2],
                purposes[c[3]] if c[3] is not None else frozenset(),
                c[4],
                day(c[5]),
                c[6] and day(c[6]),
                c[7] and day(c[7]),
            )
        )

    members: dict[Any, list[MemberFacts]] = defaultdict(list)
    staff_cache: dict[Any, StaffFacts] = {}
    declared = _declarations_by_staff(declaration_rows, rd.uuid, day) if declaration_rows is not None else {}
    no_consents: tuple[ConsentFact, ...] = ()
    for r in member_rows:
        staff = participant = None
        if r[5] is not None:
            staff = staff_cache.get(r[5])
            if staff is None:
                staff = staff_cache[r[5]] = _staff_facts(r, 5, declared.get(r[5], ()))
        else:
            held = consents.get(r[1])
            participant = ParticipantFacts(
                r[1],
                r[15],
                day(r[16]),
                day(r[17]),
                r[18] and day(r[18]),
                tuple(held) if held else no_consents,
            )
        members[r[0]].append(MemberFacts(r[2], day(r[3]), r[4] and day(r[4]), staff, participant))

    reviews: dict[Any, list[ReviewFacts]] = defaultdict(list)
    rosters: dict[Any, list[RosterFacts]] = defaultdict(list)
    raw_roster_ids: dict[uuid.UUID, Any] = {}
    for r in review_rows:  # in the order they were uploaded
        if r[4] is None:
            reviews[r[0]].append(ReviewFacts(to_uuid(r[1]), day(r[2]), to_uuid(r[3])))
        else:
            roster = RosterFacts(
                to_uuid(r[1]), day(r[2]), r[4], r[5], by_person=bool(r[6]), applied=bool(r[7])
            )
            raw_roster_ids[roster.id] = r[1]
            rosters[r[0]].append(roster)
    if q.roster_entries is not None:
        for group_rosters in rosters.values():
            # The latest as the entries' statement picks it: taken last, then uploaded last.
            latest = sorted(group_rosters, key=lambda f: f.captured_on)[-1]
            entries = tuple(roster_entries.get(raw_roster_ids[latest.id], ()))
            group_rosters[group_rosters.index(latest)] = replace(latest, entries=entries)

    risks: dict[Any, list[RiskAssessmentFacts]] = defaultdict(list)
    for r in risk_rows:
        risks[r[0]].append(
            RiskAssessmentFacts(
                to_uuid(r[1]), day(r[2]), _staff_facts(r, 5), bool(r[4]), bool(r[3]), rd.org_day(r[15])
            )
        )

    incidents: dict[Any, list[IncidentFacts]] = defaultdict(list)
    for r in incident_rows:
        # Timestamps are UTC; the day an incident was reported or closed is the organisation's calendar day.
        closed_on = rd.org_day(r[6]) if r[6] is not None else None
        incidents[r[0]].append(IncidentFacts(to_uuid(r[1]), r[2], r[3], r[4], rd.org_day(r[5]), closed_on))

    waivers: dict[Any, dict[str, WaiverFacts]] = defaultdict(dict)
    for r in waiver_rows:
        revoked_on = rd.org_day(r[6]) if r[6] is not None else None
        w = WaiverFacts(to_uuid(r[1]), to_uuid(r[0]), r[2], r[3], rd.org_day(r[4]), day(r[5]), revoked_on)
        # Several waivers of one rule may exist over time: the one in force on as_of is the one that matters.
        held_waiver = waivers[r[0]].get(r[2])
        if held_waiver is None or not held_waiver.in_force_on(as_of):
            waivers[r[0]][r[2]] = w
    policy = _policy_facts(policy_in_force, day)
    loaded = _Loaded(members, reviews, rosters, risks, roster_entries, incidents, waivers, policy)
    return groups, thresholds, loaded


def _snapshot(
    key: Any, group: GroupFacts, loaded: _Loaded, as_of: date, thresholds: Thresholds
) -> GroupSnapshot:
    return GroupSnapshot(
        as_of=as_of,
        thresholds=thresholds,
        group=group,
        members=tuple(loaded.members.get(key, ())),
        reviews=tuple(loaded.reviews.get(key, ())),
        rosters=tuple(loaded.rosters.get(key, ())),
        risk_assessments=tuple(loaded.risks.get(key, ())),
        incidents=tuple(loaded.incidents.get(key, ())),
        policy=loaded.policy,
    )


def load_group(
    *, session: Session, group_id: uuid.UUID, as_of: date, reach: Reach | None = None
) -> tuple[GroupSnapshot, dict[str, WaiverFacts]]:
    """One group's snapshot and its waivers, in ten statements whatever its size; 404 out of reach
    (`reach` None: the system itself, which reaches every group)."""
    params: dict[str, Any] = {"group_id": group_id, "as_of": as_of}
    own_groups = reach.own_groups_params() if reach is not None else None
    if own_groups is not None:
        statement, params = _ONE_GROUP_IN_REACH, params | own_groups
    elif reach is None or reach.reads_every(Record.group):
        statement = _ONE_GROUP
    else:
        statement = _ONE_GROUP.where(reach.groups(GROUP.c.id))
    groups, thresholds, loaded = _load(session, statement, _ONE_GROUP_QUERIES, params, as_of, reuse=True)
    if not groups:
        raise NotFound(f"No group with id {group_id}")
    key, group = groups[0]
    return _snapshot(key, group, loaded, as_of, thresholds), dict(loaded.waivers.get(key, {}))


# ---------------------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True, slots=True)
class GroupReport:
    group_id: uuid.UUID
    group_name: str
    platform: str
    as_of: date
    status: Status
    counts: dict[str, int]
    findings: tuple[Finding, ...]
    facts: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class StaffReport:
    staff_id: uuid.UUID
    staff_name: str
    as_of: date
    status: Status
    counts: dict[str, int]
    findings: tuple[Finding, ...]
    facts: dict[str, list[str]]


@dataclass(frozen=True, slots=True)
class GroupSummary:
    group_id: uuid.UUID
    group_name: str
    platform: str
    status: Status
    counts: dict[str, int]
    failing_rules: list[str]
    warning_rules: list[str]
    waived_rules: list[str]


@dataclass(frozen=True, slots=True)
class Totals:
    groups: int
    compliant: int
    at_risk: int
    non_compliant: int
    failing_by_rule: dict[str, int]


@dataclass(frozen=True, slots=True)
class OrganisationReport:
    as_of: date
    organisation: Evaluation
    groups: list[GroupSummary]
    totals: Totals
    facts: dict[str, list[str]]


def group_report(*, session: Session, reach: Reach, group_id: uuid.UUID, as_of: date) -> GroupReport:
    """A group's compliance as of a date (staff: only a group they are in today)."""
    snapshot, waivers = load_group(session=session, group_id=group_id, as_of=as_of, reach=reach)
    ev = evaluate(GROUP_RULES, snapshot, waivers)
    ev = cite(ev, snapshot.policy)
    ev = _redact_for(session, reach, ev)
    ev = history.with_since(session=session, group_id=snapshot.group.id, as_of=as_of, evaluation=ev)
    g = snapshot.group
    return GroupReport(g.id, g.name, g.platform, as_of, ev.status, ev.counts, ev.findings, FACTS)


def _staff_snapshots(
    session: Session,
    as_of: date,
    thresholds: Thresholds,
    where: ColumnElement[bool],
    policy: PolicyFacts | None = None,
) -> list[StaffSnapshot]:
    conn = session.connection()
    rows = conn.execute(sa.select(*_STAFF_COLUMNS).where(where).order_by(STAFF.c.full_name, STAFF.c.id)).all()
    refs: dict[uuid.UUID, list[GroupMembershipRef]] = defaultdict(list)
    staff_ids = sa.select(STAFF.c.id).where(where)
    for r in conn.execute(
        sa.select(
            MEMBERSHIP.c.staff_id,
            MEMBERSHIP.c.group_id,
            GROUP.c.name,
            MEMBERSHIP.c.role,
            MEMBERSHIP.c.started_on,
            MEMBERSHIP.c.ended_on,
        )
        .select_from(MEMBERSHIP.join(GROUP, GROUP.c.id == MEMBERSHIP.c.group_id))
        .where(MEMBERSHIP.c.staff_id.in_(staff_ids), _current_on(MEMBERSHIP, as_of))
        .order_by(GROUP.c.name, GROUP.c.id)
    ).all():
        refs[r[0]].append(GroupMembershipRef(r[1], r[2], str(r[3]), r[4], r[5]))
    declared = _declarations_by_staff(
        conn.execute(
            _declarations(DECLARATION.c.staff_id.in_(staff_ids)),
            {"as_of": as_of, "as_of_end": clock.start_of(as_of + timedelta(days=1))},
        ).all(),
        _uuid,
        _day,
    )
    return [
        StaffSnapshot(as_of, thresholds, facts, tuple(refs.get(facts.id, ())), policy)
        for facts in (_staff_facts(r, 0, declared.get(_uuid(r[0]), ())) for r in rows)
    ]


def staff_report(*, session: Session, reach: Reach, staff_id: uuid.UUID, as_of: date) -> StaffReport:
    """One member of staff's compliance (staff: only their own); 404 out of reach, as for an unknown id."""
    if not reach.holds(session, reach.staff_reports, staff_id):
        raise NotFound(f"No staff member with id {staff_id}")
    policy = policy_on(session, as_of)
    snapshots = _staff_snapshots(session, as_of, _thresholds(session), STAFF.c.id == staff_id, policy)
    if not snapshots:
        raise NotFound(f"No staff member with id {staff_id}")
    s = snapshots[0]
    ev = _redact_for(session, reach, cite(evaluate(STAFF_RULES, s), policy))
    return StaffReport(s.staff.id, s.staff.full_name, as_of, ev.status, ev.counts, ev.findings, FACTS)


def _outcomes(findings: Iterable[Finding], outcome: Outcome, *, waived: bool | None = None) -> list[str]:
    return [
        f.rule_id
        for f in findings
        if f.outcome is outcome and (waived is None or (f.waiver is not None) == waived)
    ]


def _active_on(as_of: date) -> ColumnElement[bool]:
    return sa.and_(
        GROUP.c.started_on <= as_of, sa.or_(GROUP.c.archived_on.is_(None), GROUP.c.archived_on > as_of)
    )


def organisation_report(
    *,
    session: Session,
    reach: Reach,
    as_of: date,
    status: Status | None = None,
    platform: Platform | None = None,
    rule: str | None = None,
) -> OrganisationReport:
    """The organisation's own findings and every active group's status, in a fixed number of queries."""
    if rule is not None and rule not in GROUP_RULE_IDS:
        raise Unprocessable.field("rule", f"{rule!r} is not a group rule id (see /api/v1/compliance/rules)")
    active = sa.and_(_active_on(as_of), reach.groups(GROUP.c.id))
    if platform is not None:
        active = sa.and_(active, GROUP.c.platform == platform)
    active_ids = sa.select(GROUP.c.id).where(active)
    groups, thresholds, loaded = _load(
        session,
        sa.select(*_GROUP_COLUMNS).where(active).order_by(GROUP.c.name, GROUP.c.id),
        _queries(lambda column: column.in_(active_ids)),
        {"as_of": as_of},
        as_of,
    )

    summaries: list[GroupSummary] = []
    for key, g in groups:
        ev = evaluate(GROUP_RULES, _snapshot(key, g, loaded, as_of, thresholds), loaded.waivers.get(key))
        if status is not None and ev.status is not status:
            continue
        failing = _outcomes(ev.findings, Outcome.fail, waived=False)
        warning = _outcomes(ev.findings, Outcome.warn, waived=False)
        if rule is not None and rule not in failing and rule not in warning:
            continue
        waived = [f.rule_id for f in ev.findings if f.waiver is not None and f.outcome is not Outcome.pass_]
        summaries.append(
            GroupSummary(g.id, g.name, g.platform, ev.status, ev.counts, failing, warning, waived)
        )

    staff = _staff_snapshots(session, as_of, thresholds, sa.true(), loaded.policy)
    controls, technologies = org_facts.load(session, as_of, {s.staff.id: s.staff for s in staff})
    org = OrgSnapshot(
        as_of,
        thresholds,
        tuple(s.staff for s in staff if s.staff.is_esafety_coordinator),
        loaded.policy,
        controls,
        technologies,
    )
    org_findings = [finding(r, run(r, org)) for r in ORG_RULES]
    org_findings += [finding(r, aggregate_staff_rule(r, staff)) for r in STAFF_RULES]
    organisation = cite(summarise(org_findings), loaded.policy)
    organisation = _redact_for(session, reach, organisation)

    by_rule: dict[str, int] = defaultdict(int)
    for s in summaries:
        for rule_id in s.failing_rules:
            by_rule[rule_id] += 1
    totals = Totals(
        groups=len(summaries),
        compliant=sum(s.status is Status.compliant for s in summaries),
        at_risk=sum(s.status is Status.at_risk for s in summaries),
        non_compliant=sum(s.status is Status.non_compliant for s in summaries),
        failing_by_rule=dict(sorted(by_rule.items())),
    )
    return OrganisationReport(as_of, organisation, summaries, totals, FACTS)


def group_evaluations(
    *, session: Session, as_of: date, group_ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, Evaluation]:
    """The evaluation of every group active on `as_of` (or of those of `group_ids` that are), in the same
    fixed number of queries as the organisation report, however many groups."""
    if group_ids is not None and not group_ids:
        return {}
    chosen = _active_on(as_of)
    if group_ids is not None:
        chosen = sa.and_(chosen, GROUP.c.id.in_(list(group_ids)))
    chosen_ids = sa.select(GROUP.c.id).where(chosen)
    groups, thresholds, loaded = _load(
        session,
        sa.select(*_GROUP_COLUMNS).where(chosen),
        _queries(lambda column: column.in_(chosen_ids)),
        {"as_of": as_of},
        as_of,
    )
    return {
        g.id: evaluate(GROUP_RULES, _snapshot(key, g, loaded, as_of, thresholds), loaded.waivers.get(key))
        for key, g in groups
    }


def group_statuses(
    *, session: Session, as_of: date, group_ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, Status]:
    """The status of every group active on `as_of` (or of those of `group_ids` that are): see
    `group_evaluations`."""
    found = group_evaluations(session=session, as_of=as_of, group_ids=group_ids)
    return {group_id: ev.status for group_id, ev in found.items()}


CSV_COLUMNS = (
    "scope",
    "id",
    "name",
    "platform",
    "status",
    "pass",
    "fail",
    "warn",
    "not_applicable",
    "waived",
    "failing_rules",
    "warning_rules",
    "waived_rules",
)


def report_rows(report: OrganisationReport) -> Iterable[Sequence[object]]:
    """The report as spreadsheet rows: the organisation first, then one row per group."""
    org = report.organisation
    c = org.counts
    yield (
        "organisation",
        "",
        "organisation",
        "",
        org.status,
        c["pass"],
        c["fail"],
        c["warn"],
        c["not_applicable"],
        c["waived"],
        ";".join(_outcomes(org.findings, Outcome.fail)),
        ";".join(_outcomes(org.findings, Outcome.warn)),
        "",
    )
    for g in report.groups:
        c = g.counts
        yield (
            "group",
            g.group_id,
            g.group_name,
            g.platform,
            g.status,
            c["pass"],
            c["fail"],
            c["warn"],
            c["not_applicable"],
            c["waived"],
            ";".join(g.failing_rules),
            ";".join(g.warning_rules),
            ";".join(g.waived_rules),
        )


# ---------------------------------------------------------------------------------------------------------
# Waivers


def _announce(session: Session, group_id: uuid.UUID) -> None:
    # Imported here: the watch is built on this module, so it cannot be imported at the top.
    from api.compliance import watch

    watch.after_write(session, [group_id])


def get_waiver(*, session: Session, waiver_id: uuid.UUID) -> Waiver:
    """One waiver, or 404."""
    return crud.get_or_404(session, Waiver, waiver_id, "waiver")


def list_waivers(
    *,
    session: Session,
    reach: Reach,
    limit: int,
    offset: int,
    group_id: uuid.UUID | None = None,
    rule_id: str | None = None,
    active: bool | None = None,
) -> tuple[list[Waiver], int]:
    """A filtered page of waivers, newest first (staff: only their groups')."""
    query = select(Waiver).where(reach.waivers(Waiver.group_id))
    if group_id is not None:
        query = query.where(Waiver.group_id == group_id)
    if rule_id is not None:
        query = query.where(Waiver.rule_id == rule_id)
    today = clock.today()
    is_active = sa.and_(col(Waiver.revoked_at).is_(None), col(Waiver.expires_on) > today)
    if active is True:
        query = query.where(is_active)
    elif active is False:
        query = query.where(sa.not_(is_active))
    query = query.order_by(col(Waiver.created_at).desc(), col(Waiver.id))
    return crud.page(session, query, limit=limit, offset=offset)


def create_waiver(*, session: Session, actor: Principal, data: WaiverCreate) -> Waiver:
    """Waive one group rule for one group until `expires_on`."""
    if data.rule_id not in GROUP_RULE_IDS:
        raise Unprocessable.field("rule_id", f"{data.rule_id!r} is not a group rule id")
    if session.execute(sa.select(GROUP.c.id).where(GROUP.c.id == data.group_id)).first() is None:
        raise Unprocessable.field("group_id", f"No group with id {data.group_id}")
    if data.expires_on <= clock.today():
        raise Unprocessable.field("expires_on", f"expires_on ({data.expires_on}) must be after today")
    clash = session.exec(
        select(Waiver).where(
            Waiver.group_id == data.group_id,
            Waiver.rule_id == data.rule_id,
            col(Waiver.revoked_at).is_(None),
            col(Waiver.expires_on) > clock.today(),
        )
    ).first()
    if clash is not None:
        raise Conflict(
            f"Waiver {clash.id} already waives {data.rule_id} for this group until {clash.expires_on}",
            extra={"field": "rule_id"},
        )
    waiver = Waiver.model_validate(data, update={"granted_by_id": actor.id, "granted_by_label": actor.label})
    waiver = crud.save(session, waiver, actor=actor, action="compliance_waiver.create")
    _announce(session, waiver.group_id)
    return waiver


def revoke_waiver(*, session: Session, actor: Principal, waiver: Waiver) -> Waiver:
    """End a waiver today; its rule counts against the group's status again."""
    if waiver.revoked_at is not None:
        raise Conflict(f"Waiver {waiver.id} was already revoked on {clock.day_of(waiver.revoked_at)}")
    if waiver.expires_on <= clock.today():
        raise Conflict(f"Waiver {waiver.id} already expired on {waiver.expires_on}")
    before = audit.snapshot(waiver)
    waiver.revoked_at = utcnow()
    waiver.revoked_by_label = actor.label
    waiver = crud.save(session, waiver, actor=actor, action="compliance_waiver.revoke", before=before)
    _announce(session, waiver.group_id)
    return waiver
