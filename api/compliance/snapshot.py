"""The plain data a rule reads: loaded once by `loading`, then evaluated with no database in sight.

Everything is immutable, so a rule cannot change what the next rule sees. The records built once per member
or consent (`MemberFacts`, `ParticipantFacts`, `ConsentFact`) are NamedTuples rather than frozen dataclasses:
as immutable, and about a quarter of the cost to build (see bench/README.md). Dated facts are kept with their
dates (a membership's start and end, a consent's given/expiry/withdrawal dates), so a rule decides "as of"
`snapshot.as_of` itself and a hand-built snapshot in a test can hold facts that are not in force.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from api.common import in_force
from api.compliance.consent_answers import Answers
from api.consents.logic import ConsentFact
from api.rosters.match import Person


def _known_on(claimed: date, recorded: date | None) -> date:
    """The first day a record shows what it claims: the later of the day it claims and the day it was
    recorded (None, in a hand-built snapshot: the day it claims). A record entered after the fact cannot
    show that something was done before then (issue 15)."""
    return max(claimed, recorded or claimed)


class _Assessment:
    """What a risk or technology assessment knows of its own day (each a dataclass declaring both fields)."""

    __slots__ = ()
    assessed_on: date
    recorded_on: date | None

    @property
    def known_on(self) -> date:
        """The first day the record shows it: the later of its claimed day and the day it was recorded."""
        return _known_on(self.assessed_on, self.recorded_on)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """A copy of the organisation's policy settings (today's, whatever the evaluation date)."""

    min_group_admins: int = 2
    review_interval_days: int = 90
    risk_assessment_valid_days: int = 365
    training_valid_days: int = 365
    self_consent_min_age: int = 18
    official_email_domains: tuple[str, ...] = ("moremusic.org.uk",)
    declaration_valid_days: int = 365


@dataclass(frozen=True, slots=True)
class PolicyFacts:
    """The policy's versions as they stood on the evaluation date: the words in force (clause id -> text, for
    findings to quote) and the latest version published by then (the one staff declare against)."""

    number: int
    effective_on: date
    texts: Mapping[str, str]
    latest_published: int


@dataclass(frozen=True, slots=True)
class DeclarationFacts:
    """A member of staff's declaration of their personal social media conduct (api/declarations), made for
    one version of the policy. Each statement is what they declared: False is a declared breach."""

    id: uuid.UUID
    declared_on: date
    policy_version: int
    read_policy: bool
    profile_private: bool
    no_young_friends: bool
    no_personal_messages: bool
    no_personal_follows: bool

    def untrue(self, in_force: Mapping[str, str] | None = None) -> list[str]:
        """The statements they could not declare true, leaving out those whose sentence the policy in force
        (`in_force`: clause id -> words; None, not loaded: every one counts) no longer has: a duty dropped
        is not a breach."""
        return [
            label
            for label, held, clause_id in (
                ("has read the policy", self.read_policy, None),
                ("profile visible to friends only", self.profile_private, "REC-PROFILE-PRIVATE"),
                ("no young or vulnerable people as friends", self.no_young_friends, "REC-NO-YOUNG-FRIENDS"),
                (
                    "no chat or personal messages with young people",
                    self.no_personal_messages,
                    "REC-NO-PERSONAL-MESSAGES",
                ),
                (
                    "no following young people on personal accounts",
                    self.no_personal_follows,
                    "REC-NO-TWITTER-FOLLOWING",
                ),
            )
            if not held and (clause_id is None or in_force is None or clause_id in in_force)
        ]


@dataclass(frozen=True, slots=True)
class StaffFacts:
    id: uuid.UUID
    full_name: str
    email: str
    started_on: date
    left_on: date | None = None
    is_esafety_coordinator: bool = False
    uses_social_media_for_work: bool = False
    code_of_conduct_signed_on: date | None = None
    esafety_training_completed_on: date | None = None
    # Today's state (accounts keep no history); None where it was not loaded: a group evaluation does not.
    has_active_account: bool | None = None
    # Their declarations made on or before the date the facts were loaded for, oldest first. A forecast or a
    # backfilled history reads other days from one load, so the rules ask `declaration_on(day)`.
    declarations: tuple[DeclarationFacts, ...] = ()

    def declaration_on(self, on: date, in_force: int | None = None) -> DeclarationFacts | None:
        """Their declaration that stands on `on` (None: never declared by then): of those made on or before
        `on` for a version of the policy in force by then, the latest for the newest version. One for a
        version numbered above `in_force` (published, not yet in force) counts only once that version is in
        force (None: every version counts); then it stands over a later one made for the older version."""
        found: DeclarationFacts | None = None
        for d in self.declarations:  # oldest first: of one version, the last read is the latest
            if d.declared_on > on or (in_force is not None and d.policy_version > in_force):
                continue
            if found is None or d.policy_version >= found.policy_version:
                found = d
        return found

    def employed_on(self, on: date) -> bool:
        return in_force(self.started_on, self.left_on, on)

    def departed_by(self, on: date) -> bool:
        return self.left_on is not None and self.left_on <= on


def uuid_of(raw: uuid.UUID | str) -> uuid.UUID:
    """An id as the compliance loads read it (api/compliance/fetch.py), as a UUID: SQLite's 32 hex digits,
    PostgreSQL's hyphenated text, or a UUID already (a hand-built snapshot, a load through SQLAlchemy)."""
    if isinstance(raw, uuid.UUID):
        return raw
    # 32 hex digits through `int=`: cheaper than `hex=`, which strips and checks the text first.
    return uuid.UUID(int=int(raw, 16)) if len(raw) == 32 else uuid.UUID(raw)


class ParticipantFacts(NamedTuple):
    # The id as 32 hex digits, SQLite's form, on both databases (the loads strip psycopg's hyphens), or a
    # UUID in a hand-built snapshot. Only a finding that names the participant needs it as a UUID (`id`);
    # making one for every member of a large group was a noticeable part of its evaluation (bench/README.md).
    raw_id: uuid.UUID | str
    full_name: str
    date_of_birth: date
    joined_on: date
    left_on: date | None = None
    consents: tuple[ConsentFact, ...] = ()
    # Where the consents were answered ahead for `as_of` in the load (the organisation report's load:
    # api/compliance/consent_answers.py), their answers, and `consents` is empty; None where they are loaded.
    answers: Answers | None = None

    @property
    def id(self) -> uuid.UUID:
        return uuid_of(self.raw_id)

    def departed_by(self, on: date) -> bool:
        return self.left_on is not None and self.left_on <= on


class MemberFacts(NamedTuple):
    """One membership: exactly one of `staff` and `participant` is set."""

    role: str  # "admin" or "member"
    started_on: date
    ended_on: date | None = None
    staff: StaffFacts | None = None
    participant: ParticipantFacts | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class GroupFacts:
    id: uuid.UUID
    name: str
    platform: str
    visibility: str
    join_approval: str
    started_on: date
    min_age: int | None = None
    max_age: int | None = None
    shares_images: bool = False
    archived_on: date | None = None
    messages_seen_by_all: bool | None = True  # None: not recorded


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    id: uuid.UUID
    reviewed_on: date
    reviewed_by_id: uuid.UUID


class RosterEntryFacts(NamedTuple):
    """One person on a platform's member list, with the answer given for it as it stood on `as_of` (an
    answer made later is not there yet)."""

    id: uuid.UUID
    row: int
    shown_as: str  # what the platform showed: the name, else the handle, email or phone
    platform_role: str  # admin, moderator or member
    match: str  # certain, probable or unknown
    resolution: str | None = None  # confirmed, identified or removed, if answered by `as_of`
    # The person matched (or identified), as reconciliation reads them: enough to judge whether they should
    # be on the platform on `as_of`.
    person: Person | None = None


@dataclass(frozen=True, slots=True)
class RosterFacts:
    """A member list uploaded from the platform (api/rosters) on or before `as_of`: when it was taken and how
    many of its entries still waited for an answer on `as_of` (answers are dated: one made later does not
    count). A group's rosters come in the order they were uploaded. `entries` are loaded for the latest
    only, and only where the evidence is shown (one group's report); None where not loaded."""

    id: uuid.UUID
    captured_on: date
    open_unknown: int = 0
    open_probable: int = 0
    entries: tuple[RosterEntryFacts, ...] | None = None
    by_person: bool = True  # uploaded by a signed-in person, not a platform connector's API key
    applied: bool = False  # applied (by a person: a key may not) by the end of `as_of`

    @property
    def reconciled(self) -> bool:
        """Every person on the list is accounted for: then the list is a review of who is in the group."""
        return self.open_unknown == 0 and self.open_probable == 0

    @property
    def reviewed(self) -> bool:
        """The list counts as the group's periodic review: reconciled, and a person looked at it (they
        uploaded it, or applied a connector's list). A connector's upload alone is nobody looking."""
        return self.reconciled and (self.by_person or self.applied)


@dataclass(frozen=True, slots=True)
class RiskAssessmentFacts(_Assessment):
    id: uuid.UUID
    assessed_on: date
    assessor: StaffFacts
    assessor_uses_group: bool  # the assessor is, was or will be a staff member of the group
    privacy_features_checked: bool = False
    # The organisation's day it was recorded here (created_at); None in a hand-built snapshot: on assessed_on.
    recorded_on: date | None = None


@dataclass(frozen=True, slots=True)
class IncidentFacts:
    """Only what a rule needs: never the summary or details, which may name people."""

    id: uuid.UUID
    severity: str
    category: str
    status: str
    reported_on: date
    closed_on: date | None = None

    def open_on(self, on: date) -> bool:
        """Reported on or before `on` and not yet closed then (closed that day counts as closed)."""
        return self.reported_on <= on and (self.closed_on is None or self.closed_on > on)


@dataclass(frozen=True, slots=True)
class GroupSnapshot:
    as_of: date
    thresholds: Thresholds
    group: GroupFacts
    members: tuple[MemberFacts, ...] = ()
    reviews: tuple[ReviewFacts, ...] = ()
    risk_assessments: tuple[RiskAssessmentFacts, ...] = ()
    incidents: tuple[IncidentFacts, ...] = ()
    rosters: tuple[RosterFacts, ...] = ()
    policy: PolicyFacts | None = None  # None: not loaded (a hand-built snapshot); version 1's words stand
    # Worked out once here, not by each of the many rules that ask.
    _staff: tuple[tuple[MemberFacts, StaffFacts], ...] = field(init=False, repr=False, compare=False)
    _participants: tuple[tuple[MemberFacts, ParticipantFacts], ...] = field(
        init=False, repr=False, compare=False
    )
    _young_people: tuple[ParticipantFacts, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        staff, participants, young_people = [], [], []
        as_of = self.as_of
        # `in_force` written out and the member unpacked: this runs once per member of every group evaluated.
        for m in self.members:
            _, started_on, ended_on, person, participant = m
            if started_on <= as_of and (ended_on is None or as_of < ended_on):
                if person is not None:
                    staff.append((m, person))
                if participant is not None:
                    participants.append((m, participant))
                    young_people.append(participant)
        object.__setattr__(self, "_staff", tuple(staff))
        object.__setattr__(self, "_participants", tuple(participants))
        object.__setattr__(self, "_young_people", tuple(young_people))

    def current_staff(self) -> tuple[tuple[MemberFacts, StaffFacts], ...]:
        return self._staff

    def current_participants(self) -> tuple[tuple[MemberFacts, ParticipantFacts], ...]:
        return self._participants

    def current_participant_facts(self) -> tuple[ParticipantFacts, ...]:
        """`current_participants`' facts alone: what most participant rules walk, made once a snapshot
        rather than once a rule."""
        return self._young_people


@dataclass(frozen=True, slots=True)
class GroupMembershipRef:
    group_id: uuid.UUID
    group_name: str
    role: str
    started_on: date
    ended_on: date | None = None


@dataclass(frozen=True, slots=True)
class StaffSnapshot:
    as_of: date
    thresholds: Thresholds
    staff: StaffFacts
    memberships: tuple[GroupMembershipRef, ...] = field(default_factory=tuple)
    policy: PolicyFacts | None = None

    def current_memberships(self) -> list[GroupMembershipRef]:
        return [m for m in self.memberships if in_force(m.started_on, m.ended_on, self.as_of)]


@dataclass(frozen=True, slots=True)
class CheckFacts:
    id: uuid.UUID
    performed_on: date
    issues_found: bool
    has_follow_up: bool


@dataclass(frozen=True, slots=True)
class ControlFacts:
    """A recurring control of the register (api/controls) and its checks made on or before the date."""

    id: uuid.UUID
    code: str
    name: str
    owner: StaffFacts | None
    cadence_days: int
    warn_within_days: int
    checks: tuple[CheckFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class TechnologyAssessmentFacts(_Assessment):
    id: uuid.UUID
    assessed_on: date  # the day the assessment says it was made
    decision: str  # approved, approved_with_conditions, rejected
    # The organisation's day it was recorded here (created_at); None in a hand-built snapshot: on assessed_on.
    recorded_on: date | None = None


@dataclass(frozen=True, slots=True)
class TechnologyFacts:
    id: uuid.UUID
    name: str
    first_used_on: date | None
    retired_on: date | None = None
    assessments: tuple[TechnologyAssessmentFacts, ...] = ()

    def in_use_on(self, on: date) -> bool:
        return self.first_used_on is not None and in_force(self.first_used_on, self.retired_on, on)


@dataclass(frozen=True, slots=True)
class OrgSnapshot:
    as_of: date
    thresholds: Thresholds
    coordinators: tuple[StaffFacts, ...] = ()  # every staff record flagged as coordinator, past or present
    policy: PolicyFacts | None = None
    controls: tuple[ControlFacts, ...] = ()  # the register's controls not ended on the date
    technologies: tuple[TechnologyFacts, ...] = ()
