from __future__ import annotations

from api.compliance.rules.base import Result, Severity, each_participant_consents, group_rule
from api.compliance.snapshot import GroupSnapshot


def check(s: GroupSnapshot) -> Result:
    return each_participant_consents(
        s,
        kind="esafety_agreement",
        purpose=None,
        problem="{n} in the group {has} no valid e-safety agreement.",
        fine="All {n} have a valid e-safety agreement.",
    )


RULE = group_rule(
    check,
    id="GRP-ESAFETY-AGREEMENT",
    title="Participants have a valid e-safety agreement",
    clause="PROMOTE-ESAFETY-AGREEMENT",
    severity=Severity.high,
    remediation="Record a signed e-safety agreement for each participant listed (from a parent or carer "
    "below the self-consent age), or remove them from the group until there is one.",
)
