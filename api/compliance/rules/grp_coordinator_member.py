from __future__ import annotations

from api.compliance.rules.base import Result, Severity, failed, group_rule, passed, staff_ref
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    coordinators = [
        staff for _, staff in s.current_staff() if staff.is_esafety_coordinator and staff.employed_on(s.as_of)
    ]
    if not coordinators:
        return failed("No current e-safety coordinator is a member of the group.")
    return passed(
        "The e-safety coordinator is a member of the group.",
        *(staff_ref(c, "e-safety coordinator") for c in coordinators),
    )


RULE = group_rule(
    check,
    id="GRP-COORDINATOR-MEMBER",
    title="The e-safety coordinator is a member",
    clause="PROMOTE-COORDINATOR-IN-GROUPS",
    severity=Severity.medium,
    remediation="Add the current e-safety coordinator to the group.",
)
