from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    done_by,
    failed,
    not_applicable,
    passed,
    staff_ref,
    staff_rule,
    while_employed,
)
from api.compliance.snapshot import StaffSnapshot


@while_employed
def check(s: StaffSnapshot) -> Result:
    st = s.staff
    if not st.uses_social_media_for_work:
        return not_applicable("Does not use social media for work.")
    signed = st.code_of_conduct_signed_on
    if not done_by(signed, s.as_of):
        return failed("Uses social media for work but has not signed the code of conduct.", staff_ref(st))
    return passed(f"Signed the code of conduct on {signed}.", staff_ref(st))


RULE = staff_rule(
    check,
    id="STF-CODE-OF-CONDUCT",
    title="Staff who use social media signed the code of conduct",
    clause="REC-CODE-OF-CONDUCT",
    also=("PROMOTE-CODES-OF-CONDUCT",),
    severity=Severity.medium,
    remediation="Ask them to sign the code of conduct and record the date.",
)
