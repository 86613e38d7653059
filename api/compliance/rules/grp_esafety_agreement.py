from __future__ import annotations

from api.compliance.rules.base import (
    GroupRule,
    Result,
    Severity,
    Subject,
    count,
    failed,
    not_applicable,
    passed,
    refused_consent,
)
from api.compliance.snapshot import GroupSnapshot
from api.policy.clauses import clause


def check(s: GroupSnapshot) -> Result:
    participants = [p for _, p in s.current_participants()]
    if not participants:
        return not_applicable("The group has no participant members.")
    missing = refused_consent(s, participants, kind="esafety_agreement", purpose=None)
    if missing:
        return failed(
            f"{count(len(missing), 'participant')} in the group {'has' if len(missing) == 1 else 'have'} "
            "no valid e-safety agreement.",
            *missing,
        )
    return passed(f"All {count(len(participants), 'participant')} have a valid e-safety agreement.")


RULE = GroupRule(
    id="GRP-ESAFETY-AGREEMENT",
    title="Participants have a valid e-safety agreement",
    clause=clause("PROMOTE-ESAFETY-AGREEMENT"),
    severity=Severity.high,
    remediation="Record a signed e-safety agreement for each participant listed (from a parent or carer "
    "below the self-consent age), or remove them from the group until there is one.",
    subject=Subject.group,
    check=check,
)
