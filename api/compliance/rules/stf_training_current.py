from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    done_by,
    passed,
    staff_ref,
    staff_rule,
    stale,
    warned,
    while_employed,
)
from api.compliance.snapshot import StaffSnapshot


@while_employed
def check(s: StaffSnapshot) -> Result:
    st = s.staff
    valid = s.thresholds.training_valid_days
    done = st.esafety_training_completed_on
    if stale(done, s.as_of, valid):
        if not done_by(done, s.as_of):
            return warned("No e-safety training is recorded.", staff_ref(st))
        return warned(f"E-safety training on {done} is older than {valid} days.", staff_ref(st))
    return passed(f"E-safety training completed on {done}.", staff_ref(st))


RULE = staff_rule(
    check,
    id="STF-TRAINING-CURRENT",
    title="E-safety training is current",
    clause="PROMOTE-TRAINING",
    severity=Severity.low,
    remediation="Book them onto e-safety training and record the date they complete it.",
)
