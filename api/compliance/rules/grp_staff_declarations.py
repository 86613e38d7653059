from __future__ import annotations

from api.compliance.declarations import DECLARED, standing
from api.compliance.rules.base import (
    GroupRule,
    Outcome,
    Result,
    Severity,
    Subject,
    count,
    not_applicable,
    passed,
    staff_ref,
)
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    staff = [st for _, st in s.current_staff() if st.employed_on(s.as_of)]
    if not staff:
        return not_applicable("The group has no current staff members.")
    found = [(st, *standing(st, s.as_of, s.thresholds, s.policy)) for st in staff]
    bad = [(st, o, m) for st, o, m in found if o is not Outcome.pass_]
    if not bad:
        return passed(f"All {count(len(staff), 'member')} of staff in the group have a current declaration.")
    worst = Outcome.fail if any(o is Outcome.fail for _, o, _ in bad) else Outcome.warn
    return Result(
        worst,
        f"{count(len(bad), 'member')} of staff in the group "
        f"{'has' if len(bad) == 1 else 'have'} no current declaration of personal social media conduct.",
        tuple(staff_ref(st, m) for st, _, m in bad),
    )


RULE = GroupRule(
    id="GRP-STAFF-DECLARATIONS",
    title="Staff in the group declared their personal social media conduct",
    clause=DECLARED[0],
    also=DECLARED[1:],
    severity=Severity.medium,
    remediation="Ask each member of staff listed to read the policy in force and record their declaration.",
    subject=Subject.group,
    check=check,
)
