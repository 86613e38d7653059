from __future__ import annotations

from api.compliance.rules.base import Result, Severity, flag, group_rule, participant_ref
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    on = s.as_of
    # Only those with a leaving day can have left: the call is made for them alone, not for every
    # participant of every group evaluated.
    former = [
        participant_ref(p, f"left on {p.left_on}")
        for p in s.current_participant_facts()
        if p.left_on is not None and p.departed_by(on)
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
