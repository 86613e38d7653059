"""Participants (api/participants): the young people."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from api import clock
from api.participants.models import Participant
from tests.kit.records import add, unique


def make_participant(session: Session, **overrides: Any) -> Participant:
    """A young person a few days short of fifteen, with a carer who has an email address, who joined the
    organisation 200 days ago."""
    values: dict[str, Any] = {
        "full_name": f"Participant {unique('')}",
        "date_of_birth": clock.today() - timedelta(days=15 * 365),
        "carer_name": f"Carer {unique('')}",
        "carer_email": f"{unique('carer-')}@example.org",
        "joined_on": clock.today() - timedelta(days=200),
    }
    return add(session, Participant, values, overrides)
