"""Whether a member of staff's declaration of personal social media conduct stands on a day: shared by
STF-SOCIAL-MEDIA-DECLARATION and GRP-STAFF-DECLARATIONS, so the two always agree. Pure.

A declaration lasts `declaration_valid_days` or until a newer version of the policy is published, whichever
comes first (then it is due: a warning); none at all, or one that says a statement does not hold, fails.
"""

from __future__ import annotations

from datetime import date

from api.compliance.clauses import Clause, clause
from api.compliance.rules.base import Outcome
from api.compliance.snapshot import PolicyFacts, StaffFacts, Thresholds

# The sentences a declaration keeps: the first is the one a finding quotes, the others go in `also`.
DECLARED: tuple[Clause, ...] = (
    clause("REC-PROFILE-PRIVATE"),
    clause("REC-NO-YOUNG-FRIENDS"),
    clause("REC-NO-PERSONAL-MESSAGES"),
    clause("REC-NO-TWITTER-FOLLOWING"),
)


def standing(
    staff: StaffFacts, on: date, thresholds: Thresholds, policy: PolicyFacts | None
) -> tuple[Outcome, str]:
    """(pass, fail or warn, the reason in a sentence) for one member of staff on `on`."""
    d = staff.declaration_on(on)
    if d is None:
        return Outcome.fail, "No declaration of personal social media conduct is recorded."
    untrue = d.untrue()
    if untrue:
        return Outcome.fail, f"Declared on {d.declared_on} that these do not hold: {'; '.join(untrue)}."
    latest = policy.latest_published if policy is not None else d.policy_version
    if d.policy_version < latest:
        return (
            Outcome.warn,
            f"Declared for policy version {d.policy_version}; version {latest} has been published since.",
        )
    valid = thresholds.declaration_valid_days
    age = (on - d.declared_on).days
    if age > valid:
        return Outcome.warn, f"Declared on {d.declared_on}, more than {valid} days ago."
    return Outcome.pass_, f"Declared on {d.declared_on} for policy version {d.policy_version}."
