from __future__ import annotations

from api.compliance.rules.base import Result, Severity, group_rule, group_setting
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    visibility = s.group.visibility
    return group_setting(
        s,
        f"visibility: {visibility}",
        visibility != "public",
        "The group is public: anyone can find it and see who is in it.",
        f"The group is {visibility}.",
    )


RULE = group_rule(
    check,
    id="GRP-VISIBILITY-CLOSED",
    title="The group is closed",
    clause="REC-FB-CLOSED-ADMIN-APPROVAL",
    severity=Severity.high,
    remediation="Set the group's privacy to closed (or secret) on the platform, then update its record.",
)
