from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError, ValidationInfo, ValidatorFunctionWrapHandler, field_validator
from pydantic_core import PydanticCustomError
from sqlmodel import JSON, Field, SQLModel

from api.common import Whole, forbid_extra
from api.db import Timestamped
from api.described import DESCRIBED
from api.policy.clauses import clause


@dataclass(frozen=True, slots=True)
class Bound:
    """How far a coordinator may move a threshold before the setting would say less than the policy does,
    and the policy sentence that sets the limit."""

    low: int
    high: int
    clause_id: str
    why: str


# Each threshold's bounds keep the policy's own words true; the clause is quoted in the 422 for a value
# outside them. Where the policy gives a number it is used as it stands; where it gives only a word
# ("periodically", "in advance"), the bound is the furthest a reader could still call it that.
BOUNDS: dict[str, Bound] = {
    "min_group_admins": Bound(
        2, 20, "REC-FB-TWO-ADMINS", "the policy asks for at least two current members of staff as admins"
    ),
    "review_interval_days": Bound(
        1,
        365,
        "REC-PERIODIC-REVIEW",
        "a review less often than yearly would leave young people in a group for a year or more after they "
        "have grown too old for it",
    ),
    "risk_assessment_valid_days": Bound(
        1,
        730,
        "PROMOTE-RISK-ASSESS-TOOLS",
        "an assessment older than two years no longer describes the tool's current privacy features",
    ),
    "training_valid_days": Bound(
        1,
        1095,
        "PROMOTE-TRAINING",
        "training older than three years (the usual safeguarding refresher) is no longer effective",
    ),
    "self_consent_min_age": Bound(
        13,
        25,
        "PROMOTE-IMAGE-PERMISSION",
        "below 13 a child cannot give consent for online use on their own (the UK GDPR's age for a child's "
        "own consent), so a parent or carer's permission is needed",
    ),
    "declaration_valid_days": Bound(
        1,
        365,
        "REC-NO-YOUNG-FRIENDS",
        "a declaration older than a year says nothing of the friends and follows added since",
    ),
    "parent_notification_days": Bound(
        0,
        14,
        "PROMOTE-DEAL-WITH-INCIDENTS",
        "informing parents more than two weeks after a high or critical incident is not dealing with it "
        "decisively",
    ),
}

# Webmail anyone can sign up for: listing one as "official" would make personal accounts count as the
# organisation's.
PERSONAL_MAIL_DOMAINS = frozenset(
    {
        "aol.com",
        "btinternet.com",
        "gmail.com",
        "gmx.com",
        "gmx.co.uk",
        "googlemail.com",
        "hotmail.co.uk",
        "hotmail.com",
        "icloud.com",
        "live.co.uk",
        "live.com",
        "mail.com",
        "me.com",
        "msn.com",
        "outlook.com",
        "proton.me",
        "protonmail.com",
        "sky.com",
        "talktalk.net",
        "virginmedia.com",
        "yahoo.co.uk",
        "yahoo.com",
        "ymail.com",
    }
)
OFFICIAL_EMAIL_CLAUSE = "PROMOTE-OFFICIAL-EMAIL"


def _threshold(name: str, default: int, description: str) -> Any:
    b = BOUNDS[name]
    text = clause(b.clause_id).text
    return Field(
        default=default,
        ge=b.low,
        le=b.high,
        description=f'{description}. From {b.low} to {b.high}: {b.why} (policy: "{text}")',
    )


class PolicySettingsBase(SQLModel):
    min_group_admins: Whole = _threshold("min_group_admins", 2, "Current staff admins every group needs")
    review_interval_days: Whole = _threshold("review_interval_days", 90, "Days between reviews of a group")
    risk_assessment_valid_days: Whole = _threshold(
        "risk_assessment_valid_days", 365, "Days a group's risk assessment stays valid"
    )
    training_valid_days: Whole = _threshold(
        "training_valid_days", 365, "Days e-safety training stays current"
    )
    self_consent_min_age: Whole = _threshold(
        "self_consent_min_age", 18, "Below this age consent must come from a parent or carer"
    )
    parent_notification_days: Whole = _threshold(
        "parent_notification_days", 2, "Days to inform a parent or carer of a high or critical incident"
    )
    declaration_valid_days: Whole = _threshold(
        "declaration_valid_days",
        365,
        "Days a member of staff's declaration of their personal social media conduct lasts (a new policy "
        "version makes it due sooner)",
    )
    official_email_domains: list[str] = Field(
        default_factory=lambda: ["moremusic.org.uk"],
        sa_type=JSON,
        description="Staff email domains the organisation provides (the only accounts for contact); never a "
        "personal webmail domain such as gmail.com",
    )

    @field_validator(*BOUNDS, mode="wrap")
    @classmethod
    def _within_the_policy(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> Any:
        try:
            return handler(value)
        except ValidationError as exc:
            if not any(e["type"] in ("greater_than_equal", "less_than_equal") for e in exc.errors()):
                raise
            b = BOUNDS[str(info.field_name)]
            raise PydanticCustomError(
                "policy_bound",
                '{field} must be from {low} to {high}: {why}. The policy: "{clause}"',
                {
                    "field": info.field_name,
                    "low": b.low,
                    "high": b.high,
                    "why": b.why,
                    "clause": clause(b.clause_id).text,
                },
            ) from exc


class PolicySettings(PolicySettingsBase, Timestamped, table=True):
    """The organisation's thresholds: one row, created with the defaults on first use."""

    __tablename__ = "policy_settings"


class PolicySettingsUpdate(PolicySettingsBase):
    """The whole settings document (PUT). A threshold outside its bounds is a 422 naming the field and
    quoting the policy sentence the bound keeps (`BOUNDS`); so is a personal webmail domain."""

    model_config = forbid_extra(
        {
            "min_group_admins": 2,
            "review_interval_days": 90,
            "risk_assessment_valid_days": 365,
            "training_valid_days": 365,
            "self_consent_min_age": 18,
            "parent_notification_days": 2,
            "declaration_valid_days": 365,
            "official_email_domains": ["riverbankmusic.org.uk"],
        }
    )


class PolicySettingsPublic(PolicySettingsBase):
    model_config = DESCRIBED
    updated_at: datetime
    """When the settings last changed (UTC, ISO 8601)."""
    version: Whole
    """The settings' version, raised by one on every change; send it as If-Match to update."""
