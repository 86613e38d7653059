"""GRP-ROSTER-RECONCILED: the latest member list taken from the platform has everyone on it accounted for.

An unknown person on the platform is the failure that matters most in a children's group (an adult nobody
has identified), and the records cannot show it: only a roster can. A group that never had a roster
uploaded is not judged here (GRP-PERIODIC-REVIEW still asks for its review)."""

from __future__ import annotations

from api.compliance.clauses import clause
from api.compliance.rules.base import (
    Evidence,
    GroupRule,
    Result,
    Scope,
    Severity,
    count,
    failed,
    not_applicable,
    passed,
    warned,
)
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    taken = [r for r in s.rosters if r.captured_on <= s.as_of]
    latest = max(taken, key=lambda r: r.captured_on, default=None)
    if latest is None:
        return not_applicable("No member list has been uploaded from the platform for this group.")
    evidence = Evidence(
        "roster",
        latest.id,
        f"member list of {latest.captured_on}",
        f"{latest.open_unknown} unknown, {latest.open_probable} unconfirmed",
    )
    if latest.open_unknown or latest.open_probable:
        parts = []
        if latest.open_unknown:
            parts.append(f"{count(latest.open_unknown, 'person', 'people')} nobody has identified")
        if latest.open_probable:
            parts.append(f"{count(latest.open_probable, 'match')} by name alone not yet confirmed")
        return failed(
            f"The platform's member list of {latest.captured_on} has {' and '.join(parts)}.", evidence
        )
    interval = s.thresholds.review_interval_days
    age = (s.as_of - latest.captured_on).days
    if age > interval:
        return warned(
            f"The latest member list from the platform was taken on {latest.captured_on}, {age} days ago; "
            f"reviews are due every {interval} days.",
            evidence,
        )
    return passed(f"Everyone on the member list of {latest.captured_on} is accounted for.", evidence)


RULE = GroupRule(
    id="GRP-ROSTER-RECONCILED",
    title="Everyone on the platform's member list is accounted for",
    clause=clause("REC-PERIODIC-REVIEW"),
    severity=Severity.critical,
    remediation="Open the group's latest roster, identify or remove each unknown person and confirm each "
    "probable match, then apply it; upload a fresh member list at every review.",
    scope=Scope.group,
    check=check,
)
