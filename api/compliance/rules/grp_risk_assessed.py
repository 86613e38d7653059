from __future__ import annotations

from api.compliance.rules.base import Evidence, Result, Severity, failed, group_rule, not_applicable, passed
from api.compliance.snapshot import GroupSnapshot, RiskAssessmentFacts


def _ref(a: RiskAssessmentFacts, detail: str) -> Evidence:
    recorded = a.recorded_on or a.assessed_on
    return Evidence(
        "risk_assessment",
        a.id,
        f"risk assessment of {a.assessed_on} (recorded on {recorded}) by {a.assessor.full_name}",
        detail,
    )


def check(s: GroupSnapshot) -> Result:
    valid_days = s.thresholds.risk_assessment_valid_days
    start = s.group.started_on
    if start > s.as_of:
        return not_applicable(f"The group had not started on {s.as_of}.")
    # Only assessments made, and recorded, by the evaluation date count.
    done = sorted((a for a in s.risk_assessments if a.known_on <= s.as_of), key=lambda a: a.assessed_on)
    by_staff = [a for a in done if a.assessor.employed_on(a.assessed_on)]
    # "Risk assessed in advance by the member of staff wishing to use them": before (or on) the start day,
    # by someone employed then who is a staff member of the group. Before only if recorded by then too: an
    # assessment written up after the start, however it is dated, cannot show it was done in advance.
    in_advance = [a for a in by_staff if a.known_on <= start and a.assessor_uses_group]
    if not in_advance:
        evidence = []
        for a in done:
            if a.assessed_on > start:
                evidence.append(_ref(a, f"made after the group started on {start}"))
            elif a.known_on > start:
                evidence.append(_ref(a, f"recorded after the group started on {start}"))
            elif not a.assessor.employed_on(a.assessed_on):
                evidence.append(_ref(a, "the assessor was not employed on that day"))
            else:
                evidence.append(_ref(a, "the assessor is not a member of staff using the group"))
        return failed(
            f"The group was not risk assessed before it started on {start} by a member of staff using it.",
            *evidence,
        )
    latest = by_staff[-1]
    age = (s.as_of - latest.assessed_on).days
    if age > valid_days:
        return failed(
            f"The latest risk assessment is {age} days old; assessments are valid for {valid_days} days.",
            _ref(latest, "latest"),
        )
    return passed(
        f"Risk assessed before it started; the latest assessment is {age} days old.",
        _ref(in_advance[0], "in advance"),
        *([_ref(latest, "latest")] if latest is not in_advance[0] else []),
    )


RULE = group_rule(
    check,
    id="GRP-RISK-ASSESSED",
    title="Risk assessed in advance and kept current",
    clause="PROMOTE-RISK-ASSESS-TOOLS",
    severity=Severity.high,
    remediation="Have a member of staff who uses the group record a risk assessment of it (and repeat it "
    "before the last one runs out).",
)
