"""Consents (api/consents)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from api.consents.models import Consent, ConsentKind, GivenBy, Purpose
from api.participants.models import Participant
from tests.kit.records import add, recorded


def make_consent(
    session: Session, participant: Participant, kind: ConsentKind = ConsentKind.image_use, **overrides: Any
) -> Consent:
    """A consent of `kind` for `participant`, given by a parent or carer on 10 January 2024; an image-use
    consent covers the website only (pass `purposes` for more)."""
    values: dict[str, Any] = {
        "participant_id": participant.id,
        "kind": kind,
        "purposes": [Purpose.website] if kind is ConsentKind.image_use else [],
        "given_by": GivenBy.parent_carer,
        "given_by_name": "A Carer",
        "given_on": date(2024, 1, 10),
    }
    return add(session, Consent, recorded({**values, **overrides}, "given_on"), {})


def image_use_body(participant: Participant, given_on: date, **more: Any) -> dict[str, Any]:
    """The request body of a parent's image-use consent for the website, given on `given_on`, with `more`
    (an `evidence_ref`, a `withdrawn_on`) after it."""
    return {
        "participant_id": str(participant.id),
        "kind": "image_use",
        "purposes": ["website"],
        "given_by": "parent_carer",
        "given_by_name": "A Parent",
        "given_on": str(given_on),
        **more,
    }
