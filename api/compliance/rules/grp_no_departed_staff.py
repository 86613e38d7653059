from __future__ import annotations

from api.compliance.rules.base import Result, Severity, flag, group_rule, staff_ref
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    departed = [
        staff_ref(staff, f"left on {staff.left_on}" + ("; still an admin" if m.is_admin else ""))
        for m, staff in s.current_staff()
        if staff.departed_by(s.as_of)
    ]
    return flag(
        departed,
        "member",
        "{n} of staff whose employment has ended {is} still in the group.",
        "Every member of staff in the group is still employed.",
    )


RULE = group_rule(
    check,
    id="GRP-NO-DEPARTED-STAFF",
    title="No departed staff remain members",
    clause="REC-PERIODIC-REVIEW",
    severity=Severity.critical,
    remediation="Remove staff who have left from the group on the platform and end their memberships.",
)
