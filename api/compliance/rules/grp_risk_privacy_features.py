from __future__ import annotations

from api.compliance.rules.base import (
    Evidence,
    Result,
    Severity,
    group_rule,
    latest,
    not_applicable,
    passed,
    warned,
)
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    done = [a for a in s.risk_assessments if a.assessed_on <= s.as_of]
    if not done:
        return not_applicable("The group has no risk assessment yet (see GRP-RISK-ASSESSED).")
    # The latest by its day; among several that day, the one recorded last.
    last = latest(done, lambda a: a.assessed_on)
    assert last is not None
    ref = Evidence("risk_assessment", last.id, f"risk assessment of {last.assessed_on}")
    if not last.privacy_features_checked:
        return warned(
            "The latest risk assessment does not record that the privacy features were checked.", ref
        )
    return passed("The latest risk assessment checked the platform's privacy features.", ref)


RULE = group_rule(
    check,
    id="GRP-RISK-PRIVACY-FEATURES",
    title="The risk assessment checked privacy features",
    clause="PROMOTE-RISK-ASSESS-TOOLS",
    severity=Severity.low,
    remediation="Check the platform's privacy features for the group and record it in a new risk assessment.",
)
