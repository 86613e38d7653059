from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import JSON, Field, SQLModel

from api.db import UTCDateTime, utcnow


class AuditEvent(SQLModel, table=True):
    """Append-only: no route changes or deletes a row here."""

    __tablename__ = "audit_event"
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_type: str = Field(max_length=16, description="user, api_key, system or anonymous")
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_label: str | None = Field(default=None, max_length=254)
    action: str = Field(max_length=64)
    entity_type: str | None = Field(default=None, max_length=64)
    entity_id: uuid.UUID | None = Field(default=None, index=True)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class AuditEventPublic(SQLModel):
    id: uuid.UUID
    occurred_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None
    actor_label: str | None
    action: str
    entity_type: str | None
    entity_id: uuid.UUID | None
    changes: dict[str, Any]
