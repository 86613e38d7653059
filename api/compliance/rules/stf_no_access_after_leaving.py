from __future__ import annotations

from api.compliance.rules.base import (
    Evidence,
    Result,
    Severity,
    failed,
    not_applicable,
    passed,
    staff_ref,
    staff_rule,
)
from api.compliance.snapshot import StaffSnapshot


def check(s: StaffSnapshot) -> Result:
    st = s.staff
    if not st.departed_by(s.as_of):
        return not_applicable(f"Still employed on {s.as_of}.")
    groups = s.current_memberships()
    problems = []
    if groups:
        problems.append(f"still a member of {len(groups)} group{'s' if len(groups) != 1 else ''}")
    if st.has_active_account:
        problems.append("their sign-in account is still enabled")
    evidence = [staff_ref(st, f"left on {st.left_on}")]
    evidence += [
        Evidence("group", g.group_id, g.group_name, f"{g.role} since {g.started_on}") for g in groups
    ]
    if problems:
        return failed(f"Left on {st.left_on} but {' and '.join(problems)}.", *evidence)
    return passed(f"Left on {st.left_on}; no group membership or enabled account remains.", *evidence)


RULE = staff_rule(
    check,
    id="STF-NO-ACCESS-AFTER-LEAVING",
    title="No access after leaving",
    clause="PROMOTE-LOGINS",
    severity=Severity.critical,
    remediation="End their group memberships (and remove them on each platform) and disable their account.",
)
