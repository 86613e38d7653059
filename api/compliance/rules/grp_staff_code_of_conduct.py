from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    done_by,
    flag,
    group_rule,
    not_applicable,
    staff_ref,
    tally,
)
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    # Every member of staff in an online group uses social media for their work, whatever their record says.
    staff = [st for _, st in s.current_staff()]
    if not staff:
        return not_applicable("The group has no staff members.")
    unsigned = [st for st in staff if not done_by(st.code_of_conduct_signed_on, s.as_of)]
    return flag(
        [staff_ref(st, "code of conduct not signed") for st in unsigned],
        "member",
        "{n} of staff in the group {has} not signed the code of conduct.",
        tally("All {n} of staff in the group have signed the code of conduct.", len(staff), "member"),
    )


RULE = group_rule(
    check,
    id="GRP-STAFF-CODE-OF-CONDUCT",
    title="Staff in the group signed the code of conduct",
    clause="REC-CODE-OF-CONDUCT",
    also=("PROMOTE-CODES-OF-CONDUCT",),
    severity=Severity.medium,
    remediation="Ask each member of staff listed to sign the code of conduct, and record the date.",
)
