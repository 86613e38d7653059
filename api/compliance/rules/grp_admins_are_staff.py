from __future__ import annotations

from api.compliance.rules.base import Result, Severity, flag, group_rule, participant_ref
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    # Admins approve members and can see and remove anything: the policy gives that role to staff only.
    young_admins = [participant_ref(p, "admin") for m, p in s.current_participants() if m.is_admin]
    return flag(
        young_admins, "participant", "{n} hold{s} the admin role.", "Every admin is a member of staff."
    )


RULE = group_rule(
    check,
    id="GRP-ADMINS-ARE-STAFF",
    title="Only staff are admins",
    clause="REC-FB-TWO-ADMINS",
    severity=Severity.high,
    remediation="Remove the admin role from every participant; admins must be current members of staff.",
)
