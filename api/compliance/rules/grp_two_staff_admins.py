from __future__ import annotations

from api.compliance.rules.base import Result, Severity, count, failed, group_rule, passed, staff_ref, tally
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    needed = s.thresholds.min_group_admins
    admins = [staff for m, staff in s.current_staff() if m.is_admin]
    counted = [a for a in admins if a.employed_on(s.as_of)]
    # A departed admin who still holds the role is evidence, but never counts towards the minimum.
    departed = [a for a in admins if not a.employed_on(s.as_of)]
    evidence = [staff_ref(a, "admin") for a in counted]
    evidence += [staff_ref(a, f"admin, but left on {a.left_on}: does not count") for a in departed]
    if len(counted) < needed:
        return failed(
            tally(
                "{n} of staff hold{s} the admin role; the policy needs at least {needed}.",
                len(counted),
                "current member",
                needed=needed,
            ),
            *evidence,
        )
    return passed(f"{count(len(counted), 'current member')} of staff hold the admin role.", *evidence)


RULE = group_rule(
    check,
    id="GRP-TWO-STAFF-ADMINS",
    title="At least two current staff are admins",
    clause="REC-FB-TWO-ADMINS",
    severity=Severity.high,
    remediation="Make current members of staff admins of the group until it has at least the minimum.",
)
