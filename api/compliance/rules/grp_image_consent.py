from __future__ import annotations

from api.compliance.rules.base import (
    Result,
    Severity,
    each_participant_consents,
    group_rule,
    not_applicable,
)
from api.compliance.snapshot import GroupSnapshot

PURPOSE = "social_media"


def check(s: GroupSnapshot) -> Result:
    if not s.group.shares_images:
        return not_applicable("The group does not share images.")
    return each_participant_consents(
        s,
        kind="image_use",
        purpose=PURPOSE,
        problem="The group shares images and {n} {has} no valid image-use consent covering social media.",
        fine="All {n} have image-use consent for social media.",
    )


RULE = group_rule(
    check,
    id="GRP-IMAGE-CONSENT",
    title="Image-use consent covers social media",
    clause="PROMOTE-IMAGE-PERMISSION",
    severity=Severity.high,
    remediation="Stop sharing images of the participants listed until image-use consent covering social "
    "media is recorded for each.",
)
