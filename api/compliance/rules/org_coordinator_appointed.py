from __future__ import annotations

from api.compliance.rules.base import Result, Severity, failed, org_rule, passed, staff_ref
from api.compliance.snapshot import OrgSnapshot


def check(s: OrgSnapshot) -> Result:
    current = [c for c in s.coordinators if c.is_esafety_coordinator and c.employed_on(s.as_of)]
    if not current:
        return failed("No current member of staff is the e-safety coordinator.")
    return passed(
        f"{', '.join(c.full_name for c in current)} "
        f"{'is the e-safety coordinator' if len(current) == 1 else 'are e-safety coordinators'}.",
        *(staff_ref(c, "e-safety coordinator") for c in current),
    )


RULE = org_rule(
    check,
    id="ORG-COORDINATOR-APPOINTED",
    title="An e-safety coordinator is appointed",
    clause="PROMOTE-COORDINATOR",
    severity=Severity.critical,
    remediation="Appoint a current member of staff as e-safety coordinator and mark them so in their record.",
)
