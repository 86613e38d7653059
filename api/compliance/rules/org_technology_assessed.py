from __future__ import annotations

from api.compliance.rules.base import (
    Evidence,
    Result,
    Severity,
    flag,
    latest,
    not_applicable,
    org_rule,
    tally,
)
from api.compliance.snapshot import OrgSnapshot, TechnologyAssessmentFacts, TechnologyFacts


def _dates(a: TechnologyAssessmentFacts) -> str:
    recorded = a.recorded_on or a.assessed_on
    return f"assessed on {a.assessed_on}, recorded on {recorded}"


def _problem(t: TechnologyFacts) -> str | None:
    """Why `t` fails, or None. An assessment is "before use" only if both the day it claims and the day it
    was recorded here are on or before the first use: an assessment written up after the fact, however it
    is dated, cannot show that the technology was examined before it was used (an after-the-fact record
    must not make a past breach look compliant; as GRP-RISK-ASSESSED, the breach stands, and the record
    shows both dates)."""
    assert t.first_used_on is not None
    before = [a for a in t.assessments if a.known_on <= t.first_used_on]
    if not before:
        late = sorted(t.assessments, key=lambda a: (a.known_on, a.assessed_on))
        if late:
            return (
                f"in use since {t.first_used_on}; its risk assessment came after ({_dates(late[0])}), none "
                "before then"
            )
        return f"in use since {t.first_used_on} with no risk assessment before then"
    # The decision that counts is the latest by the day it was made; among several that day, the one
    # recorded last (assessments come in recording order): approved then rejected the same day is rejected.
    last = latest(t.assessments, lambda a: a.assessed_on)
    assert last is not None
    if last.decision == "rejected":
        return f"in use, but the assessment of {last.assessed_on} rejected it ({_dates(last)})"
    return None


def check(s: OrgSnapshot) -> Result:
    in_use = [t for t in s.technologies if t.in_use_on(s.as_of)]
    if not in_use:
        return not_applicable("No technology in the register is in use.")
    # Only assessments made, and recorded, by the evaluation date count.
    dated = [
        TechnologyFacts(
            t.id,
            t.name,
            t.first_used_on,
            t.retired_on,
            tuple(a for a in t.assessments if a.known_on <= s.as_of),
        )
        for t in in_use
    ]
    bad = [(t, p) for t in dated if (p := _problem(t)) is not None]
    return flag(
        [Evidence("technology", t.id, t.name, p) for t, p in bad],
        "technology",
        "{n} in use {was} not risk assessed and approved before use.",
        tally("All {n} in use were assessed before use.", len(in_use), "technology", "technologies"),
        plural="technologies",
    )


RULE = org_rule(
    check,
    id="ORG-TECHNOLOGY-ASSESSED",
    title="New technologies are risk assessed before use",
    clause="PROMOTE-ASSESS-NEW-TECHNOLOGY",
    severity=Severity.high,
    remediation="Stop using the technology until a member of staff records a risk assessment of it and a "
    "decision to use it (POST /api/v1/technologies/{technology_id}/assessments).",
)
