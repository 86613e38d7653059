from __future__ import annotations

from api.compliance.rules.base import Result, Severity, group_rule, group_setting
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    approval = s.group.join_approval
    return group_setting(
        s,
        f"join approval: {approval}",
        approval == "admins_only",
        "Members other than the admins can approve new members.",
        "Only admins can approve new members.",
    )


RULE = group_rule(
    check,
    id="GRP-ADMIN-APPROVAL",
    title="Only admins approve new members",
    clause="REC-FB-CLOSED-ADMIN-APPROVAL",
    severity=Severity.high,
    remediation="Change the group's membership approval setting so only admins can approve new members.",
)
