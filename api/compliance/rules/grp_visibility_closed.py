from __future__ import annotations

from api.compliance.rules.base import Evidence, GroupRule, Result, Severity, Subject, failed, passed
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    group = s.group
    ref = Evidence("group", group.id, group.name, f"visibility: {group.visibility}")
    if group.visibility == "public":
        return failed("The group is public: anyone can find it and see who is in it.", ref)
    return passed(f"The group is {group.visibility}.", ref)


RULE = GroupRule(
    id="GRP-VISIBILITY-CLOSED",
    title="The group is closed",
    clause=clause("REC-FB-CLOSED-ADMIN-APPROVAL"),
    severity=Severity.high,
    remediation="Set the group's privacy to closed (or secret) on the platform, then update its record.",
    subject=Subject.group,
    check=check,
)
