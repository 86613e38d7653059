from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import EmailStr
from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from api import clock
from api.common import NOT_BLANK, Day, Flag, NonBlank, Patch, Whole, forbid_extra, in_force
from api.db import Timestamped, enum_type
from api.described import DESCRIBED, DescribedEnum
from api.external_ids import EXTERNAL_ID_MAX, ExternalId
from api.participants.models import PHONE_PATTERN, PHONE_STORED
from api.phones import PhoneNumber


class EmploymentType(DescribedEnum):
    """How the person works for the organisation, in the policy's list of who it applies to ("senior
    managers and the board of trustees, paid staff, volunteers and sessional workers, agency staff,
    students"). The policy applies to every type alike.

    - employee: paid staff on the organisation's own payroll.
    - volunteer: unpaid, working for the organisation.
    - sessional: paid by the session or project by the organisation itself (a freelance music leader), not
      through an agency.
    - agency: supplied and paid through an employment agency, working under the organisation's direction.
    - student: on a placement or internship from a college or university.
    - trustee: a member of the board of trustees.
    - senior_manager: a paid senior manager (the policy names them first among those it applies to)."""

    employee = "employee"
    volunteer = "volunteer"
    sessional = "sessional"
    agency = "agency"
    student = "student"
    trustee = "trustee"
    senior_manager = "senior_manager"


class StaffBase(SQLModel):
    model_config = DESCRIBED
    full_name: NonBlank = Field(min_length=1, max_length=200)
    """The person's full name as colleagues know them."""
    email: EmailStr = Field(max_length=254, description="Official organisation address; unique")
    employment_type: EmploymentType = Field(sa_type=enum_type(EmploymentType))
    """How the person works for the organisation."""
    job_title: str | None = Field(default=None, max_length=200)
    """Their role, free text (for example "Music leader")."""
    started_on: Day
    """Their first day working for the organisation (its calendar day, YYYY-MM-DD); access begins on this
    day."""
    left_on: Day | None = Field(default=None, description="Null while current; access ends on this day")
    is_esafety_coordinator: Flag = False
    """Whether they are an e-safety coordinator, who "should be included in all groups used for More Music
    projects"."""
    uses_social_media_for_work: Flag = False
    """Whether they use social media in their work; if so, the policy asks them to sign the code of
    conduct."""
    code_of_conduct_signed_on: Day | None = None
    """The day they signed the social media code of conduct; null if not signed."""
    esafety_training_completed_on: Day | None = None
    """The day they last completed e-safety training; it holds for the policy settings' training_valid_days
    (365 by default) from that day."""
    external_id: ExternalId | None = Field(
        default=None, min_length=1, max_length=EXTERNAL_ID_MAX, description="The CRM's id"
    )


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
    DESCRIBED_BY = (StaffBase, PersonalContact)
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
    full_name: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, max_length=254)
    employment_type: EmploymentType | None = None
    job_title: str | None = Field(default=None, max_length=200)
    started_on: Day | None = None
    left_on: Day | None = None
    is_esafety_coordinator: Flag | None = None
    uses_social_media_for_work: Flag | None = None
    code_of_conduct_signed_on: Day | None = None
    esafety_training_completed_on: Day | None = None
    external_id: ExternalId | None = Field(default=None, min_length=1, max_length=EXTERNAL_ID_MAX)


class StaffLeave(SQLModel):
    model_config = forbid_extra({"left_on": "2025-12-19"})
    left_on: Day = Field(description="The last day of employment; access ends on this day")


class StaffPublic(StaffBase):
    id: uuid.UUID
    """The member of staff's id."""
    is_current: Flag
    """Whether they work for the organisation today (from started_on until the day before left_on), on the
    organisation's calendar day."""
    created_at: datetime
    """When the record was created (UTC, ISO 8601)."""
    updated_at: datetime
    """When the record last changed (UTC, ISO 8601)."""
    version: Whole
    """The record's version, raised by one on every change; send it as If-Match to update."""
