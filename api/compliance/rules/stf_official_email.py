from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    email_domain,
    failed,
    passed,
    staff_ref,
    staff_rule,
    while_employed,
)
from api.compliance.snapshot import StaffSnapshot


@while_employed
def check(s: StaffSnapshot) -> Result:
    st = s.staff
    domains = {d.lower() for d in s.thresholds.official_email_domains}
    if email_domain(st.email) not in domains:
        return failed(
            f"Their email is not on an official domain ({', '.join(sorted(domains)) or 'none set'}).",
            staff_ref(st, st.email),
        )
    return passed("Their email is an official organisation address.", staff_ref(st, st.email))


RULE = staff_rule(
    check,
    id="STF-OFFICIAL-EMAIL",
    title="Staff use an official email address",
    clause="PROMOTE-OFFICIAL-EMAIL",
    severity=Severity.medium,
    remediation="Give them an official organisation email account and record it in place of this one.",
)
