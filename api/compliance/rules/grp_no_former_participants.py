from __future__ import annotations

from api.compliance.rules.base import Result, Severity, flag, group_rule, participant_ref
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    former = [
        participant_ref(p, f"left on {p.left_on}")
        for _, p in s.current_participants()
        if p.departed_by(s.as_of)
    ]
    return flag(
        former,
        "participant",
        "{n} who {has} left the organisation {is} still in the group.",
        "Every participant in the group still takes part.",
    )


RULE = group_rule(
    check,
    id="GRP-NO-FORMER-PARTICIPANTS",
    title="No former participants remain members",
    clause="REC-PERIODIC-REVIEW",
    severity=Severity.medium,
    remediation="Remove people who no longer take part from the group and end their memberships.",
)
