from __future__ import annotations

from calendar import isleap
from datetime import MAXYEAR, MINYEAR, date

from api.compliance.rules.base import Result, Severity, flag, group_rule, not_applicable, participant_ref
from api.compliance.snapshot import GroupSnapshot
from api.consents.logic import age_on


def born_by(on: date, years: int) -> date | None:
    """The last day someone could be born to be at least `years` old on `on`: `age_on(born, on) >= years`
    exactly when `born <= born_by(on, years)`. None where that day is outside the calendar."""
    year = on.year - years
    if not MINYEAR <= year <= MAXYEAR:
        return None
    if on.month == 2 and on.day == 29 and not isleap(year):
        # No 29 February that year: the 28th is the last day before it.
        return date(year, 2, 28)
    return on.replace(year=year)


def check(s: GroupSnapshot) -> Result:
    low, high = s.group.min_age, s.group.max_age
    if low is None and high is None:
        return not_applicable("The group sets no age range.")
    span = f"{low if low is not None else 'any'} to {high if high is not None else 'any'}"
    # Born after `first` and on or before `last`: within the range, decided by two comparisons instead of an
    # age worked out for each participant of every group. Anyone else (or everyone, where a bound is outside
    # the calendar) has their age worked out as before.
    first = date.min if high is None else born_by(s.as_of, high + 1)
    last = date.max if low is None else born_by(s.as_of, low)
    if first is None or last is None:
        first, last = date.max, date.min
    outside = []
    for p in s.current_participant_facts():
        if first < p.date_of_birth <= last:
            continue
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
