from __future__ import annotations

from api.compliance.rules.base import (
    GroupRule,
    Result,
    Severity,
    Subject,
    count,
    failed,
    not_applicable,
    participant_ref,
    passed,
)
from api.compliance.snapshot import GroupSnapshot
from api.consents.logic import is_in_force
from api.policy.clauses import clause

# Recorded as a consent of this kind, given by the young person themself (see api/consents/models.py).
KIND = "code_of_conduct"


def check(s: GroupSnapshot) -> Result:
    participants = [p for _, p in s.current_participants()]
    if not participants:
        return not_applicable("The group has no participant members.")
    # The young person's own agreement, at any age: a promise about their conduct is theirs to make, not a
    # consent a parent gives for them (so the self-consent age does not apply).
    missing = [
        p
        for p in participants
        if not any(
            c.kind == KIND and c.given_by == "participant" and is_in_force(c, s.as_of) for c in p.consents
        )
    ]
    if missing:
        return failed(
            f"{count(len(missing), 'participant')} in the group "
            f"{'has' if len(missing) == 1 else 'have'} not been made aware of the social media policy and "
            "agreed to the code of conduct.",
            *(participant_ref(p, "no code of conduct agreement in force") for p in missing),
        )
    return passed(
        f"All {count(len(participants), 'participant')} know the social media policy and agreed to the code "
        "of conduct."
    )


RULE = GroupRule(
    id="GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT",
    title="Young people know the social media policy and agreed to the code of conduct",
    clause=clause("REC-POLICY-DISPLAYED"),
    also=(clause("PROMOTE-CODES-OF-CONDUCT"),),
    severity=Severity.medium,
    remediation="Go through the social media policy with each young person listed and record their "
    "agreement to the young people's code of conduct (a consent of kind code_of_conduct, given by them).",
    subject=Subject.group,
    check=check,
)
