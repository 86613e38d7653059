"""Platform identities: how a member of staff or a participant appears on a platform (a handle, a profile
URL, a user id, an email address for an email list, a phone number for WhatsApp), kept with its match key.

An identity belongs to exactly one person. It is personal data: it is read with the person's own reach (a
child's identities only by those who may read the child) and never written to logs, audit changes or
webhooks. Identities end (`ended_on`), never deleted: an old handle still explains an old roster.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from api.common import Day, exactly_one_person, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type, utcnow
from api.described import DESCRIBED
from api.groups.models import Platform
from api.identities.normalise import IdentityKind


class IdentityBase(SQLModel):
    model_config = DESCRIBED
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id", index=True)
    """The member of staff it belongs to; give exactly one of staff_id and participant_id."""
    participant_id: uuid.UUID | None = Field(default=None, foreign_key="participant.id", index=True)
    """The young person it belongs to; give exactly one of staff_id and participant_id."""
    platform: Platform | None = Field(
        default=None,
        sa_type=enum_type(Platform),
        description="The platform a handle belongs to; null for an email address or phone number, which "
        "match on every platform",
    )
    kind: IdentityKind = Field(sa_type=enum_type(IdentityKind))
    """What kind of identifier it is."""
    value: str = Field(min_length=1, max_length=500, description="As the platform shows it")


class PlatformIdentity(IdentityBase, Timestamped, table=True):
    __tablename__ = "platform_identity"
    __table_args__ = (
        sa.CheckConstraint("(staff_id IS NULL) <> (participant_id IS NULL)", name="exactly_one_person"),
    )
    # The normalised form reconciliation compares (api.identities.normalise); never shown.
    match_key: str = Field(max_length=500, index=True)
    ended_on: date | None = None
    # When a coordinator (or the CRM's key) recorded or verified it; null while it is a member of staff's
    # own claim nobody has checked: such a claim matches no roster entry and is shown only to its claimant
    # and the coordinators (docs/rosters.md, "Platform identities").
    # Verified when made unless said otherwise: only `identities.service.store` makes a claim.
    # (Set in Python, not a column default, so a claim's null is stored as null.)
    verified_at: datetime | None = Field(
        default_factory=utcnow, sa_type=UTCDateTime, sa_column_kwargs={"default": None}
    )
    verified_by_id: uuid.UUID | None = None


class IdentityCreate(IdentityBase):
    model_config = forbid_extra(
        {
            "staff_id": "30d74e8d-46e1-47f2-abf4-1e5bee592529",
            "platform": "facebook_group",
            "kind": "handle",
            "value": "https://www.facebook.com/tom.hallett.music",
        },
        {
            "participant_id": "bb6bbc4f-db9a-45ae-b169-24a562179a1f",
            "kind": "phone",
            "value": "07700 900123",
        },
    )

    _one_person = model_validator(mode="after")(exactly_one_person)

    @model_validator(mode="after")
    def _platform(self) -> IdentityCreate:
        from api.errors import Unprocessable

        if self.kind is IdentityKind.handle and self.platform is None:
            raise Unprocessable.field("platform", "a handle belongs to one platform: name it")
        return self


class IdentityEnd(SQLModel):
    model_config = forbid_extra({"ended_on": "2026-11-30"})
    ended_on: Day = Field(description="The first day the person no longer uses this identity")


class IdentityPublic(IdentityBase):
    id: uuid.UUID
    """The identity's id."""
    ended_on: date | None
    """The first day the person no longer used it; null while in use."""
    verified_at: datetime | None = Field(
        description="When a coordinator recorded or verified it; null for a member of staff's own claim "
        "not yet verified (it matches no roster entry until it is)"
    )
    created_at: datetime
    """When it was recorded (UTC, ISO 8601)."""
    updated_at: datetime
    """When it last changed (UTC, ISO 8601)."""
    version: int
    """The record's version, raised by one on every change; send it as If-Match to update."""
