from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from sqlmodel import Field, SQLModel

from api.common import NOT_BLANK, Day, Flag, NonBlank, Patch, Whole, forbid_extra
from api.db import Timestamped, enum_type
from api.described import DESCRIBED, DescribedEnum


class Platform(DescribedEnum):
    """Where the online group lives. The policy's rules for Facebook groups (closed, admins approve
    members, at least two staff admins) apply to `facebook_group`; the other platforms are held to the
    same standards where they have the same settings.

    - facebook_group: a Facebook group (the policy's "More Music Facebook groups").
    - whatsapp: a WhatsApp group or community.
    - discord: a Discord server.
    - instagram: an Instagram account the organisation runs for a project.
    - email_list: a mailing list run from the organisation's official email accounts.
    - other: any other platform; say which in `project` or `url`."""

    facebook_group = "facebook_group"
    whatsapp = "whatsapp"
    discord = "discord"
    instagram = "instagram"
    email_list = "email_list"
    other = "other"


class Visibility(DescribedEnum):
    """Who can find the group and read it, in Facebook's terms (other platforms: the nearest setting). The
    policy says "All Facebook groups must be set as closed"; `secret` is stricter still and also passes.

    - closed: anyone can find the group and see its name and admins, but only members see who is in it and
      what they post (Facebook's "private, visible").
    - secret: only members can find the group at all, and only members see its members and posts
      (Facebook's "private, hidden").
    - public: anyone, signed in or not, can see the group's members and posts: fails the policy."""

    closed = "closed"
    secret = "secret"
    public = "public"


class JoinApproval(DescribedEnum):
    """Who may let a new member into the group. The policy: "only admins can approve new members to the
    group".

    - admins_only: only the group's admins approve join requests (what the policy asks).
    - any_member: any member can add or approve people: fails the policy."""

    admins_only = "admins_only"
    any_member = "any_member"


class GroupStatus(DescribedEnum):
    """Whether the group is still in use.

    - active: in use; evaluated for compliance.
    - archived: no longer used from `archived_on`; kept for the record and no longer evaluated."""

    active = "active"
    archived = "archived"


# Whether every member sees every message, where the platform alone decides it: a Facebook group's posts
# reach every member, and so does a message to an email list. WhatsApp (a group, or a broadcast list or
# direct messages), Discord (channels, or direct messages), Instagram and others depend on how the group is
# used, so the answer is unknown (null) until someone records it; GRP-MESSAGES-SEEN-BY-ALL warns meanwhile.
SEEN_BY_ALL_BY_PLATFORM: dict[Platform, bool] = {Platform.facebook_group: True, Platform.email_list: True}


def seen_by_all_default(platform: Platform) -> bool | None:
    """`messages_seen_by_all` for a group whose answer was not recorded: the platform's, or None
    (unknown)."""
    return SEEN_BY_ALL_BY_PLATFORM.get(platform)


class GroupBase(SQLModel):
    model_config = DESCRIBED
    name: NonBlank = Field(min_length=1, max_length=200)
    """The group's name as it appears on the platform."""
    platform: Platform = Field(sa_type=enum_type(Platform))
    """The platform the group is on."""
    project: str | None = Field(default=None, max_length=200)
    """The More Music project or course the group serves (free text), if any."""
    url: str | None = Field(default=None, max_length=500)
    """Where the group is found on the platform (a link for staff; never fetched by the service)."""
    visibility: Visibility = Field(sa_type=enum_type(Visibility))
    """The group's privacy setting on the platform; the policy asks for closed (secret also passes)."""
    join_approval: JoinApproval = Field(sa_type=enum_type(JoinApproval))
    """Who approves new members on the platform; the policy asks for admins only."""
    min_age: Whole | None = Field(default=None, ge=0, le=120)
    """The youngest age, in whole years, a young person may be to take part (inclusive: a participant of
    exactly this age may be a member). Null: no lower limit."""
    max_age: Whole | None = Field(default=None, ge=0, le=120)
    """The oldest age, in whole years, a young person may be to take part (inclusive: a participant aged
    max_age may stay; one a year older is "too old to take part" and should be removed at the next review).
    Null: no upper limit. Ages are reckoned on the organisation's calendar day."""
    shares_images: Flag = False
    """Whether images of young people are posted in the group; if true, every young member needs an image-use
    consent covering it (the policy: images only with consent, only for its purpose)."""
    messages_seen_by_all: Flag | None = Field(
        default=None,
        description="Every member sees every message (a Facebook group, a Discord channel: true; direct "
        "messages, a broadcast list: false; null: not yet recorded). The policy lets staff reach young "
        "people only where it is true. Left out: true for a Facebook group or an email list, where the "
        "platform decides it; null (unknown) for a platform where it depends on how the group is used "
        "(WhatsApp, Discord, Instagram, other)",
    )
    started_on: Day
    """The first day the group was used for a project (the organisation's calendar day, YYYY-MM-DD)."""


class Group(GroupBase, Timestamped, table=True):
    __tablename__ = "online_group"  # `group` is an SQL keyword
    status: GroupStatus = Field(default=GroupStatus.active, sa_type=enum_type(GroupStatus))
    archived_on: Day | None = None


class GroupCreate(GroupBase):
    # Cross-field checks (age order, date order) live in the service, where they run on the merged record
    # for a PATCH as well as on a new one.
    model_config = forbid_extra(
        {
            "name": "Autumn Songwriters",
            "platform": "facebook_group",
            "project": "Songwriting course, autumn term",
            "url": "https://facebookgroup.example/autumn-songwriters",
            "visibility": "closed",
            "join_approval": "admins_only",
            "min_age": 13,
            "max_age": 19,
            "shares_images": True,
            "started_on": "2025-09-08",
        }
    )


class GroupUpdate(Patch):
    # The usual correction: a group that was opened up is closed again and admins approve members.
    model_config = forbid_extra({"visibility": "closed", "join_approval": "admins_only"})
    DESCRIBED_BY = (GroupBase,)
    NOT_NULL: ClassVar[frozenset[str]] = frozenset(
        {
            "name",
            "platform",
            "visibility",
            "join_approval",
            "shares_images",
            "started_on",
        }
    )
    name: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=200)
    platform: Platform | None = None
    project: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=500)
    visibility: Visibility | None = None
    join_approval: JoinApproval | None = None
    min_age: Whole | None = Field(default=None, ge=0, le=120)
    max_age: Whole | None = Field(default=None, ge=0, le=120)
    shares_images: Flag | None = None
    messages_seen_by_all: Flag | None = None
    """Every member sees every message (true), or not (false); null clears it to "not recorded". Left out:
    unchanged."""
    started_on: Day | None = None


class GroupArchive(SQLModel):
    model_config = forbid_extra({"archived_on": "2025-08-30"})
    archived_on: Day = Field(
        description="The first day the group is no longer used; not before started_on, not in the future"
    )


class GroupPublic(GroupBase):
    id: uuid.UUID
    """The group's id."""
    status: GroupStatus
    """Whether the group is still in use (archived groups are kept, not deleted)."""
    archived_on: Day | None
    """The first day the group was no longer used; null while active."""
    # No default: a response that forgot to count would otherwise claim an empty group.
    member_count: Whole = Field(description="Current members today (staff and participants)")
    created_at: datetime
    """When the record was created (UTC, ISO 8601)."""
    updated_at: datetime
    """When the record last changed (UTC, ISO 8601)."""
    version: Whole
    """The record's version, raised by one on every change; send it as If-Match to update."""


class RiskAssessmentBase(SQLModel):
    model_config = DESCRIBED
    assessed_on: Day = Field(description="The day of the assessment; not in the future")
    assessed_by_id: uuid.UUID = Field(foreign_key="staff.id", description="The member of staff who assessed")
    # Trustees read these: the descriptions ask writers to keep children's details out of the free text.
    risks: str = Field(
        min_length=1,
        max_length=10_000,
        description="The risks found; never name a child or give their details",
    )
    mitigations: str = Field(
        min_length=1, max_length=10_000, description="How each risk is reduced; never name a child"
    )
    privacy_features_checked: Flag = False
    """Whether the assessor checked the platform's privacy features and settings (the policy: "ensuring staff
    are aware of privacy features"); the latest assessment without it is a warning
    (GRP-RISK-PRIVACY-FEATURES)."""


class RiskAssessment(RiskAssessmentBase, Timestamped, table=True):
    __tablename__ = "risk_assessment"
    group_id: uuid.UUID = Field(foreign_key="online_group.id", index=True)


class RiskAssessmentCreate(RiskAssessmentBase):
    assessed_by_id: uuid.UUID | None = Field(  # type: ignore[assignment]
        default=None,
        description="Who assessed; the caller when left out. Only a coordinator records an assessment on "
        "behalf of another member of staff, who must be current staff on `assessed_on` (422 otherwise)",
    )
    model_config = forbid_extra(
        {
            "assessed_on": "2025-09-01",
            "risks": "Strangers asking to join; comments on members' performances turning unkind; photos "
            "posted of young people whose image consent does not cover social media.",
            "mitigations": "Closed group, admins approve every request against the register; two staff "
            "admins and the coordinator in the group; consents checked before any photo is posted.",
            "privacy_features_checked": True,
        }
    )


class RiskAssessmentPublic(RiskAssessmentBase):
    id: uuid.UUID
    """The risk assessment's id."""
    group_id: uuid.UUID
    """The group it assesses."""
    created_at: datetime
    """When it was recorded (UTC, ISO 8601)."""


class ReviewBase(SQLModel):
    reviewed_on: Day = Field(description="The day of the review; not in the future")
    reviewed_by_id: uuid.UUID = Field(foreign_key="staff.id", description="The member of staff who reviewed")
    notes: str | None = Field(
        default=None, max_length=10_000, description="What the review found; never name a child"
    )


class GroupReview(ReviewBase, Timestamped, table=True):
    __tablename__ = "group_review"
    group_id: uuid.UUID = Field(foreign_key="online_group.id", index=True)


class ReviewCreate(ReviewBase):
    reviewed_by_id: uuid.UUID | None = Field(  # type: ignore[assignment]
        default=None,
        description="Who reviewed; the caller when left out. Only a coordinator records a review on behalf "
        "of another member of staff, who must be current staff on `reviewed_on` (422 otherwise)",
    )
    model_config = forbid_extra(
        {
            "reviewed_on": "2025-11-03",
            "notes": "Member list checked against the register: one leaver removed; two staff admins and "
            "the coordinator present; privacy settings unchanged.",
        }
    )


class ReviewPublic(ReviewBase):
    model_config = DESCRIBED
    id: uuid.UUID
    """The review's id."""
    group_id: uuid.UUID
    """The group reviewed."""
    created_at: datetime
    """When it was recorded (UTC, ISO 8601)."""
