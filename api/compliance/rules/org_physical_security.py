from __future__ import annotations

from api.compliance.controls import control_result
from api.compliance.rules.base import OrgRule, Result, Severity, Subject
from api.compliance.snapshot import OrgSnapshot
from api.policy.clauses import clause

CONTROL = "CTL-PHYSICAL-SECURITY"


def check(s: OrgSnapshot) -> Result:
    return control_result(s, CONTROL)


RULE = OrgRule(
    id="ORG-PHYSICAL-SECURITY",
    title="The physical security of ICT equipment is checked on time",
    clause=clause("PROMOTE-PHYSICAL-SECURITY"),
    severity=Severity.medium,
    remediation="Have the owner check where the laptops, tablets and studio computers are kept and locked, "
    "and record the check with any follow-up.",
    subject=Subject.organisation,
    check=check,
)
