from __future__ import annotations

from api.compliance.rules.base import GroupRule, Result, Severity, Subject, count, failed, passed, staff_ref
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    departed = [(m, staff) for m, staff in s.current_staff() if staff.departed_by(s.as_of)]
    if departed:
        return failed(
            f"{count(len(departed), 'member')} of staff whose employment has ended "
            f"{'is' if len(departed) == 1 else 'are'} still in the group.",
            *(
                staff_ref(staff, f"left on {staff.left_on}" + ("; still an admin" if m.is_admin else ""))
                for m, staff in departed
            ),
        )
    return passed("Every member of staff in the group is still employed.")


RULE = GroupRule(
    id="GRP-NO-DEPARTED-STAFF",
    title="No departed staff remain members",
    clause=clause("REC-PERIODIC-REVIEW"),
    severity=Severity.critical,
    remediation="Remove staff who have left from the group on the platform and end their memberships.",
    subject=Subject.group,
    check=check,
)
