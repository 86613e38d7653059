from __future__ import annotations

from api.compliance.rules.base import Evidence, Outcome, Result, Severity, flag, group_rule
from api.compliance.snapshot import GroupSnapshot

SERIOUS = frozenset({"high", "critical"})


def check(s: GroupSnapshot) -> Result:
    open_ = [i for i in s.incidents if i.severity in SERIOUS and i.open_on(s.as_of)]
    return flag(
        [
            Evidence(
                "incident",
                i.id,
                f"{i.severity} {i.category.replace('_', ' ')} incident",
                f"reported on {i.reported_on}; status {i.status}",
            )
            for i in sorted(open_, key=lambda i: (i.reported_on, str(i.id)))
        ],
        "high or critical incident",
        "{n} linked to the group {is} not closed.",
        "No high or critical incident linked to the group is open.",
        outcome=Outcome.warn,
    )


RULE = group_rule(
    check,
    id="GRP-OPEN-SERIOUS-INCIDENT",
    title="No serious incident is open",
    clause="PROMOTE-DEAL-WITH-INCIDENTS",
    severity=Severity.high,
    remediation="Work the open incidents through to a recorded outcome and close them.",
)
