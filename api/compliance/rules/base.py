"""What a rule is: metadata as data, plus a pure check over a snapshot that returns an outcome."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Generic, Required, TypedDict, TypeVar, Unpack

from api.common import Severity as Severity
from api.compliance import consent_answers
from api.compliance.snapshot import GroupSnapshot, OrgSnapshot, ParticipantFacts, StaffFacts, StaffSnapshot
from api.compliance.vocabulary import Outcome as Outcome
from api.compliance.vocabulary import Subject as Subject
from api.consents.logic import allows, decide, held_in_force
from api.policy.clauses import Clause, clause


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class Evidence:
    """A record a finding involves. A participant's label is their name: the service hides it from callers
    who may not read participants (trustees)."""

    type: str  # group, staff, participant, incident, risk_assessment, review
    id: uuid.UUID | None  # None only once redacted: a young person the caller may not see
    label: str
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """A rule's verdict. The message never names a participant: names go only in evidence labels."""

    outcome: Outcome
    message: str
    evidence: tuple[Evidence, ...] = ()


S = TypeVar("S", GroupSnapshot, StaffSnapshot, OrgSnapshot)


@dataclass(frozen=True)  # no slots: typing sets __orig_class__ on a subscripted generic's instances
class Rule(Generic[S]):
    id: str
    title: str
    clause: Clause
    severity: Severity
    remediation: str
    subject: Subject
    check: Callable[[S], Result]
    # More sentences the same fact keeps, where one check keeps several (a finding quotes `clause`; the
    # catalog and the coverage map list these too).
    also: tuple[Clause, ...] = ()


GroupRule = Rule[GroupSnapshot]
StaffRule = Rule[StaffSnapshot]
OrgRule = Rule[OrgSnapshot]


class Declared(TypedDict, total=False):
    """What a rule file states about its rule besides the check: the policy sentences go by their ids
    (`api.policy.clauses`; an unknown id fails at import), or as clauses where a shared module keeps them."""

    id: Required[str]
    title: Required[str]
    clause: Required[str | Clause]
    also: tuple[str | Clause, ...]
    severity: Required[Severity]
    remediation: Required[str]


def _cited(c: str | Clause) -> Clause:
    return c if isinstance(c, Clause) else clause(c)


def _declare(subject: Subject, check: Callable[[S], Result], d: Declared) -> Rule[S]:
    also = tuple(_cited(c) for c in d.get("also", ()))
    return Rule(
        d["id"], d["title"], _cited(d["clause"]), d["severity"], d["remediation"], subject, check, also
    )


def group_rule(check: Callable[[GroupSnapshot], Result], /, **declared: Unpack[Declared]) -> GroupRule:
    """The rule `check` judges a group by."""
    return _declare(Subject.group, check, declared)


def staff_rule(check: Callable[[StaffSnapshot], Result], /, **declared: Unpack[Declared]) -> StaffRule:
    """The rule `check` judges a member of staff by."""
    return _declare(Subject.staff, check, declared)


def org_rule(check: Callable[[OrgSnapshot], Result], /, **declared: Unpack[Declared]) -> OrgRule:
    """The rule `check` judges the organisation by."""
    return _declare(Subject.organisation, check, declared)


# Passes and not applicables without evidence made before, by message (a `Result` is immutable): most rules
# of most groups the organisation report evaluates give one of a few sentences. Bounded: emptied when full.
_RESULTS_KEPT = 4096
_passes: dict[str, Result] = {}
_not_applicable: dict[str, Result] = {}


def _kept(results: dict[str, Result], outcome: Outcome, message: str) -> Result:
    made = results.get(message)
    if made is None:
        if len(results) >= _RESULTS_KEPT:
            results.clear()  # one thread's clear racing another's store loses only a store
        made = results[message] = Result(outcome, message)
    return made


def passed(message: str, *evidence: Evidence) -> Result:
    if evidence:
        return Result(Outcome.pass_, message, evidence)
    return _kept(_passes, Outcome.pass_, message)


def failed(message: str, *evidence: Evidence) -> Result:
    return Result(Outcome.fail, message, evidence)


def warned(message: str, *evidence: Evidence) -> Result:
    return Result(Outcome.warn, message, evidence)


def not_applicable(reason: str) -> Result:
    return _kept(_not_applicable, Outcome.not_applicable, reason)


def while_employed(check: Callable[[StaffSnapshot], Result]) -> Callable[[StaffSnapshot], Result]:
    """`check` for a member of staff employed on the snapshot's day; not applicable to anyone else."""

    @functools.wraps(check)
    def judged(s: StaffSnapshot) -> Result:
        if not s.staff.employed_on(s.as_of):
            return not_applicable(f"Not employed on {s.as_of}.")
        return check(s)

    return judged


# The verbs a message agrees with a count (`tally`): "{has}" is "has" for one and "have" for more or none.
_AGREEING = {"has": ("has", "have"), "is": ("is", "are"), "was": ("was", "were"), "s": ("s", "")}
# The same as two ready maps, for one and for any other count: a finding's message is tallied for every rule.
_AGREES = tuple({k: v[plural] for k, v in _AGREEING.items()} for plural in (0, 1))


# Messages tallied before without `values`, by template, count and nouns: a message is a function of them
# alone, and the organisation report words the same few for every group. Bounded: emptied whole when full.
_TALLIED_KEPT = 4096
_tallied: dict[tuple[str, int, str, str | None], str] = {}


def tally(template: str, n: int, noun: str, plural: str | None = None, **values: object) -> str:
    """`template` with "{n}" as the count and its noun ("1 participant", "3 participants"), "{has}",
    "{is}", "{was}" and "{s}" (a verb's -s: "hold{s}") agreeing with it, and `values` by name."""
    if values:
        return template.format(n=count(n, noun, plural), **_AGREES[n != 1], **values)
    key = (template, n, noun, plural)
    made = _tallied.get(key)
    if made is None:
        if len(_tallied) >= _TALLIED_KEPT:
            _tallied.clear()  # one thread's clear racing another's store loses only a store
        made = _tallied[key] = template.format(n=count(n, noun, plural), **_AGREES[n != 1])
    return made


def flag(
    found: Sequence[Evidence],
    noun: str,
    problem: str,
    fine: str,
    *,
    plural: str | None = None,
    outcome: Outcome = Outcome.fail,
    **values: object,
) -> Result:
    """`outcome` (a failure) naming each record in `found`, saying `problem` tallied against how many
    (`tally`, with `values`); a pass saying `fine` when `found` is empty."""
    if found:
        return Result(outcome, tally(problem, len(found), noun, plural, **values), tuple(found))
    return passed(fine)


def each_participant(
    s: GroupSnapshot, lacking: Callable[[list[ParticipantFacts]], list[Evidence]], problem: str, fine: str
) -> Result:
    """Every current participant must have something: a failure naming those `lacking` finds (`problem`,
    tallied), a pass saying `fine` tallied against them all, not applicable to a group with none."""
    participants = list(s.current_participant_facts())
    if not participants:
        return not_applicable("The group has no participant members.")
    if found := lacking(participants):  # `fine` is tallied only for a pass
        return flag(found, "participant", problem, fine)
    return passed(tally(fine, len(participants), "participant"))


def group_setting(s: GroupSnapshot, detail: str, ok: bool, problem: str, fine: str) -> Result:
    """Pass (saying `fine`) or fail (saying `problem`) on one of the group's settings, with the group as
    evidence and the setting as its `detail`."""
    ref = Evidence("group", s.group.id, s.group.name, detail)
    return passed(fine, ref) if ok else failed(problem, ref)


# True while the engine asks the rules for their outcomes alone (`outcomes_only`).
_outcomes_only: ContextVar[bool] = ContextVar("outcomes_only", default=False)
# What a member's evidence is while outcomes alone are asked for: one shared record per kind. A rule still
# gets one per member it names, so its outcome and message (tallied from how many) are what they would be.
_UNSHOWN_STAFF = Evidence("staff", None, "")
_UNSHOWN_PARTICIPANT = Evidence("participant", None, "")


@contextmanager
def outcomes_only() -> Iterator[None]:
    """Within it (in this thread or task only), `staff_ref`, `participant_ref` and `refused_consent` hand
    back a shared placeholder instead of each member's evidence, and `refused_consent` skips the decision
    that words its detail: for `engine.verdicts`, which keeps a rule's outcome and throws its evidence
    away. The outcome and message are the same either way; every other evidence a rule builds is as
    always (a group, a roster: one per group)."""
    token = _outcomes_only.set(True)
    try:
        yield
    finally:
        _outcomes_only.reset(token)


def staff_ref(staff: StaffFacts, detail: str | None = None) -> Evidence:
    if _outcomes_only.get():
        return _UNSHOWN_STAFF
    return Evidence("staff", staff.id, staff.full_name, detail)


_new_uuid = object.__new__
_set = object.__setattr__
_UNKNOWN = uuid.SafeUUID.unknown


def uuid_of_hex(raw: str) -> uuid.UUID:
    """The UUID of 32 hex digits (SQLite's form of an id), made without `UUID.__init__`'s parsing and
    checks: the digits come from the database, where only a UUID was stored. A finding names every member
    it fails for, so a large group's evaluation makes one for each member."""
    made = _new_uuid(uuid.UUID)
    _set(made, "int", int(raw, 16))
    _set(made, "is_safe", _UNKNOWN)
    return made


# Participants' evidence made before, by what it is made of (id, name, detail): an `Evidence` is immutable
# and a function of those alone, so one made for an earlier evaluation is the same record. A group
# re-evaluated over its members kept (api/compliance/cache.py) names the same young people again on every
# read after a write to the group; making each one's UUID and record again was the largest part of its
# rules' time. Bounded: emptied whole when full, and by `forget_participant_refs` (`cache.clear`).
_PARTICIPANT_REFS_KEPT = 20_000
_participant_refs: dict[tuple[object, str, str | None], Evidence] = {}


def forget_participant_refs() -> None:
    _participant_refs.clear()


def participant_ref(participant: ParticipantFacts, detail: str | None = None) -> Evidence:
    if _outcomes_only.get():
        return _UNSHOWN_PARTICIPANT
    raw = participant.raw_id
    key = (raw, participant.full_name, detail)
    made = _participant_refs.get(key)
    if made is None:
        pid = raw if isinstance(raw, uuid.UUID) else uuid_of_hex(raw)
        made = Evidence("participant", pid, participant.full_name, detail)
        if len(_participant_refs) >= _PARTICIPANT_REFS_KEPT:
            _participant_refs.clear()  # one thread's clear racing another's store loses only a store
        _participant_refs[key] = made
    return made


def refused_consent(
    s: GroupSnapshot, participants: Sequence[ParticipantFacts], *, kind: str, purpose: str | None
) -> list[Evidence]:
    """Evidence for each participant whose consents refuse `kind` (for `purpose`) on the snapshot's date,
    decided by the same pure logic as the consent checks, so the two always agree."""
    age, on = s.thresholds.self_consent_min_age, s.as_of
    if _outcomes_only.get():
        # The question looked up once (`consent_answers.index`) for answers (the organisation report's
        # load): this runs for every participant of every group the report evaluates.
        at = consent_answers.index(kind, purpose)
        unshown = []
        for p in participants:
            answers = p.answers
            if answers is None or at is None:
                if not (
                    allows(p.consents, kind, purpose, on, p.date_of_birth, age)
                    if answers is None
                    else consent_answers.allows(answers, kind, purpose, p.date_of_birth, age)
                ):
                    unshown.append(_UNSHOWN_PARTICIPANT)
            elif not consent_answers.allows_at(answers, at, p.date_of_birth, age):
                unshown.append(_UNSHOWN_PARTICIPANT)
        return unshown
    refused = []
    for p in participants:
        if p.answers is not None:
            raise ValueError(
                "consents answered ahead give outcomes only: a refusal's evidence needs them whole"
            )
        # `allows` for everyone; the full decision (its sentence) only for the few it refuses.
        if allows(p.consents, kind, purpose, on, p.date_of_birth, age):
            continue
        decision = decide(
            p.consents,
            kind=kind,
            purpose=purpose,
            on=on,
            date_of_birth=p.date_of_birth,
            self_consent_min_age=age,
        )
        refused.append(participant_ref(p, decision.detail))
    return refused


_R = TypeVar("_R")


def latest(records: Iterable[_R], day: Callable[[_R], date]) -> _R | None:
    """The latest of `records` (given in the order they were recorded, as every fact loader yields them) by
    `day`; among several on that day the one recorded last: a later decision on the same day replaces an
    earlier one (issue 15). None when there are none."""
    found: _R | None = None
    for r in records:
        if found is None or day(r) >= day(found):
            found = r
    return found


def count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def done_by(done_on: date | None, on: date) -> bool:
    """Whether a thing recorded as done on `done_on` (a signature, a training; None: never) was done by `on`,
    the day evaluated: one dated after it had not yet happened that day."""
    return done_on is not None and done_on <= on


def stale(done_on: date | None, on: date, valid_days: int) -> bool:
    """Missing, not yet done on `on`, or more than `valid_days` old: exactly `valid_days` old still holds
    (the threshold day is the last good day)."""
    return done_on is None or done_on > on or (on - done_on).days > valid_days


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def held_by_participant(p: ParticipantFacts, kind: str, on: date) -> bool:
    """Whether a consent of `kind` the participant gave themself is in force on `on`, the snapshot's day
    (`consents.logic.held_in_force`, or its answer where the load answered it ahead)."""
    if p.answers is None:
        return held_in_force(p.consents, kind, "participant", on)
    return consent_answers.held_by_participant(p.answers, kind)


def not_held_by_participant(
    participants: Iterable[ParticipantFacts], kind: str, on: date, detail: str
) -> list[Evidence]:
    """Evidence (saying `detail`) for each of `participants` for whom `held_by_participant` does not hold:
    in `outcomes_only`, with the question looked up once, as every group of the organisation report asks."""
    at = consent_answers.index(kind, None)
    if at is None or not _outcomes_only.get():
        return [participant_ref(p, detail) for p in participants if not held_by_participant(p, kind, on)]
    return [
        _UNSHOWN_PARTICIPANT
        for p in participants
        if not (
            held_in_force(p.consents, kind, "participant", on)
            if p.answers is None
            else consent_answers.held_at(p.answers, at)
        )
    ]


def each_participant_consents(
    s: GroupSnapshot, *, kind: str, purpose: str | None, problem: str, fine: str
) -> Result:
    """Every current participant's consents must allow `kind` (for `purpose`) on the snapshot's day:
    `each_participant` over those `refused_consent` finds."""
    return each_participant(
        s, lambda participants: refused_consent(s, participants, kind=kind, purpose=purpose), problem, fine
    )
