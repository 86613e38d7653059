from __future__ import annotations

from api.compliance.rules.base import (
    GroupRule,
    Result,
    Severity,
    Subject,
    count,
    failed,
    not_applicable,
    participant_ref,
    passed,
)
from api.compliance.snapshot import GroupSnapshot
from api.consents.logic import age_on
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    low, high = s.group.min_age, s.group.max_age
    if low is None and high is None:
        return not_applicable("The group sets no age range.")
    span = f"{low if low is not None else 'any'} to {high if high is not None else 'any'}"
    outside = []
    for _, p in s.current_participants():
        age = age_on(p.date_of_birth, s.as_of)
        if (high is not None and age > high) or (low is not None and age < low):
            outside.append(participant_ref(p, f"aged {age} on {s.as_of}; the group is for ages {span}"))
    if outside:
        return failed(
            f"{count(len(outside), 'participant')} {'is' if len(outside) == 1 else 'are'} outside the "
            f"group's age range ({span}) on {s.as_of}.",
            *outside,
        )
    return passed(f"Every participant is within the group's age range ({span}).")


RULE = GroupRule(
    id="GRP-AGE-RANGE",
    title="Participants are within the group's age range",
    clause=clause("REC-PERIODIC-REVIEW"),
    severity=Severity.medium,
    remediation="Remove participants who are too old or too young for the group, or correct its age range.",
    subject=Subject.group,
    check=check,
)
