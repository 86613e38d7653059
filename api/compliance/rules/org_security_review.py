from __future__ import annotations

from api.compliance.controls import control_result
from api.compliance.rules.base import OrgRule, Result, Severity, Subject
from api.compliance.snapshot import OrgSnapshot
from api.policy.clauses import clause

CONTROL = "CTL-SECURITY-REVIEW"


def check(s: OrgSnapshot) -> Result:
    return control_result(s, CONTROL)


RULE = OrgRule(
    id="ORG-SECURITY-REVIEW",
    title="The security of the information systems is reviewed on time",
    clause=clause("PROMOTE-SECURITY-REVIEW"),
    severity=Severity.high,
    remediation="Have the owner review the security of the information systems (updates, accounts, backups, "
    "encryption) and record the check with any follow-up.",
    subject=Subject.organisation,
    check=check,
)
