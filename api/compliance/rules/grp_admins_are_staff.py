from __future__ import annotations

from api.compliance.rules.base import (
    GroupRule,
    Result,
    Severity,
    Subject,
    count,
    failed,
    participant_ref,
    passed,
)
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    # Admins approve members and can see and remove anything: the policy gives that role to staff only.
    young_admins = [p for m, p in s.current_participants() if m.is_admin]
    if young_admins:
        return failed(
            f"{count(len(young_admins), 'participant')} {'holds' if len(young_admins) == 1 else 'hold'} "
            "the admin role.",
            *(participant_ref(p, "admin") for p in young_admins),
        )
    return passed("Every admin is a member of staff.")


RULE = GroupRule(
    id="GRP-ADMINS-ARE-STAFF",
    title="Only staff are admins",
    clause=clause("REC-FB-TWO-ADMINS"),
    severity=Severity.high,
    remediation="Remove the admin role from every participant; admins must be current members of staff.",
    subject=Subject.group,
    check=check,
)
