from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import EmailStr
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from api import clock
from api.common import Day, Flag, Patch, Whole, forbid_extra, in_force
from api.db import Timestamped, enum_type
from api.participants.models import PHONE_PATTERN, PHONE_STORED
from api.phones import PhoneNumber


class EmploymentType(StrEnum):
    employee = "employee"
    volunteer = "volunteer"
    sessional = "sessional"
    agency = "agency"
    student = "student"
    trustee = "trustee"
    senior_manager = "senior_manager"


class StaffBase(SQLModel):
    full_name: str = Field(min_length=1, max_length=200)
    email: EmailStr = Field(max_length=254, description="Official organisation address; unique")
    employment_type: EmploymentType = Field(sa_type=enum_type(EmploymentType))
    job_title: str | None = Field(default=None, max_length=200)
    started_on: Day
    left_on: Day | None = Field(default=None, description="Null while current; access ends on this day")
    is_esafety_coordinator: Flag = False
    uses_social_media_for_work: Flag = False
    code_of_conduct_signed_on: Day | None = None
    esafety_training_completed_on: Day | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=100, description="The CRM's id")


class PersonalContact(SQLModel):
    """A member of staff's own (non-official) address and number, where recorded: written, never served back
    (no colleague needs them), so the publication check can keep them off the website."""

    personal_email: EmailStr | None = Field(
        default=None, max_length=254, description="Personal, non-official address (write-only)"
    )
    personal_phone: PhoneNumber | None = Field(
        default=None,
        max_length=30,
        schema_extra={"pattern": PHONE_PATTERN},
        description="Personal number (write-only). " + PHONE_STORED,
    )


class Staff(StaffBase, Timestamped, table=True):
    __tablename__ = "staff"
    # The publication check asks on every request whether any record changed (count, sum of versions, newest
    # updated_at): this index answers it without reading the table.
    __table_args__ = (Index("ix_staff_updated_at_version", "updated_at", "version"),)
    email: str = Field(max_length=254, unique=True, index=True)
    external_id: str | None = Field(default=None, max_length=100, unique=True)
    personal_email: str | None = Field(default=None, max_length=254)
    personal_phone: str | None = Field(default=None, max_length=30)

    @property
    def is_current(self) -> bool:
        return in_force(self.started_on, self.left_on, clock.today())


STAFF_EXAMPLE = {
    "full_name": "Leah Marchant",
    "email": "leah.marchant@riverbankmusic.org.uk",
    "employment_type": "sessional",
    "job_title": "Music leader (strings)",
    "started_on": "2025-09-01",
    "is_esafety_coordinator": False,
    "uses_social_media_for_work": True,
    "code_of_conduct_signed_on": "2025-09-01",
    "esafety_training_completed_on": "2025-09-12",
    "external_id": "CRM-S0217",
}


class StaffCreate(StaffBase, PersonalContact):
    model_config = forbid_extra(STAFF_EXAMPLE)


class StaffUpdate(Patch, PersonalContact):
    model_config = forbid_extra(
        {"job_title": "Lead music leader (strings)", "esafety_training_completed_on": "2025-10-03"}
    )
    NOT_NULL: ClassVar[frozenset[str]] = frozenset(
        {
            "full_name",
            "email",
            "employment_type",
            "started_on",
            "is_esafety_coordinator",
            "uses_social_media_for_work",
        }
    )
    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    employment_type: EmploymentType | None = None
    job_title: str | None = Field(default=None, max_length=200)
    started_on: Day | None = None
    left_on: Day | None = None
    is_esafety_coordinator: Flag | None = None
    uses_social_media_for_work: Flag | None = None
    code_of_conduct_signed_on: Day | None = None
    esafety_training_completed_on: Day | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=100)


class StaffLeave(SQLModel):
    model_config = forbid_extra({"left_on": "2025-12-19"})
    left_on: Day = Field(description="The last day of employment; access ends on this day")


class StaffPublic(StaffBase):
    id: uuid.UUID
    is_current: Flag
    created_at: datetime
    updated_at: datetime
    version: Whole
