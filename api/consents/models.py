from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Index, event
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import JSON, Field, SQLModel

from api.common import NOT_BLANK, Day, Flag, Patch, Whole, forbid_extra
from api.consents.canonical import ReadAs
from api.consents.logic import Refusal
from api.consents.publication_keys import Detail as MatchKind
from api.db import Timestamped, enum_type


class ConsentKind(StrEnum):
    image_use = "image_use"
    esafety_agreement = "esafety_agreement"
    communication = "communication"
    data_processing = "data_processing"
    # The young person's own agreement to the code of conduct for children and young people, made once they
    # have been shown the social media policy (the policy: "young people should be made aware of it").
    code_of_conduct = "code_of_conduct"


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
    given_on: Day
    expires_on: Day | None = Field(default=None, description="First day it no longer holds")
    evidence_ref: str | None = Field(default=None, max_length=200, description="The signed form's reference")
    external_id: str | None = Field(default=None, min_length=1, max_length=100)


class Consent(ConsentBase, Timestamped, table=True):
    __tablename__ = "consent"
    # The publication check asks on every request whether any record changed (count, sum of versions, newest
    # updated_at): this index answers it without reading the table.
    __table_args__ = (Index("ix_consent_updated_at_version", "updated_at", "version"),)
    external_id: str | None = Field(default=None, max_length=100, unique=True)
    withdrawn_on: Day | None = None
    withdrawal_reason: str | None = Field(default=None, max_length=1000)


@event.listens_for(Consent, "load")
@event.listens_for(Consent, "refresh")
def _typed_purposes(consent: Consent, *_: Any) -> None:
    # JSON gives back plain strings; make them the enum again without marking the row as changed.
    if consent.purposes and not isinstance(consent.purposes[0], Purpose):
        set_committed_value(consent, "purposes", [Purpose(p) for p in consent.purposes])


def _own_agreement(given_by: GivenBy, info: ValidationInfo) -> GivenBy:
    """A code_of_conduct "consent" is the young person's own agreement to the young people's code of conduct
    (a promise about their own conduct online, made once shown the social media policy), so it is given by
    them, at any age: a carer cannot promise it for them, and a carer's signature would make
    GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT look kept while the young person agreed to nothing. 422 on `given_by`."""
    if info.data.get("kind") == ConsentKind.code_of_conduct and given_by != GivenBy.participant:
        raise PydanticCustomError(
            "own_agreement",
            "A code_of_conduct agreement is given by the young person themself (given_by: participant), "
            "not by a parent or carer for them",
        )
    return given_by


class ConsentCreate(ConsentBase):
    @field_validator("given_by")
    @classmethod
    def _given_by_the_young_person(cls, given_by: GivenBy, info: ValidationInfo) -> GivenBy:
        return _own_agreement(given_by, info)

    model_config = forbid_extra(
        {
            "participant_id": "1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56",
            "kind": "image_use",
            "purposes": ["website", "social_media"],
            "given_by": "parent_carer",
            "given_by_name": "Joanne Fairbrook",
            "given_on": "2025-09-06",
            "expires_on": "2027-09-06",
            "evidence_ref": "IMG-2025-0412",
            "external_id": "CRM-C0918",
        }
    )


class ConsentUpsert(ConsentBase):
    """The CRM's full consent record. The participant is named by exactly one of `participant_id` and
    `participant_external_id`; a `withdrawn_on` withdraws it. A code_of_conduct agreement is given by the
    participant (422 on `given_by` otherwise)."""

    @field_validator("given_by")
    @classmethod
    def _given_by_the_young_person(cls, given_by: GivenBy, info: ValidationInfo) -> GivenBy:
        return _own_agreement(given_by, info)

    model_config = forbid_extra(
        {
            "participant_id": "1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56",
            "kind": "image_use",
            "purposes": ["website", "social_media"],
            "given_by": "parent_carer",
            "given_by_name": "Joanne Fairbrook",
            "given_on": "2025-09-06",
            "expires_on": "2027-09-06",
            "evidence_ref": "IMG-2025-0412",
            "external_id": "CRM-C1207",
        }
    )
    participant_id: uuid.UUID | None = Field(  # type: ignore[assignment]
        default=None, description="This service's participant id (or give participant_external_id)"
    )
    participant_external_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="The CRM's id for the participant"
    )
    withdrawn_on: Day | None = Field(default=None, description="First day it no longer holds")
    withdrawal_reason: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=1000)


class ConsentMerge(Patch):
    """A consent pushed in bulk sync's `merge` mode: the fields left out are the recorded consent's own, so
    a push of `external_id` and `withdrawn_on` (and a `withdrawal_reason`) withdraws it without repeating the
    rest. The record so completed is then pushed as `ConsentUpsert` (append-only: any other difference is a
    409 `consent_is_append_only`). A new consent needs every field `ConsentUpsert` requires."""

    model_config = forbid_extra(
        {"withdrawn_on": "2025-11-10", "withdrawal_reason": "The carer asked us to stop"}
    )
    NOT_NULL: ClassVar[frozenset[str]] = frozenset(
        {"participant_id", "kind", "purposes", "given_by", "given_by_name", "given_on"}
    )
    participant_id: uuid.UUID | None = Field(
        default=None,
        description="This service's participant id (or give participant_external_id; neither: the recorded "
        "consent's participant)",
    )
    participant_external_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="The CRM's id for the participant"
    )
    kind: ConsentKind | None = Field(default=None, description="What the consent is for")
    purposes: list[Purpose] | None = Field(
        default=None, description="For `image_use`: the uses of images it allows (order does not matter)"
    )
    given_by: GivenBy | None = Field(default=None, description="Who gave it: the young person or a carer")
    given_by_name: str | None = Field(
        default=None, min_length=1, max_length=200, description="The name of who gave it"
    )
    given_on: Day | None = Field(default=None, description="The day it was given")
    expires_on: Day | None = Field(default=None, description="First day it no longer holds")
    evidence_ref: str | None = Field(default=None, max_length=200, description="The signed form's reference")
    withdrawn_on: Day | None = Field(default=None, description="First day it no longer holds, once withdrawn")
    withdrawal_reason: Annotated[str | None, NOT_BLANK] = Field(
        default=None, min_length=1, max_length=1000, description="Why it was withdrawn"
    )
    external_id: str | None = Field(default=None, min_length=1, max_length=100, description="The CRM's id")


class ConsentWithdraw(SQLModel):
    model_config = forbid_extra(
        {"withdrawn_on": "2025-11-10", "reason": "The carer asked by email that photos are no longer used"}
    )
    withdrawn_on: Day
    reason: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=1000)


class StillAllowed(SQLModel):
    """A use a consent that no longer holds covered, which another consent still allows today."""

    purpose: Purpose | None = Field(description="The purpose (image_use), or null for the kind as a whole")
    consent_id: uuid.UUID = Field(description="The consent that still allows it")


class ConsentPublic(ConsentBase):
    id: uuid.UUID
    withdrawn_on: Day | None
    withdrawal_reason: str | None
    in_force: Flag = Field(description="Today: given, not withdrawn, not expired")
    still_allowed_by: list[StillAllowed] = Field(
        default_factory=list,
        description="For a consent no longer in force (withdrawn or expired): the uses it covered that "
        "another of the participant's consents still allows today, and which. Withdrawing this consent did "
        "not stop those uses: withdraw the other consent too if the permission was withdrawn as a whole. "
        "Empty while this consent is in force.",
    )
    reconfirm_due: Flag = Field(
        description="In force, given by a parent or carer, and the participant has now reached the age to "
        "consent for themselves: they should confirm it"
    )
    created_at: datetime
    updated_at: datetime
    version: Whole


class PurposeState(SQLModel):
    purpose: Purpose
    allowed: Flag
    consent_id: uuid.UUID | None = Field(description="The consent that allows it")
    reason: Refusal | None = Field(description="Why it is refused")
    detail: str
    reconfirm_due: Flag


class KindState(SQLModel):
    kind: ConsentKind
    allowed: Flag = Field(description="For image_use: some purpose is allowed (see `purposes`)")
    consent_id: uuid.UUID | None
    reason: Refusal | None
    detail: str
    reconfirm_due: Flag
    purposes: list[PurposeState] = Field(description="Each purpose (image_use only)")


class ConsentStatus(SQLModel):
    participant_id: uuid.UUID
    on: Day
    self_consent_min_age: Whole
    kinds: list[KindState]


class ConsentCheckResult(SQLModel):
    participant_id: uuid.UUID
    kind: ConsentKind
    purpose: Purpose | None
    on: Day
    allowed: Flag
    consent_id: uuid.UUID | None = Field(description="The consent that allows it")
    reason: Refusal | None = Field(description="Why it is refused")
    detail: str = Field(description="The answer as a sentence")
    reconfirm_due: Flag


class ConsentChecksRequest(SQLModel):
    # Before posting the concert photos: may every young person in them appear on social media?
    model_config = forbid_extra(
        {
            "participant_ids": [
                "1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56",
                "7f4b2d8e-3c1a-4e6f-9b0d-2a5c8e1f4d73",
            ],
            "kind": "image_use",
            "purpose": "social_media",
            "on": "2025-11-22",
        }
    )
    participant_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    purpose: Purpose | None = Field(default=None, description="Required for image_use")
    kind: ConsentKind = ConsentKind.image_use
    on: Day | None = Field(default=None, description="Defaults to today")


class Blocker(SQLModel):
    participant_id: uuid.UUID
    reason: Refusal
    detail: str


class ConsentChecksResult(SQLModel):
    allowed: Flag = Field(description="True only if every participant is allowed")
    kind: ConsentKind
    purpose: Purpose | None
    on: Day
    checked: Whole
    blockers: list[Blocker] = Field(description="Exactly those who are not allowed, in the order sent")


class PublicationCheckRequest(SQLModel):
    model_config = forbid_extra(
        {
            "text": "<p>What a night at the winter concert! <b>Kit Fairbrook</b> (14) played her first solo."
            " Photos from Kit's mum: joanne.fairbrook@example.org, 07700&nbsp;900123.</p>",
            "content_type": "text/html",
            "pictured_participant_ids": ["1e7a9c3b-6d2f-4a8e-b5c1-8f3d0e7a2b56"],
            "purpose": "website",
        }
    )
    text: str = Field(min_length=1, max_length=100_000, description="The text meant for publication")
    content_type: ReadAs | None = Field(
        default=None,
        description="How to read the text; when left out, as HTML if it looks like HTML (tags or entities)",
    )
    pictured_participant_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=500, description="The participants in the pictures published with it"
    )
    purpose: Purpose | None = Field(
        default=None, description="What the pictures are for; needed with pictures"
    )


PersonRole = Literal["participant", "carer", "consent_giver", "staff"]


class ProtectedPerson(SQLModel):
    role: PersonRole = Field(
        description="Whose detail: a participant's, their carer's or consent giver's, or staff"
    )
    participant_id: uuid.UUID | None = Field(
        description="The participant (for a carer or consent giver: theirs)"
    )
    staff_id: uuid.UUID | None


class PublicationMatch(SQLModel):
    start: Whole = Field(description="Offset of the first character in the text sent (Unicode code points)")
    end: Whole = Field(description="Offset just after the last character")
    kind: MatchKind | None = Field(
        description="name, email or phone; null for a detail of no one in your reach"
    )
    description: str = Field(
        description="Whose detail it is, in words; only \"A protected person's detail\" when it is no one's "
        "in your reach"
    )
    people: list[ProtectedPerson] = Field(description="Whose it is, among the people within your reach")


class PictureCheck(SQLModel):
    participant_id: uuid.UUID
    allowed: Flag = Field(description="An image consent in force today covers the purpose")
    consent_id: uuid.UUID | None = Field(description="The consent that allows it")
    reason: Refusal | None = Field(description="Why it is refused")
    detail: str


class PublicationCheckResult(SQLModel):
    clean: Flag = Field(
        description="True when nothing protected was found and every pictured person is covered"
    )
    read_as: ReadAs = Field(description="How the text was read")
    matches: list[PublicationMatch]
    purpose: Purpose | None
    pictured: list[PictureCheck] = Field(description="Each pictured participant, in the order sent")
