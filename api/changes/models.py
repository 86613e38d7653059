from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ChangeAction(StrEnum):
    created = "created"
    updated = "updated"
    ended = "ended"


class Change(BaseModel):
    """That a record changed, never how: fetch the record to see it (and only if your role may)."""

    cursor: int = Field(description="Resume after this change by passing it as `since`")
    entity_type: str
    entity_id: uuid.UUID
    action: ChangeAction
    occurred_at: datetime


class ChangesPage(BaseModel):
    items: list[Change]
    next_cursor: int = Field(description="Pass as `since` for the next page; the same cursor when empty")
    has_more: bool = Field(description="More changes are ready now; otherwise poll again later")
