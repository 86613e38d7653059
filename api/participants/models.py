from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import EmailStr
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from api import clock
from api.common import NOT_BLANK, Day, Flag, NonBlank, Patch, Whole, forbid_extra, in_force
from api.db import Timestamped
from api.described import DESCRIBED
from api.external_ids import EXTERNAL_ID_MAX, ExternalId
from api.phones import PhoneNumber

# SQLModel's Field(regex=...) is a pydantic v1 name that pydantic v2 silently ignores: pass `pattern` through.
PHONE_PATTERN = r"^\+?[0-9 ()\-]{6,30}$"
PHONE_STORED = "Stored and returned as E.164 (+447700900123), read as a UK number unless it says otherwise."


class ParticipantBase(SQLModel):
    model_config = DESCRIBED
    full_name: NonBlank = Field(min_length=1, max_length=200)
    """The young person's full name. Personal data: never published on the website (the policy), never in
    logs, audit events or webhooks."""
    date_of_birth: Day
    """Their date of birth; ages are whole years on the organisation's calendar day."""
    is_vulnerable_adult: Flag = False
    """Whether they are 18 or over but a vulnerable adult: the policy's "young and vulnerable people"; a carer
    then gives consent as for a child."""
    carer_name: Annotated[str | None, NOT_BLANK] = Field(default=None, max_length=200)
    """The parent's or carer's name, whom the organisation informs of incidents of concern."""
    carer_email: EmailStr | None = Field(default=None, max_length=254)
    """The parent's or carer's email address."""
    carer_phone: PhoneNumber | None = Field(
        default=None, max_length=30, schema_extra={"pattern": PHONE_PATTERN}, description=PHONE_STORED
    )
    personal_email: EmailStr | None = Field(
        default=None, max_length=254, description="The young person's own address, where recorded"
    )
    personal_phone: PhoneNumber | None = Field(
        default=None,
        max_length=30,
        schema_extra={"pattern": PHONE_PATTERN},
        description="The young person's own number, where recorded. " + PHONE_STORED,
    )
    joined_on: Day
    """The first day they took part (the organisation's calendar day)."""
    left_on: Day | None = Field(default=None, description="Null while taking part")
    external_id: ExternalId | None = Field(
        default=None, min_length=1, max_length=EXTERNAL_ID_MAX, description="The CRM's id"
    )


class Participant(ParticipantBase, Timestamped, table=True):
    __tablename__ = "participant"
    # The publication check asks on every request whether any record changed (count, sum of versions, newest
    # updated_at): this index answers it without reading the table.
    __table_args__ = (Index("ix_participant_updated_at_version", "updated_at", "version"),)
    carer_email: str | None = Field(default=None, max_length=254)
    carer_phone: str | None = Field(default=None, max_length=30)
    personal_email: str | None = Field(default=None, max_length=254)
    personal_phone: str | None = Field(default=None, max_length=30)
    external_id: str | None = Field(default=None, max_length=100, unique=True)

    @property
    def is_current(self) -> bool:
        return in_force(self.joined_on, self.left_on, clock.today())


class ParticipantCreate(ParticipantBase):
    model_config = forbid_extra(
        {
            "full_name": "Kit Fairbrook",
            "date_of_birth": "2011-03-14",
            "is_vulnerable_adult": False,
            "carer_name": "Joanne Fairbrook",
            "carer_email": "joanne.fairbrook@example.org",
            "carer_phone": "07700 900123",
            "joined_on": "2025-09-06",
            "external_id": "CRM-P0241",
        }
    )


class ParticipantUpdate(Patch):
    model_config = forbid_extra({"carer_email": "j.fairbrook@example.org", "carer_phone": "07700 900456"})
    DESCRIBED_BY = (ParticipantBase,)
    NOT_NULL: ClassVar[frozenset[str]] = frozenset(
        {"full_name", "date_of_birth", "is_vulnerable_adult", "joined_on"}
    )
    full_name: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=200)
    date_of_birth: Day | None = None
    is_vulnerable_adult: Flag | None = None
    carer_name: Annotated[str | None, NOT_BLANK] = Field(default=None, max_length=200)
    carer_email: EmailStr | None = Field(default=None, max_length=254)
    carer_phone: PhoneNumber | None = Field(
        default=None, max_length=30, schema_extra={"pattern": PHONE_PATTERN}
    )
    personal_email: EmailStr | None = Field(default=None, max_length=254)
    personal_phone: PhoneNumber | None = Field(
        default=None, max_length=30, schema_extra={"pattern": PHONE_PATTERN}
    )
    joined_on: Day | None = None
    left_on: Day | None = None
    external_id: ExternalId | None = Field(default=None, min_length=1, max_length=EXTERNAL_ID_MAX)


class ParticipantLeave(SQLModel):
    model_config = forbid_extra({"left_on": "2025-07-25"})
    left_on: Day
    """The first day they no longer take part (exclusive: they lose their place that day); not before
    joined_on."""


class ParticipantPublic(ParticipantBase):
    id: uuid.UUID
    """The young person's id."""
    is_current: Flag
    """Whether they take part today (from joined_on until the day before left_on), on the organisation's
    calendar day."""
    created_at: datetime
    """When the record was created (UTC, ISO 8601)."""
    updated_at: datetime
    """When the record last changed (UTC, ISO 8601)."""
    version: Whole
    """The record's version, raised by one on every change; send it as If-Match to update."""
