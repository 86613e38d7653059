from __future__ import annotations

from api.compliance.rules.base import Evidence, GroupRule, Result, Severity, Subject, failed, passed
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    group = s.group
    ref = Evidence("group", group.id, group.name, f"join approval: {group.join_approval}")
    if group.join_approval != "admins_only":
        return failed("Members other than the admins can approve new members.", ref)
    return passed("Only admins can approve new members.", ref)


RULE = GroupRule(
    id="GRP-ADMIN-APPROVAL",
    title="Only admins approve new members",
    clause=clause("REC-FB-CLOSED-ADMIN-APPROVAL"),
    severity=Severity.high,
    remediation="Change the group's membership approval setting so only admins can approve new members.",
    subject=Subject.group,
    check=check,
)
