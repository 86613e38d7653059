from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import JSON, Field, SQLModel

from api.common import FORBID_EXTRA
from api.db import Timestamped, enum_type


class ConsentKind(StrEnum):
    image_use = "image_use"
    esafety_agreement = "esafety_agreement"
    communication = "communication"
    data_processing = "data_processing"


class Purpose(StrEnum):
    promotional_material = "promotional_material"
    website = "website"
    social_media = "social_media"
    press = "press"
    internal = "internal"


class GivenBy(StrEnum):
    participant = "participant"
    parent_carer = "parent_carer"


class ConsentBase(SQLModel):
    participant_id: uuid.UUID = Field(foreign_key="participant.id", index=True)
    kind: ConsentKind = Field(sa_type=enum_type(ConsentKind))
    purposes: list[Purpose] = Field(default_factory=list, sa_type=JSON)
    given_by: GivenBy = Field(sa_type=enum_type(GivenBy))
    given_by_name: str = Field(min_length=1, max_length=200)
    given_on: date
    expires_on: date | None = Field(default=None, description="First day it no longer holds")
    evidence_ref: str | None = Field(default=None, max_length=200, description="The signed form's reference")
    external_id: str | None = Field(default=None, min_length=1, max_length=100)


class Consent(ConsentBase, Timestamped, table=True):
    __tablename__ = "consent"
    external_id: str | None = Field(default=None, max_length=100, unique=True)
    withdrawn_on: date | None = None
    withdrawal_reason: str | None = Field(default=None, max_length=1000)


class ConsentCreate(ConsentBase):
    model_config = FORBID_EXTRA


class ConsentWithdraw(SQLModel):
    model_config = FORBID_EXTRA
    withdrawn_on: date
    reason: str | None = Field(default=None, max_length=1000)


class ConsentPublic(ConsentBase):
    id: uuid.UUID
    withdrawn_on: date | None
    withdrawal_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int
