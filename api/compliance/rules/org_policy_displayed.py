from __future__ import annotations

from api.compliance.controls import control_check
from api.compliance.rules.base import Severity, org_rule

CONTROL = "CTL-POLICY-DISPLAYED"
check = control_check(CONTROL)


RULE = org_rule(
    check,
    id="ORG-POLICY-DISPLAYED",
    title="The social media policy is on display in the tech room",
    clause="REC-POLICY-DISPLAYED",
    severity=Severity.low,
    remediation="Have the owner check the social media policy is on the tech room's wall (the version in "
    "force) and record the check.",
)
