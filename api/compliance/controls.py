"""Whether a recurring control is kept on a day, and whether a technology was assessed before its use:
shared by the organisation rules (one per seeded control, ORG-TECHNOLOGY-ASSESSED). Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from api.compliance.rules.base import Evidence, Result, failed, latest, passed, staff_ref, warned
from api.compliance.snapshot import ControlFacts, OrgSnapshot


def _ref(c: ControlFacts, detail: str | None = None) -> Evidence:
    return Evidence("control", c.id, c.name, detail)


def control_result(s: OrgSnapshot, code: str) -> Result:
    """Fail when the control is missing from the register, has no current owner, was never checked, is
    overdue, or its last check found issues with no follow-up recorded; warn when due within its
    `warn_within_days`; pass otherwise."""
    found = [c for c in s.controls if c.code == code]
    if not found:
        return failed(f"The controls register has no {code} in force.")
    c = found[0]
    on = s.as_of
    if c.owner is None or not c.owner.employed_on(on):
        return failed("The control has no current member of staff as its owner.", _ref(c, "no owner"))
    # The latest check by its day; among several that day, the one recorded last (checks come in recording
    # order): a later check that found issues on the same day is the control's state, not an earlier "ok".
    last = latest((k for k in c.checks if k.performed_on <= on), lambda k: k.performed_on)
    if last is None:
        return failed("The control has never been checked.", _ref(c), staff_ref(c.owner, "owner"))
    if last.issues_found and not last.has_follow_up:
        return failed(
            f"The check on {last.performed_on} found issues and no follow-up is recorded.",
            _ref(c, f"checked on {last.performed_on}"),
            staff_ref(c.owner, "owner"),
        )
    due = last.performed_on + timedelta(days=c.cadence_days)
    if on > due:
        return failed(
            f"Overdue since {due}: last checked on {last.performed_on}, every {c.cadence_days} days.",
            _ref(c, f"due {due}"),
            staff_ref(c.owner, "owner"),
        )
    if (due - on).days <= c.warn_within_days:
        return warned(f"Due on {due} (last checked on {last.performed_on}).", _ref(c, f"due {due}"))
    return passed(f"Last checked on {last.performed_on}; next due on {due}.", _ref(c, f"due {due}"))


def control_check(code: str) -> Callable[[OrgSnapshot], Result]:
    """The check of an organisation rule that one control of the register keeps: `control_result` for the
    control whose code is `code` (a seeded control's, e.g. "CTL-SECURITY-REVIEW")."""

    def check(s: OrgSnapshot) -> Result:
        return control_result(s, code)

    return check


def due_on(c: ControlFacts, on: date) -> date | None:
    """The day the next check is due (None: never checked)."""
    done = [k.performed_on for k in c.checks if k.performed_on <= on]
    return max(done) + timedelta(days=c.cadence_days) if done else None
