from __future__ import annotations

from api.compliance.rules.base import (
    GroupRule,
    Result,
    Severity,
    Subject,
    count,
    failed,
    not_applicable,
    passed,
    staff_ref,
)
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    # Every member of staff in an online group uses social media for their work, whatever their record says.
    staff = [st for _, st in s.current_staff()]
    if not staff:
        return not_applicable("The group has no staff members.")
    unsigned = [
        st for st in staff if st.code_of_conduct_signed_on is None or st.code_of_conduct_signed_on > s.as_of
    ]
    if unsigned:
        return failed(
            f"{count(len(unsigned), 'member')} of staff in the group "
            f"{'has' if len(unsigned) == 1 else 'have'} not signed the code of conduct.",
            *(staff_ref(st, "code of conduct not signed") for st in unsigned),
        )
    return passed(f"All {count(len(staff), 'member')} of staff in the group have signed the code of conduct.")


RULE = GroupRule(
    id="GRP-STAFF-CODE-OF-CONDUCT",
    title="Staff in the group signed the code of conduct",
    clause=clause("REC-CODE-OF-CONDUCT"),
    also=(clause("PROMOTE-CODES-OF-CONDUCT"),),
    severity=Severity.medium,
    remediation="Ask each member of staff listed to sign the code of conduct, and record the date.",
    subject=Subject.group,
    check=check,
)
