from __future__ import annotations

from datetime import timedelta

from api.compliance.rules.base import Evidence, Result, Severity, failed, group_rule, not_applicable, passed
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    """A review recorded by hand, or a roster from the platform with everyone on it accounted for (a
    reconciled roster is the review done against the real group) that a person looked at (uploaded it, or
    applied one a connector's key uploaded: `RosterFacts.reviewed`), within the review interval."""
    interval = s.thresholds.review_interval_days
    if s.group.started_on > s.as_of:
        return not_applicable(f"The group had not started on {s.as_of}.")
    done = [(r.reviewed_on, Evidence("review", r.id, f"review of {r.reviewed_on}")) for r in s.reviews]
    done += [
        (r.captured_on, Evidence("roster", r.id, f"member list of {r.captured_on}, reconciled"))
        for r in s.rosters
        if r.reviewed
    ]
    latest = max((d for d in done if d[0] <= s.as_of), key=lambda d: d[0], default=None)
    since = latest[0] if latest else s.group.started_on
    age = (s.as_of - since).days
    due = since + timedelta(days=interval)
    evidence = [latest[1]] if latest else []
    # Exactly `interval` days after the last review (or the start) is the last day it is not yet overdue.
    if age > interval:
        what = f"last reviewed on {since}" if latest else f"never reviewed since it started on {since}"
        return failed(
            f"The group was {what}, {age} days ago; reviews are due every {interval} days.", *evidence
        )
    if latest is None:
        return passed(f"The group started {age} days ago; its first review is due by {due}.")
    return passed(f"Last reviewed on {since} ({age} days ago); the next review is due by {due}.", *evidence)


RULE = group_rule(
    check,
    id="GRP-PERIODIC-REVIEW",
    title="The group has been reviewed recently",
    clause="REC-PERIODIC-REVIEW",
    severity=Severity.medium,
    remediation="Review the group's membership and settings, remove anyone who no longer takes part, "
    "and record the review.",
)
