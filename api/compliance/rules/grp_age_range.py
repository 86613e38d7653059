from __future__ import annotations

from api.compliance.rules.base import Result, Severity, flag, group_rule, not_applicable, participant_ref
from api.compliance.snapshot import GroupSnapshot
from api.consents.logic import age_on


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
    return flag(
        outside,
        "participant",
        "{n} {is} outside the group's age range ({span}) on {on}.",
        f"Every participant is within the group's age range ({span}).",
        span=span,
        on=s.as_of,
    )


RULE = group_rule(
    check,
    id="GRP-AGE-RANGE",
    title="Participants are within the group's age range",
    clause="REC-PERIODIC-REVIEW",
    severity=Severity.medium,
    remediation="Remove participants who are too old or too young for the group, or correct its age range.",
)
