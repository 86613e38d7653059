"""Evaluate: run the rules over a snapshot, apply waivers, and decide the status. Pure: no database."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from api.common import in_force
from api.compliance.models import Status
from api.compliance.rules.base import (
    Evidence,
    Outcome,
    Result,
    Rule,
    S,
    Severity,
    StaffRule,
    outcomes_only,
)
from api.compliance.snapshot import PolicyFacts, StaffSnapshot
from api.compliance.vocabulary import Precision as Precision
from api.policy.clauses import Clause


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class WaiverFacts:
    id: uuid.UUID
    group_id: uuid.UUID
    rule_id: str
    reason: str
    granted_on: date
    expires_on: date
    revoked_on: date | None = None

    def in_force_on(self, on: date) -> bool:
        end = self.expires_on if self.revoked_on is None else min(self.expires_on, self.revoked_on)
        return in_force(self.granted_on, end, on)


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class Finding:
    rule_id: str
    title: str
    clause: Clause
    severity: Severity
    outcome: Outcome
    message: str
    evidence: tuple[Evidence, ...]
    remediation: str
    waiver: WaiverFacts | None
    counts_against_status: bool  # false when it passes, or a waiver in force covers it
    also: tuple[Clause, ...] = ()  # further sentences the rule keeps (`Rule.also`)
    # For a fail or warn: the first day of its current unbroken run of that outcome, as the compliance
    # history recorded it (api/compliance/history.py); None where nothing says.
    since: date | None = None
    # The run reaches back past the group's first history row (or there is none) and the group is older:
    # it began before the records did, on a day they do not show (`since` is then None).
    since_before_records: bool = False
    # Month: `since` is the first of the month the run began in, because the finding turns on a young
    # person the caller may not see, and the exact day could be their birthday (api/compliance/history.py).
    since_precision: Precision = Precision.day


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class Evaluation:
    status: Status
    counts: dict[str, int]
    findings: tuple[Finding, ...]


_WORST_FIRST = (Outcome.fail, Outcome.warn, Outcome.pass_, Outcome.not_applicable)


def finding(rule: Rule[S], result: Result, waiver: WaiverFacts | None = None) -> Finding:
    bad = result.outcome in (Outcome.fail, Outcome.warn)
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        clause=rule.clause,
        severity=rule.severity,
        outcome=result.outcome,
        message=result.message,
        evidence=result.evidence,
        remediation=rule.remediation,
        waiver=waiver,
        counts_against_status=bad and waiver is None,
        also=rule.also,
    )


def summarise(findings: Sequence[Finding]) -> Evaluation:
    """Counts of true outcomes (plus how many are waived) and the status: any fail that counts makes it
    non-compliant; else any warn that counts makes it at risk."""
    counts = {o.value: 0 for o in Outcome} | {"waived": 0}
    for f in findings:
        counts[f.outcome.value] += 1
        if f.waiver is not None:
            counts["waived"] += 1
    counting = {f.outcome for f in findings if f.counts_against_status}
    if Outcome.fail in counting:
        status = Status.non_compliant
    elif Outcome.warn in counting:
        status = Status.at_risk
    else:
        status = Status.compliant
    return Evaluation(status, counts, tuple(findings))


def withdrawn(rule: Rule[Any], policy: PolicyFacts | None) -> bool:
    """Whether every sentence `rule` cites is gone from the policy version in force (`policy`; None, not
    loaded: nothing is withdrawn). A sentence a newer version leaves out stops being in force on that
    version's effective day, and a rule that keeps only such sentences stops being applied with it."""
    return policy is not None and not any(c.id in policy.texts for c in (rule.clause, *rule.also))


def _not_applied(policy: PolicyFacts) -> Result:
    return Result(
        Outcome.not_applicable,
        f"Not applied: policy version {policy.number}, in force since {policy.effective_on}, no longer "
        "has the sentence this rule keeps.",
    )


def run(rule: Rule[S], snapshot: S) -> Result:
    """`rule`'s verdict on `snapshot`, or `not_applicable` when the policy in force on the snapshot's date no
    longer has any sentence the rule cites: a duty the organisation has dropped is neither failed nor passed
    (as a rule with nothing to judge is not applicable), so it counts towards no status."""
    policy: PolicyFacts | None = getattr(snapshot, "policy", None)
    if withdrawn(rule, policy):
        assert policy is not None
        return _not_applied(policy)
    return rule.check(snapshot)


# The last answer of `_withdrawn_ids`: the organisation report evaluates hundreds of groups against one
# policy object, so the question is answered once per report, not once per group and rule.
_last_withdrawn: tuple[object, object, frozenset[str]] = (None, None, frozenset())


def _withdrawn_ids(rules: Sequence[Rule[S]], policy: PolicyFacts | None) -> frozenset[str]:
    """The ids of those of `rules` that `policy` has withdrawn (`withdrawn`)."""
    global _last_withdrawn
    if policy is None:
        return frozenset()
    last = _last_withdrawn  # one read: another thread may replace it, never half of it
    if last[0] is policy and last[1] is rules:
        return last[2]
    ids = frozenset(r.id for r in rules if withdrawn(r, policy))
    _last_withdrawn = (policy, rules, ids)
    return ids


def _results(
    rules: Sequence[Rule[S]], snapshot: S, waivers: Mapping[str, WaiverFacts] | None
) -> Iterator[tuple[Rule[S], Result, WaiverFacts | None]]:
    """Each rule with its verdict (`run`) and the waiver of it in force on the snapshot's date, if any."""
    as_of: date = snapshot.as_of
    policy: PolicyFacts | None = getattr(snapshot, "policy", None)
    dropped = _withdrawn_ids(rules, policy)
    for rule in rules:
        yield rule, _checked(rule, snapshot, dropped, policy), _waiver_in_force(waivers, rule.id, as_of)


def _checked(rule: Rule[S], snapshot: S, dropped: Collection[str], policy: PolicyFacts | None) -> Result:
    """The rule's verdict, or "not applied" where the policy in force withdrew it (`_withdrawn_ids`)."""
    if rule.id in dropped:
        assert policy is not None
        return _not_applied(policy)
    return rule.check(snapshot)


def _waiver_in_force(
    waivers: Mapping[str, WaiverFacts] | None, rule_id: str, as_of: date
) -> WaiverFacts | None:
    waiver = waivers.get(rule_id) if waivers else None
    return waiver if waiver is not None and waiver.in_force_on(as_of) else None


def evaluate(
    rules: Sequence[Rule[S]], snapshot: S, waivers: Mapping[str, WaiverFacts] | None = None
) -> Evaluation:
    """One finding per rule. A waiver in force on the evaluation date is shown on its rule's finding and
    keeps a fail or warn from counting; the finding's outcome stays the true one."""
    return summarise(
        [finding(rule, result, waiver) for rule, result, waiver in _results(rules, snapshot, waivers)]
    )


@dataclass(frozen=True, slots=True)
class Verdicts:
    """What `evaluate` decides of a subject without its findings: the status, the counts (as
    `Evaluation.counts`), and the ids, in the rules' order, of the rules that fail or warn and count
    (`failing`, `warning`: no waiver in force) and of those a waiver in force covers that do not pass
    (`waived`). The organisation report shows no more of a group."""

    status: Status
    counts: dict[str, int]
    failing: list[str]
    warning: list[str]
    waived: list[str]


# Each outcome's name in `counts`, looked up once: `Enum.value` is a descriptor call, once per rule and group.
_COUNTED = {o: o.value for o in Outcome}
# A subject's counts before its first rule, copied for each: building them from the enum costs more.
_NO_COUNTS = {o.value: 0 for o in Outcome} | {"waived": 0}


def verdicts(
    rules: Sequence[Rule[S]], snapshot: S, waivers: Mapping[str, WaiverFacts] | None = None
) -> Verdicts:
    """`evaluate`'s status and counts with the rules it fails, warns on and waives (`Verdicts`), without
    building a finding per rule, nor the members' evidence the rules name (`rules.base.outcomes_only`)."""
    return verdicts_each(rules, ((snapshot, waivers),))[0]


def verdicts_each(
    rules: Sequence[Rule[S]], judged: Iterable[tuple[S, Mapping[str, WaiverFacts] | None]]
) -> list[Verdicts]:
    """`verdicts` of each snapshot with its waivers in `judged`, in order, `outcomes_only` set once for them
    all (the organisation report's groups)."""
    with outcomes_only():
        return [_verdicts(rules, snapshot, waivers) for snapshot, waivers in judged]


def _verdicts(rules: Sequence[Rule[S]], snapshot: S, waivers: Mapping[str, WaiverFacts] | None) -> Verdicts:
    """`verdicts` of one snapshot, in `outcomes_only`: `_results` without a generator."""
    counts = _NO_COUNTS.copy()
    failing: list[str] = []
    warning: list[str] = []
    waived: list[str] = []
    as_of: date = snapshot.as_of
    policy: PolicyFacts | None = getattr(snapshot, "policy", None)
    dropped = _withdrawn_ids(rules, policy)
    counted, fail, warn, pass_ = _COUNTED, Outcome.fail, Outcome.warn, Outcome.pass_
    for rule in rules:
        rule_id = rule.id
        outcome = _checked(rule, snapshot, dropped, policy).outcome
        counts[counted[outcome]] += 1
        if _waiver_in_force(waivers, rule_id, as_of) is not None:
            counts["waived"] += 1
            if outcome is not pass_:
                waived.append(rule_id)
        elif outcome is fail:
            failing.append(rule_id)
        elif outcome is warn:
            warning.append(rule_id)
    status = Status.non_compliant if failing else Status.at_risk if warning else Status.compliant
    return Verdicts(status, counts, failing, warning, waived)


def aggregate_staff_rule(rule: StaffRule, snapshots: Sequence[StaffSnapshot]) -> Result:
    """A staff rule across every staff record: the worst outcome, each person it fails or warns for as
    evidence with their own finding's message."""
    results = [(s, run(rule, s)) for s in snapshots]
    applicable = [(s, r) for s, r in results if r.outcome is not Outcome.not_applicable]
    if not applicable:
        reasons = {r.message for _, r in results}
        if len(reasons) == 1 and snapshots and withdrawn(rule, snapshots[0].policy):
            return results[0][1]
        return Result(Outcome.not_applicable, "It applies to no member of staff.")
    worst = min((r.outcome for _, r in applicable), key=_WORST_FIRST.index)
    if worst is Outcome.pass_:
        return Result(Outcome.pass_, f"Holds for all {len(applicable)} members of staff it applies to.")
    flagged = [(s, r) for s, r in applicable if r.outcome in (Outcome.fail, Outcome.warn)]
    verb = "Fails" if worst is Outcome.fail else "Warns"
    evidence = tuple(
        Evidence("staff", s.staff.id, s.staff.full_name, r.message)
        for s, r in sorted(flagged, key=lambda sr: (sr[0].staff.full_name, str(sr[0].staff.id)))
    )
    return Result(
        worst, f"{verb} for {len(flagged)} of {len(applicable)} members of staff it applies to.", evidence
    )


def in_force_clauses(
    primary: Clause, also: Sequence[Clause], policy: PolicyFacts | None
) -> tuple[Clause, tuple[Clause, ...]]:
    """The sentences a rule cites that `policy` (the version in force) still has, in its words: the first
    surviving one becomes the primary clause and those left out drop from `also`, so that a finding never
    quotes a sentence no longer in force. Every one left out (the rule is not applied), or no version
    loaded: the clauses as they stand, in the words of the version in force where it has them."""
    if policy is None:
        return primary, tuple(also)
    texts = policy.texts

    def worded(c: Clause) -> Clause:
        text = texts.get(c.id)
        return c if text is None or text == c.text else Clause(c.id, text)

    every = (primary, *also)
    kept = [worded(c) for c in every if c.id in texts] or [worded(c) for c in every]
    return kept[0], tuple(kept[1:])


def cite(evaluation: Evaluation, policy: PolicyFacts | None) -> Evaluation:
    """Each finding's clauses in the words of the policy version in force on the evaluation date, only those
    still in force (`in_force_clauses`; None, no version loaded: version 1's words stand)."""
    if policy is None:
        return evaluation

    def cited(f: Finding) -> Finding:
        primary, also = in_force_clauses(f.clause, f.also, policy)
        # Most findings keep their words: the finding itself, not a copy of it.
        if primary is f.clause and also == f.also:
            return f
        return replace(f, clause=primary, also=also)

    return replace(evaluation, findings=tuple(cited(f) for f in evaluation.findings))


# How a young person the caller may not see is shown in evidence: no id, no name, no detail.
HIDDEN_CHILD = "a young person outside your groups"


def redact_participants(evaluation: Evaluation, keep: Collection[uuid.UUID] = ()) -> Evaluation:
    """Participants' ids, names and evidence details replaced by nothing and a neutral label, except for
    those in `keep` (the children the caller may see): an id, even in part, would let the caller follow a
    child they may not see across findings and reports; a coordinator sees the same finding in full."""

    def neutral(e: Evidence) -> Evidence:
        if e.type != "participant" or e.id in keep:
            return e
        # The detail goes too: an age on a date, a leaving date or a consent's date would give the child's
        # date of birth away to anyone stepping `as_of`.
        return replace(e, id=None, label=HIDDEN_CHILD, detail=None)

    return replace(
        evaluation,
        findings=tuple(
            replace(f, evidence=tuple(neutral(e) for e in f.evidence))
            if any(e.type == "participant" for e in f.evidence)
            else f
            for f in evaluation.findings
        ),
    )


# A member-list finding as shown to a caller when an entry on the list is a young person outside their reach.
HIDDEN_ROSTER = (
    "The platform's member list has entries waiting for an answer or differing from the records: open the "
    "group's latest roster for each one and what to do."
)


def redact_hidden_roster_matches(
    evaluation: Evaluation,
    hidden: Collection[uuid.UUID | None],
    rosters: Collection[uuid.UUID | None] = (),
) -> Evaluation:
    """A member-list finding that names a young person in `hidden` (outside the caller's reach), or cites a
    roster in `rosters` (one with an entry matched to such a young person, an earlier list's included:
    `api.compliance.roster_reach`), reduced to the roster, with no counts, under a neutral message. The
    roster itself shows such an entry to the caller exactly as an unknown one, so that a list cannot tell
    them who is a child of the charity; the finding's counts (so many unconfirmed, not so many unknown; so
    many unknown on earlier lists) and the place of the hidden child among the evidence would undo that,
    naming the entry."""

    def names_hidden(f: Finding) -> bool:
        return any(e.type == "roster" for e in f.evidence) and any(
            (e.type == "participant" and e.id in hidden) or (e.type == "roster" and e.id in rosters)
            for e in f.evidence
        )

    return replace(
        evaluation,
        findings=tuple(
            replace(
                f,
                message=HIDDEN_ROSTER,
                evidence=tuple(replace(e, detail=None) for e in f.evidence if e.type == "roster"),
            )
            if names_hidden(f)
            else f
            for f in evaluation.findings
        ),
    )


def redact_rosters(evaluation: Evaluation) -> Evaluation:
    """A finding about a platform's member list (one whose evidence holds a `roster`) reduced to the roster
    and its counts: for callers who reach rosters' counts only (trustees), never who is on the list."""
    return replace(
        evaluation,
        findings=tuple(
            replace(f, evidence=tuple(e for e in f.evidence if e.type == "roster"))
            if any(e.type == "roster" for e in f.evidence)
            else f
            for f in evaluation.findings
        ),
    )
