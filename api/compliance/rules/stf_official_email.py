from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    StaffRule,
    Subject,
    email_domain,
    failed,
    not_applicable,
    passed,
    staff_ref,
)
from api.compliance.snapshot import StaffSnapshot
from api.policy.clauses import clause


def check(s: StaffSnapshot) -> Result:
    st = s.staff
    if not st.employed_on(s.as_of):
        return not_applicable(f"Not employed on {s.as_of}.")
    domains = {d.lower() for d in s.thresholds.official_email_domains}
    if email_domain(st.email) not in domains:
        return failed(
            f"Their email is not on an official domain ({', '.join(sorted(domains)) or 'none set'}).",
            staff_ref(st, st.email),
        )
    return passed("Their email is an official organisation address.", staff_ref(st, st.email))


RULE = StaffRule(
    id="STF-OFFICIAL-EMAIL",
    title="Staff use an official email address",
    clause=clause("PROMOTE-OFFICIAL-EMAIL"),
    severity=Severity.medium,
    remediation="Give them an official organisation email account and record it in place of this one.",
    subject=Subject.staff,
    check=check,
)
