from __future__ import annotations

from api.compliance.declarations import DECLARED, standing
from api.compliance.rules.base import (
    Outcome,
    Result,
    Severity,
    flag,
    group_rule,
    not_applicable,
    staff_ref,
    tally,
)
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    staff = [st for _, st in s.current_staff() if st.employed_on(s.as_of)]
    if not staff:
        return not_applicable("The group has no current staff members.")
    found = [(st, *standing(st, s.as_of, s.thresholds, s.policy)) for st in staff]
    bad = [(st, o, m) for st, o, m in found if o is not Outcome.pass_]
    return flag(
        [staff_ref(st, m) for st, _, m in bad],
        "member",
        "{n} of staff in the group {has} no current declaration of personal social media conduct.",
        tally("All {n} of staff in the group have a current declaration.", len(staff), "member"),
        outcome=Outcome.fail if any(o is Outcome.fail for _, o, _ in bad) else Outcome.warn,
    )


RULE = group_rule(
    check,
    id="GRP-STAFF-DECLARATIONS",
    title="Staff in the group declared their personal social media conduct",
    clause=DECLARED[0],
    also=DECLARED[1:],
    severity=Severity.medium,
    remediation="Ask each member of staff listed to read the policy in force and record their declaration.",
)
