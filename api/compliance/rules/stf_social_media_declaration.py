from __future__ import annotations

from api.compliance.declarations import DECLARED, standing
from api.compliance.rules.base import Result, Severity, StaffRule, Subject, not_applicable, staff_ref
from api.compliance.snapshot import StaffSnapshot


def check(s: StaffSnapshot) -> Result:
    st = s.staff
    if not st.employed_on(s.as_of):
        return not_applicable(f"Not employed on {s.as_of}.")
    outcome, message = standing(st, s.as_of, s.thresholds, s.policy)
    return Result(outcome, message, (staff_ref(st),))


RULE = StaffRule(
    id="STF-SOCIAL-MEDIA-DECLARATION",
    title="Personal social media conduct declared for the policy in force",
    clause=DECLARED[0],
    also=DECLARED[1:],
    severity=Severity.medium,
    remediation="Ask them to read the policy in force and record their declaration (POST "
    "/api/v1/staff/{staff_id}/declarations); where a statement does not hold, agree with them what changes.",
    subject=Subject.staff,
    check=check,
)
