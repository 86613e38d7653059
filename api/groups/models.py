from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlmodel import Field, SQLModel

from api.common import Day, Flag, Patch, Whole, forbid_extra
from api.db import Timestamped, enum_type


class Platform(StrEnum):
    facebook_group = "facebook_group"
    whatsapp = "whatsapp"
    discord = "discord"
    instagram = "instagram"
    email_list = "email_list"
    other = "other"


class Visibility(StrEnum):
    closed = "closed"
    secret = "secret"
    public = "public"


class JoinApproval(StrEnum):
    admins_only = "admins_only"
    any_member = "any_member"


class GroupStatus(StrEnum):
    active = "active"
    archived = "archived"


# Whether every member sees every message, where the platform alone decides it: a Facebook group's posts
# reach every member, and so does a message to an email list. WhatsApp (a group, or a broadcast list or
# direct messages), Discord (channels, or direct messages), Instagram and others depend on how the group is
# used, so the answer is unknown (null) until someone records it; GRP-MESSAGES-SEEN-BY-ALL warns meanwhile.
SEEN_BY_ALL_BY_PLATFORM: dict[Platform, bool] = {Platform.facebook_group: True, Platform.email_list: True}


def seen_by_all_default(platform: Platform) -> bool | None:
    """`messages_seen_by_all` for a group whose answer was not recorded: the platform's, or None (unknown)."""
    return SEEN_BY_ALL_BY_PLATFORM.get(platform)


class GroupBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    platform: Platform = Field(sa_type=enum_type(Platform))
    project: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=500)
    visibility: Visibility = Field(sa_type=enum_type(Visibility))
    join_approval: JoinApproval = Field(sa_type=enum_type(JoinApproval))
    min_age: Whole | None = Field(default=None, ge=0, le=120)
    max_age: Whole | None = Field(default=None, ge=0, le=120)
    shares_images: Flag = False
    messages_seen_by_all: Flag | None = Field(
        default=None,
        description="Every member sees every message (a Facebook group, a Discord channel: true; direct "
        "messages, a broadcast list: false; null: not yet recorded). The policy lets staff reach young "
        "people only where it is true. Left out: true for a Facebook group or an email list, where the "
        "platform decides it; null (unknown) for a platform where it depends on how the group is used "
        "(WhatsApp, Discord, Instagram, other)",
    )
    started_on: Day


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
    name: str | None = Field(default=None, min_length=1, max_length=200)
    platform: Platform | None = None
    project: str | None = Field(default=None, max_length=200)
    url: str | None = Field(default=None, max_length=500)
    visibility: Visibility | None = None
    join_approval: JoinApproval | None = None
    min_age: Whole | None = Field(default=None, ge=0, le=120)
    max_age: Whole | None = Field(default=None, ge=0, le=120)
    shares_images: Flag | None = None
    messages_seen_by_all: Flag | None = None
    started_on: Day | None = None


class GroupArchive(SQLModel):
    model_config = forbid_extra({"archived_on": "2025-08-30"})
    archived_on: Day = Field(
        description="The first day the group is no longer used; not before started_on, not in the future"
    )


class GroupPublic(GroupBase):
    id: uuid.UUID
    status: GroupStatus
    archived_on: Day | None
    # No default: a response that forgot to count would otherwise claim an empty group.
    member_count: Whole = Field(description="Current members today (staff and participants)")
    created_at: datetime
    updated_at: datetime
    version: Whole


class RiskAssessmentBase(SQLModel):
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
    group_id: uuid.UUID
    created_at: datetime


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
    id: uuid.UUID
    group_id: uuid.UUID
    created_at: datetime
