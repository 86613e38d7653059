from __future__ import annotations

from datetime import datetime

from sqlmodel import JSON, Field, SQLModel

from api.common import forbid_extra
from api.db import Timestamped


class PolicySettingsBase(SQLModel):
    min_group_admins: int = Field(
        default=2, ge=1, le=20, description="Current staff admins every group needs"
    )
    review_interval_days: int = Field(default=90, ge=1, le=3650)
    risk_assessment_valid_days: int = Field(default=365, ge=1, le=3650)
    training_valid_days: int = Field(default=365, ge=1, le=3650)
    self_consent_min_age: int = Field(
        default=18, ge=0, le=25, description="Below this age consent must come from a parent or carer"
    )
    parent_notification_days: int = Field(
        default=2, ge=0, le=60, description="Days to inform a parent or carer of a high or critical incident"
    )
    official_email_domains: list[str] = Field(
        default_factory=lambda: ["moremusic.org.uk"],
        sa_type=JSON,
        description="Staff email domains the organisation provides (the only accounts for contact)",
    )


class PolicySettings(PolicySettingsBase, Timestamped, table=True):
    """The organisation's thresholds: one row, created with the defaults on first use."""

    __tablename__ = "policy_settings"


class PolicySettingsUpdate(PolicySettingsBase):
    """The whole settings document (PUT)."""

    model_config = forbid_extra(
        {
            "min_group_admins": 2,
            "review_interval_days": 90,
            "risk_assessment_valid_days": 365,
            "training_valid_days": 365,
            "self_consent_min_age": 18,
            "parent_notification_days": 2,
            "official_email_domains": ["riverbankmusic.org.uk"],
        }
    )


class PolicySettingsPublic(PolicySettingsBase):
    updated_at: datetime
    version: int
