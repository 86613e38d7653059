from __future__ import annotations

from api.compliance.clauses import clause
from api.compliance.rules.base import (
    GroupRule,
    Result,
    Scope,
    Severity,
    count,
    failed,
    not_applicable,
    participant_ref,
    passed,
)
from api.compliance.snapshot import GroupSnapshot
from api.consents.logic import allows, decide

PURPOSE = "social_media"


def check(s: GroupSnapshot) -> Result:
    if not s.group.shares_images:
        return not_applicable("The group does not share images.")
    participants = [p for _, p in s.current_participants()]
    if not participants:
        return not_applicable("The group has no participant members.")
    missing = []
    min_age = s.thresholds.self_consent_min_age
    for p in participants:
        # `allows` for everyone; the full decision (its sentence) only for the few it refuses.
        if allows(
            p.consents,
            kind="image_use",
            purpose=PURPOSE,
            on=s.as_of,
            date_of_birth=p.date_of_birth,
            self_consent_min_age=min_age,
        ):
            continue
        decision = decide(
            p.consents,
            kind="image_use",
            purpose=PURPOSE,
            on=s.as_of,
            date_of_birth=p.date_of_birth,
            self_consent_min_age=min_age,
        )
        missing.append(participant_ref(p, decision.detail))
    if missing:
        return failed(
            f"The group shares images and {count(len(missing), 'participant')} "
            f"{'has' if len(missing) == 1 else 'have'} no valid image-use consent covering social media.",
            *missing,
        )
    return passed(f"All {count(len(participants), 'participant')} have image-use consent for social media.")


RULE = GroupRule(
    id="GRP-IMAGE-CONSENT",
    title="Image-use consent covers social media",
    clause=clause("PROMOTE-IMAGE-PERMISSION"),
    severity=Severity.high,
    remediation="Stop sharing images of the participants listed until image-use consent covering social "
    "media is recorded for each.",
    scope=Scope.group,
    check=check,
)
