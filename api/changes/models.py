from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from api.described import DESCRIBED, DescribedEnum


class ChangeAction(DescribedEnum):
    """What happened to the record.

    - created: it was created.
    - updated: one or more of its fields changed.
    - ended: it ended (a member of staff or young person left, a membership ended, a consent was
      withdrawn, a group archived); records end, they are not deleted."""

    created = "created"
    updated = "updated"
    ended = "ended"


class Change(BaseModel):
    """That a record changed, never how: fetch the record to see it (and only if your role may)."""

    model_config = DESCRIBED

    cursor: int = Field(description="Resume after this change by passing it as `since`")
    entity_type: str
    """The kind of record (staff, participant, consent, membership, group ...)."""
    entity_id: uuid.UUID
    """The record's id."""
    action: ChangeAction
    """What happened to it."""
    occurred_at: datetime
    """When it changed (UTC, ISO 8601)."""


class ChangesPage(BaseModel):
    model_config = DESCRIBED
    items: list[Change]
    """The changes after `since`, oldest first."""
    next_cursor: int = Field(description="Pass as `since` for the next page; the same cursor when empty")
    has_more: bool = Field(description="More changes are ready now; otherwise poll again later")
