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

PURPOSE = "social_media"


def check(s: GroupSnapshot) -> Result:
    if not s.group.shares_images:
        return not_applicable("The group does not share images.")
    participants = [p for _, p in s.current_participants()]
    if not participants:
        return not_applicable("The group has no participant members.")
    missing = refused_consent(s, participants, kind="image_use", purpose=PURPOSE)
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
    subject=Subject.group,
    check=check,
)
