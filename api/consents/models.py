from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Index, event
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import JSON, Field, SQLModel

from api.common import NOT_BLANK, Day, Flag, NonBlank, Patch, Whole, forbid_extra
from api.consents.logic import Refusal
from api.db import Timestamped, enum_type
from api.described import DESCRIBED, DescribedEnum
from api.external_ids import EXTERNAL_ID_MAX, ExternalId


class ConsentKind(DescribedEnum):
    """What a consent or agreement is for. The policy: images of children are used "only after their
    permission has been obtained, and only for the purpose for which consent has been given", and the
    organisation develops "an e-safety agreement for use with young people and their carers".

    - image_use: permission to use images of the young person, for the purposes listed in `purposes`.
    - esafety_agreement: the e-safety agreement signed with the young person and their carer, renewed each
      year.
    - communication: permission for staff to contact the young person online (through groups or official
      email).
    - data_processing: permission to hold and process the young person's personal data.
    - code_of_conduct: the young person's own agreement to the young people's code of conduct for ICT use;
      always given by the young person (given_by participant), at any age."""

    image_use = "image_use"
    esafety_agreement = "esafety_agreement"
    communication = "communication"
    data_processing = "data_processing"
    # The young person's own agreement to the code of conduct for children and young people, made once they
    # have been shown the social media policy (the policy: "young people should be made aware of it").
    code_of_conduct = "code_of_conduct"


class Purpose(DescribedEnum):
    """A use of images an image_use consent may cover ("only for the purpose for which consent has been
    given").

    - promotional_material: printed or digital promotional material (leaflets, posters, reports).
    - website: the organisation's own website.
    - social_media: the organisation's social media accounts and project groups.
    - press: newspapers, radio, television and other media outside the organisation.
    - internal: inside the organisation only (staff training, internal reports, the project group's own
      records)."""

    promotional_material = "promotional_material"
    website = "website"
    social_media = "social_media"
    press = "press"
    internal = "internal"


class GivenBy(DescribedEnum):
    """Who gave a consent.

    - participant: the young person themself; counts only if they had reached self_consent_min_age (18 by
      default) on the day they gave it, except for code_of_conduct, which they give at any age.
    - parent_carer: a parent or carer on the young person's behalf; once the young person reaches
      self_consent_min_age the consent still holds but they should confirm it (reconfirm_due)."""

    participant = "participant"
    parent_carer = "parent_carer"


class ConsentBase(SQLModel):
    model_config = DESCRIBED
    participant_id: uuid.UUID = Field(foreign_key="participant.id", index=True)
    """The young person the consent is about."""
    kind: ConsentKind = Field(sa_type=enum_type(ConsentKind))
    """What the consent is for."""
    purposes: list[Purpose] = Field(default_factory=list, sa_type=JSON)
    """For image_use: the uses of images it allows (at least one); empty for the other kinds."""
    given_by: GivenBy = Field(sa_type=enum_type(GivenBy))
    """Who gave it: the young person or a parent or carer."""
    given_by_name: NonBlank = Field(min_length=1, max_length=200)
    """The name of the person who signed it."""
    given_on: Day
    """The day it was given: the first day it holds (the organisation's calendar day)."""
    expires_on: Day | None = Field(default=None, description="First day it no longer holds")
    evidence_ref: str | None = Field(default=None, max_length=200, description="The signed form's reference")
    external_id: ExternalId | None = Field(default=None, min_length=1, max_length=EXTERNAL_ID_MAX)
    """The CRM's id for the consent (unique), so the CRM can update it by its own id."""


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


# A consent as a client sends it whole (created here, or pushed by the CRM): a code_of_conduct agreement is
# the young person's own. (A comment, not a docstring: the spec would describe each subclass by it.)
class _SentWhole(ConsentBase):
    @field_validator("given_by")
    @classmethod
    def _given_by_the_young_person(cls, given_by: GivenBy, info: ValidationInfo) -> GivenBy:
        return _own_agreement(given_by, info)


# The consent the examples show (a carer's image consent), as a create, a push by the CRM or a record of
# bulk sync gives it; each says whose it is and its external id in its own way.
EXAMPLE_CONSENT: dict[str, Any] = {
    "kind": "image_use",
    "purposes": ["website", "social_media"],
    "given_by": "parent_carer",
    "given_by_name": "Joanne Fairbrook",
    "given_on": "2025-09-06",
    "expires_on": "2027-09-06",
    "evidence_ref": "IMG-2025-0412",
}


def _example(external_id: str) -> dict[str, Any]:
    return {
        "participant_id": "bb6bbc4f-db9a-45ae-b169-24a562179a1f",
        **EXAMPLE_CONSENT,
        "external_id": external_id,
    }


class ConsentCreate(_SentWhole):
    model_config = forbid_extra(_example("CRM-C0918"))


class ConsentUpsert(_SentWhole):
    """The CRM's full consent record. The participant is named by exactly one of `participant_id` and
    `participant_external_id`; a `withdrawn_on` withdraws it. A code_of_conduct agreement is given by the
    participant (422 on `given_by` otherwise)."""

    model_config = forbid_extra(_example("CRM-C1207"))
    participant_id: uuid.UUID | None = Field(  # type: ignore[assignment]
        default=None, description="This service's participant id (or give participant_external_id)"
    )
    participant_external_id: ExternalId | None = Field(
        default=None, min_length=1, max_length=EXTERNAL_ID_MAX, description="The CRM's id for the participant"
    )
    withdrawn_on: Day | None = Field(default=None, description="First day it no longer holds")
    withdrawal_reason: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=1000)
    """Why it was withdrawn (with withdrawn_on); never another child's details."""


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
    participant_external_id: ExternalId | None = Field(
        default=None, min_length=1, max_length=EXTERNAL_ID_MAX, description="The CRM's id for the participant"
    )
    kind: ConsentKind | None = Field(default=None, description="What the consent is for")
    purposes: list[Purpose] | None = Field(
        default=None, description="For `image_use`: the uses of images it allows (order does not matter)"
    )
    given_by: GivenBy | None = Field(default=None, description="Who gave it: the young person or a carer")
    given_by_name: Annotated[str | None, NOT_BLANK] = Field(
        default=None, min_length=1, max_length=200, description="The name of who gave it"
    )
    given_on: Day | None = Field(default=None, description="The day it was given")
    expires_on: Day | None = Field(default=None, description="First day it no longer holds")
    evidence_ref: str | None = Field(default=None, max_length=200, description="The signed form's reference")
    withdrawn_on: Day | None = Field(default=None, description="First day it no longer holds, once withdrawn")
    withdrawal_reason: Annotated[str | None, NOT_BLANK] = Field(
        default=None, min_length=1, max_length=1000, description="Why it was withdrawn"
    )
    external_id: ExternalId | None = Field(
        default=None, min_length=1, max_length=EXTERNAL_ID_MAX, description="The CRM's id"
    )


class ConsentWithdraw(SQLModel):
    model_config = forbid_extra(
        {"withdrawn_on": "2026-11-30", "reason": "The carer asked by email that photos are no longer used"}
    )
    withdrawn_on: Day
    """The first day the consent no longer holds (exclusive); not before given_on."""
    reason: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=1000)
    """Why it was withdrawn (for example "The carer asked by email"); never another child's details."""


class StillAllowed(SQLModel):
    """A use a consent that no longer holds covered, which another consent still allows today."""

    purpose: Purpose | None = Field(description="The purpose (image_use), or null for the kind as a whole")
    consent_id: uuid.UUID = Field(description="The consent that still allows it")


class ConsentPublic(ConsentBase):
    id: uuid.UUID
    """The consent's id."""
    withdrawn_on: Day | None
    """The first day it no longer held because it was withdrawn; null if never withdrawn."""
    withdrawal_reason: str | None
    """Why it was withdrawn; null if never withdrawn."""
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
    """When the record was created (UTC, ISO 8601)."""
    updated_at: datetime
    """When the record last changed (UTC, ISO 8601)."""
    version: Whole
    """The record's version, raised by one on every change; send it as If-Match to update."""


class PurposeState(SQLModel):
    model_config = DESCRIBED
    purpose: Purpose
    """The use of images."""
    allowed: Flag
    """Whether an image consent in force on the day allows this purpose."""
    consent_id: uuid.UUID | None = Field(description="The consent that allows it")
    reason: Refusal | None = Field(description="Why it is refused")
    detail: str
    """The answer as a sentence."""
    reconfirm_due: Flag
    """The consent that allows it was given by a parent or carer and the young person has since reached
    the age to consent: they should confirm it."""


class KindState(SQLModel):
    model_config = DESCRIBED
    kind: ConsentKind
    """The kind of consent."""
    allowed: Flag = Field(description="For image_use: some purpose is allowed (see `purposes`)")
    consent_id: uuid.UUID | None
    """The consent that allows it; null when refused."""
    reason: Refusal | None
    """Why it is refused; null when allowed."""
    detail: str
    """The answer as a sentence."""
    reconfirm_due: Flag
    """Given by a parent or carer and the young person has since reached the age to consent: they should
    confirm it."""
    purposes: list[PurposeState] = Field(description="Each purpose (image_use only)")


class ConsentStatus(SQLModel):
    model_config = DESCRIBED
    participant_id: uuid.UUID
    """The young person."""
    on: Day
    """The day the answer is for (the organisation's calendar day; today unless asked)."""
    self_consent_min_age: Whole
    """The age in whole years from which the young person consents for themself (policy settings; 18 by
    default). Below it a parent or carer must."""
    kinds: list[KindState]
    """Each kind of consent and whether it holds on the day."""


class ConsentCheckResult(SQLModel):
    model_config = DESCRIBED
    participant_id: uuid.UUID
    """The young person checked."""
    kind: ConsentKind
    """The kind of consent checked."""
    purpose: Purpose | None
    """The use of images checked (image_use); null for the other kinds."""
    on: Day
    """The day checked (the organisation's calendar day)."""
    allowed: Flag
    """Whether a consent in force on the day allows it."""
    consent_id: uuid.UUID | None = Field(description="The consent that allows it")
    reason: Refusal | None = Field(description="Why it is refused")
    detail: str = Field(description="The answer as a sentence")
    reconfirm_due: Flag
    """Given by a parent or carer and the young person has since reached the age to consent: they should
    confirm it."""


class ConsentChecksRequest(SQLModel):
    # Before posting the concert photos: may every young person in them appear on social media?
    model_config = forbid_extra(
        {
            "participant_ids": [
                "bb6bbc4f-db9a-45ae-b169-24a562179a1f",
                "90d7e899-087d-47c1-b4f2-7db1799536db",
            ],
            "kind": "image_use",
            "purpose": "social_media",
            "on": "2025-11-22",
        }
    )
    participant_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    """The young people to check (1 to 500); each must be within your reach, or the check answers as for
    an unknown id."""
    purpose: Purpose | None = Field(default=None, description="Required for image_use")
    kind: ConsentKind = ConsentKind.image_use
    """The kind of consent to check."""
    on: Day | None = Field(default=None, description="Defaults to today")


class Blocker(SQLModel):
    model_config = DESCRIBED
    participant_id: uuid.UUID
    """A young person who is not allowed."""
    reason: Refusal
    """Why not."""
    detail: str
    """The answer as a sentence."""


class ConsentChecksResult(SQLModel):
    model_config = DESCRIBED
    allowed: Flag = Field(description="True only if every participant is allowed")
    kind: ConsentKind
    """The kind of consent checked."""
    purpose: Purpose | None
    """The use of images checked (image_use); null for the other kinds."""
    on: Day
    """The day checked (the organisation's calendar day)."""
    checked: Whole
    """How many young people were checked."""
    blockers: list[Blocker] = Field(description="Exactly those who are not allowed, in the order sent")
