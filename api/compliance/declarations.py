"""Whether a member of staff's declaration of personal social media conduct stands on a day: shared by
STF-SOCIAL-MEDIA-DECLARATION and GRP-STAFF-DECLARATIONS, so the two always agree. Pure.

A declaration lasts `declaration_valid_days` or until a newer version of the policy is published, whichever
comes first (then it is due: a warning); none at all, or one that says a statement does not hold, fails.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from api.compliance.rules.base import Evidence, Outcome
from api.compliance.snapshot import PolicyFacts, StaffFacts, Thresholds
from api.policy.clauses import Clause, clause

if TYPE_CHECKING:  # the engine imports the rules, which import this module
    from api.compliance.engine import Evaluation, Finding

# The sentences a declaration keeps: the first is the one a finding quotes, the others go in `also`.
DECLARED: tuple[Clause, ...] = (
    clause("REC-PROFILE-PRIVATE"),
    clause("REC-NO-YOUNG-FRIENDS"),
    clause("REC-NO-PERSONAL-MESSAGES"),
    clause("REC-NO-TWITTER-FOLLOWING"),
)


# Each reason is "<status>: <detail>". The status says only whether a current declaration stands; the detail
# gives the declared answers. A colleague's answers are theirs and the coordinator's (`redact`).
NONE = "No current declaration"
DUE = "Declaration due again"
HELD = "Current declaration"
NOT_HELD = "Current declaration, not in good standing"
# The rules whose findings carry a member of staff's declared answers.
RULE_IDS = frozenset({"STF-SOCIAL-MEDIA-DECLARATION", "GRP-STAFF-DECLARATIONS"})


def standing(
    staff: StaffFacts, on: date, thresholds: Thresholds, policy: PolicyFacts | None
) -> tuple[Outcome, str]:
    """(pass, fail or warn, the reason: "<status>: <detail>") for one member of staff on `on`.

    A declaration is due again once a newer version of the policy is in force (from its effective day, not
    the day it was published: staff cannot be behind on a version that does not yet bind them). A declaration
    made for a version published but not yet in force is made early: it counts from that version's effective
    day, not before; until then the version in force needs its own (issue 15, finding 14)."""
    in_force = policy.number if policy is not None else None
    d = staff.declaration_on(on, in_force)
    if d is None:
        early = staff.declaration_on(on)
        if early is not None:
            return (
                Outcome.fail,
                f"{NONE}: the declaration of {early.declared_on} is for policy version "
                f"{early.policy_version}, not yet in force; version {in_force} in force needs its own.",
            )
        return Outcome.fail, f"{NONE}: none of personal social media conduct is recorded."
    untrue = d.untrue(policy.texts if policy is not None else None)
    if untrue:
        return (
            Outcome.fail,
            f"{NOT_HELD}: declared on {d.declared_on} that these do not hold: {'; '.join(untrue)}.",
        )
    if policy is not None and d.policy_version < policy.number:
        return (
            Outcome.warn,
            f"{DUE}: declared for policy version {d.policy_version}; version {policy.number} is in force "
            f"since {policy.effective_on}.",
        )
    valid = thresholds.declaration_valid_days
    age = (on - d.declared_on).days
    if age > valid:
        return Outcome.warn, f"{DUE}: declared on {d.declared_on}, more than {valid} days ago."
    return Outcome.pass_, f"{HELD}: declared on {d.declared_on} for policy version {d.policy_version}."


def status_only(reason: str) -> str:
    """The status part of a `standing` reason: whether a current declaration stands, without the answers."""
    return reason.split(":", 1)[0] + "."


def redact(evaluation: Evaluation, keep: uuid.UUID | None = None) -> Evaluation:
    """The declaration rules' findings with every member of staff's declared answers reduced to the status
    (`status_only`), except `keep`'s own (the caller's). A colleague's answers (that they have young people
    as friends, say) are a personal disclosure made to the organisation, not to colleagues: staff see their
    own, trustees the status, the coordinator everything (callers who read every declaration are not
    redacted)."""

    def evidence(e: Evidence) -> Evidence:
        if e.type != "staff" or e.id == keep or e.detail is None:
            return e
        return replace(e, detail=status_only(e.detail))

    def one(f: Finding) -> Finding:
        if f.rule_id not in RULE_IDS:
            return f
        # One person's own finding (their staff report) gives the reason as its message.
        message = f.message
        if message.split(":", 1)[0] in STATUSES and not (len(f.evidence) == 1 and f.evidence[0].id == keep):
            message = status_only(message)
        return replace(f, message=message, evidence=tuple(evidence(e) for e in f.evidence))

    return replace(evaluation, findings=tuple(one(f) for f in evaluation.findings))


STATUSES = frozenset({NONE, DUE, HELD, NOT_HELD})
