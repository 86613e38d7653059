"""The publication check's request and answer (`POST /consents/publication-check`): a text meant for the
website or social media, checked for protected people's names and contact details and for pictures without
consent."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from sqlmodel import Field, SQLModel

from api.common import Flag, Whole, forbid_extra
from api.consents.canonical import ReadAs
from api.consents.logic import Refusal
from api.consents.models import Purpose
from api.consents.publication_keys import Detail as MatchKind
from api.described import DESCRIBED, Values


class PublicationCheckRequest(SQLModel):
    model_config = forbid_extra(
        {
            "text": "<p>What a night at the winter concert! <b>Kit Fairbrook</b> (14) played her first solo."
            " Photos from Kit's mum: joanne.fairbrook@example.org, 07700&nbsp;900123.</p>",
            "content_type": "text/html",
            "pictured_participant_ids": ["90d7e899-087d-47c1-b4f2-7db1799536db"],
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


PersonRole = Annotated[
    Literal["participant", "carer", "consent_giver", "staff"],
    Values(
        "Whose personal detail it is.",
        {
            "participant": "The young person's own.",
            "carer": "The young person's parent's or carer's (as recorded on the participant).",
            "consent_giver": "The person who signed one of the young person's consents.",
            "staff": "A member of staff's (kept off the website too).",
        },
    ),
]


class ProtectedPerson(SQLModel):
    model_config = DESCRIBED
    role: PersonRole = Field(
        description="Whose detail: a participant's, their carer's or consent giver's, or staff"
    )
    participant_id: uuid.UUID | None = Field(
        description="The participant (for a carer or consent giver: theirs)"
    )
    staff_id: uuid.UUID | None
    """The member of staff, for role staff; otherwise null."""


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
    model_config = DESCRIBED
    participant_id: uuid.UUID
    """The pictured young person."""
    allowed: Flag = Field(description="An image consent in force today covers the purpose")
    consent_id: uuid.UUID | None = Field(description="The consent that allows it")
    reason: Refusal | None = Field(description="Why it is refused")
    detail: str
    """The answer as a sentence."""


class PublicationCheckResult(SQLModel):
    model_config = DESCRIBED
    clean: Flag = Field(
        description="True when nothing protected was found and every pictured person is covered"
    )
    read_as: ReadAs = Field(description="How the text was read")
    matches: list[PublicationMatch]
    """Each protected name or contact detail found in the text, in the order it appears."""
    purpose: Purpose | None
    """The purpose the pictures were checked for, as sent."""
    pictured: list[PictureCheck] = Field(description="Each pictured participant, in the order sent")
