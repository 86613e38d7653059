from __future__ import annotations

from api.compliance.declarations import DECLARED, standing
from api.compliance.rules.base import Result, Severity, staff_ref, staff_rule, while_employed
from api.compliance.snapshot import StaffSnapshot


@while_employed
def check(s: StaffSnapshot) -> Result:
    st = s.staff
    outcome, message = standing(st, s.as_of, s.thresholds, s.policy)
    return Result(outcome, message, (staff_ref(st),))


RULE = staff_rule(
    check,
    id="STF-SOCIAL-MEDIA-DECLARATION",
    title="Personal social media conduct declared for the policy in force",
    clause=DECLARED[0],
    also=DECLARED[1:],
    severity=Severity.medium,
    remediation="Ask them to read the policy in force and record their declaration (POST "
    "/api/v1/staff/{staff_id}/declarations); where a statement does not hold, agree with them what changes.",
)
