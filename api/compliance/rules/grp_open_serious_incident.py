from __future__ import annotations

from api.compliance.rules.base import Evidence, GroupRule, Result, Severity, Subject, count, passed, warned
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause

SERIOUS = frozenset({"high", "critical"})


def check(s: GroupSnapshot) -> Result:
    open_ = [i for i in s.incidents if i.severity in SERIOUS and i.open_on(s.as_of)]
    if open_:
        return warned(
            f"{count(len(open_), 'high or critical incident')} linked to the group "
            f"{'is' if len(open_) == 1 else 'are'} not closed.",
            *(
                Evidence(
                    "incident",
                    i.id,
                    f"{i.severity} {i.category.replace('_', ' ')} incident",
                    f"reported on {i.reported_on}; status {i.status}",
                )
                for i in sorted(open_, key=lambda i: (i.reported_on, str(i.id)))
            ),
        )
    return passed("No high or critical incident linked to the group is open.")


RULE = GroupRule(
    id="GRP-OPEN-SERIOUS-INCIDENT",
    title="No serious incident is open",
    clause=clause("PROMOTE-DEAL-WITH-INCIDENTS"),
    severity=Severity.high,
    remediation="Work the open incidents through to a recorded outcome and close them.",
    subject=Subject.group,
    check=check,
)
