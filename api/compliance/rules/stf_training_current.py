from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    StaffRule,
    Subject,
    not_applicable,
    passed,
    staff_ref,
    stale,
    warned,
)
from api.compliance.snapshot import StaffSnapshot
from api.policy.clauses import clause


def check(s: StaffSnapshot) -> Result:
    st = s.staff
    valid = s.thresholds.training_valid_days
    if not st.employed_on(s.as_of):
        return not_applicable(f"Not employed on {s.as_of}.")
    done = st.esafety_training_completed_on
    if stale(done, s.as_of, valid):
        if done is None or done > s.as_of:
            return warned("No e-safety training is recorded.", staff_ref(st))
        return warned(f"E-safety training on {done} is older than {valid} days.", staff_ref(st))
    return passed(f"E-safety training completed on {done}.", staff_ref(st))


RULE = StaffRule(
    id="STF-TRAINING-CURRENT",
    title="E-safety training is current",
    clause=clause("PROMOTE-TRAINING"),
    severity=Severity.low,
    remediation="Book them onto e-safety training and record the date they complete it.",
    subject=Subject.staff,
    check=check,
)
