from __future__ import annotations

from api.compliance.rules.base import (
    GroupRule,
    Result,
    Severity,
    Subject,
    count,
    failed,
    participant_ref,
    passed,
)
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    former = [p for _, p in s.current_participants() if p.departed_by(s.as_of)]
    if former:
        return failed(
            f"{count(len(former), 'participant')} who {'has' if len(former) == 1 else 'have'} left the "
            "organisation " + ("is" if len(former) == 1 else "are") + " still in the group.",
            *(participant_ref(p, f"left on {p.left_on}") for p in former),
        )
    return passed("Every participant in the group still takes part.")


RULE = GroupRule(
    id="GRP-NO-FORMER-PARTICIPANTS",
    title="No former participants remain members",
    clause=clause("REC-PERIODIC-REVIEW"),
    severity=Severity.medium,
    remediation="Remove people who no longer take part from the group and end their memberships.",
    subject=Subject.group,
    check=check,
)
