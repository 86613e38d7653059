from __future__ import annotations

from api.compliance.controls import control_check
from api.compliance.rules.base import Severity, org_rule

CONTROL = "CTL-SECURITY-REVIEW"
check = control_check(CONTROL)


RULE = org_rule(
    check,
    id="ORG-SECURITY-REVIEW",
    title="The security of the information systems is reviewed on time",
    clause="PROMOTE-SECURITY-REVIEW",
    severity=Severity.high,
    remediation="Have the owner review the security of the information systems (updates, accounts, backups, "
    "encryption) and record the check with any follow-up.",
)
