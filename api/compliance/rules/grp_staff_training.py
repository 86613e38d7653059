from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    count,
    done_by,
    group_rule,
    not_applicable,
    passed,
    staff_ref,
    stale,
    warned,
)
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    valid = s.thresholds.training_valid_days
    admins = [st for m, st in s.current_staff() if m.is_admin]
    if not admins:
        return not_applicable("The group has no staff admins (see GRP-TWO-STAFF-ADMINS).")
    due = [a for a in admins if stale(a.esafety_training_completed_on, s.as_of, valid)]
    if due:
        return warned(
            f"{count(len(due), 'admin')}' e-safety training is missing or older than {valid} days."
            if len(due) > 1
            else f"1 admin's e-safety training is missing or older than {valid} days.",
            *(
                staff_ref(
                    a,
                    "no training recorded"
                    if not done_by(a.esafety_training_completed_on, s.as_of)
                    else f"trained on {a.esafety_training_completed_on}",
                )
                for a in due
            ),
        )
    return passed(f"Every admin's e-safety training is within {valid} days.")


RULE = group_rule(
    check,
    id="GRP-STAFF-TRAINING",
    title="Admins' e-safety training is current",
    clause="PROMOTE-TRAINING",
    severity=Severity.low,
    remediation="Book the admins listed onto e-safety training and record the date they complete it.",
)
