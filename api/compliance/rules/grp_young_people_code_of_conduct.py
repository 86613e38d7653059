from __future__ import annotations

from api.compliance.rules.base import (
    Evidence,
    Result,
    Severity,
    each_participant,
    group_rule,
    not_held_by_participant,
)
from api.compliance.snapshot import GroupSnapshot, ParticipantFacts

# Recorded as a consent of this kind, given by the young person themself (see api/consents/models.py).
KIND = "code_of_conduct"


def check(s: GroupSnapshot) -> Result:
    # The young person's own agreement, at any age: a promise about their conduct is theirs to make, not a
    # consent a parent gives for them (so the self-consent age does not apply).
    def missing(participants: list[ParticipantFacts]) -> list[Evidence]:
        return not_held_by_participant(participants, KIND, s.as_of, "no code of conduct agreement in force")

    return each_participant(
        s,
        missing,
        "{n} in the group {has} not been made aware of the social media policy and agreed to the code of "
        "conduct.",
        "All {n} know the social media policy and agreed to the code of conduct.",
    )


RULE = group_rule(
    check,
    id="GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT",
    title="Young people know the social media policy and agreed to the code of conduct",
    clause="REC-POLICY-DISPLAYED",
    also=("PROMOTE-CODES-OF-CONDUCT",),
    severity=Severity.medium,
    remediation="Go through the social media policy with each young person listed and record their "
    "agreement to the young people's code of conduct (a consent of kind code_of_conduct, given by them).",
)
