"""What a rule is: metadata as data, plus a pure check over a snapshot that returns an outcome."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

# One scale for incidents and rules; importers of it here keep working.
from api.common import Severity as Severity
from api.compliance.snapshot import GroupSnapshot, OrgSnapshot, ParticipantFacts, StaffFacts, StaffSnapshot
from api.compliance.vocabulary import Outcome as Outcome
from api.compliance.vocabulary import Subject as Subject
from api.consents.logic import allows, decide
from api.policy.clauses import Clause


@dataclass(frozen=True, slots=True)
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


def passed(message: str, *evidence: Evidence) -> Result:
    return Result(Outcome.pass_, message, evidence)


def failed(message: str, *evidence: Evidence) -> Result:
    return Result(Outcome.fail, message, evidence)


def warned(message: str, *evidence: Evidence) -> Result:
    return Result(Outcome.warn, message, evidence)


def not_applicable(reason: str) -> Result:
    return Result(Outcome.not_applicable, reason)


def staff_ref(staff: StaffFacts, detail: str | None = None) -> Evidence:
    return Evidence("staff", staff.id, staff.full_name, detail)


def participant_ref(participant: ParticipantFacts, detail: str | None = None) -> Evidence:
    return Evidence("participant", participant.id, participant.full_name, detail)


def refused_consent(
    s: GroupSnapshot, participants: list[ParticipantFacts], *, kind: str, purpose: str | None
) -> list[Evidence]:
    """Evidence for each participant whose consents refuse `kind` (for `purpose`) on the snapshot's date,
    decided by the same pure logic as the consent checks, so the two always agree."""
    age = s.thresholds.self_consent_min_age
    refused = []
    for p in participants:
        # `allows` for everyone; the full decision (its sentence) only for the few it refuses.
        if allows(
            p.consents,
            kind=kind,
            purpose=purpose,
            on=s.as_of,
            date_of_birth=p.date_of_birth,
            self_consent_min_age=age,
        ):
            continue
        decision = decide(
            p.consents,
            kind=kind,
            purpose=purpose,
            on=s.as_of,
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


def stale(done_on: date | None, on: date, valid_days: int) -> bool:
    """Missing, not yet done on `on`, or more than `valid_days` old: exactly `valid_days` old still holds
    (the threshold day is the last good day)."""
    return done_on is None or done_on > on or (on - done_on).days > valid_days


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()
