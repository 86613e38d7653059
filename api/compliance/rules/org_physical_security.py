from __future__ import annotations

from api.compliance.controls import control_check
from api.compliance.rules.base import Severity, org_rule

CONTROL = "CTL-PHYSICAL-SECURITY"
check = control_check(CONTROL)


RULE = org_rule(
    check,
    id="ORG-PHYSICAL-SECURITY",
    title="The physical security of ICT equipment is checked on time",
    clause="PROMOTE-PHYSICAL-SECURITY",
    severity=Severity.medium,
    remediation="Have the owner check where the laptops, tablets and studio computers are kept and locked, "
    "and record the check with any follow-up.",
)
