from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import JSON, Field, SQLModel

from api.db import UTCDateTime, utcnow
from api.described import DESCRIBED


class next_audit_seq(FunctionElement[int]):  # noqa: N801 - named like the SQL functions it stands for
    """The next value of audit_event.seq, computed in the INSERT itself.

    PostgreSQL draws it from the column's identity sequence. SQLite has no sequences and autoincrements
    only a primary key; there the INSERT takes MAX + 1 under the database's single write lock, which it
    holds until commit, so values are unique and follow commit order.
    """

    type = sa.BigInteger()
    inherit_cache = True


@compiles(next_audit_seq, "postgresql")
def _next_seq_postgresql(element: next_audit_seq, compiler: SQLCompiler, **kw: object) -> str:
    return "nextval(pg_get_serial_sequence('audit_event', 'seq'))"


@compiles(next_audit_seq)
def _next_seq_default(element: next_audit_seq, compiler: SQLCompiler, **kw: object) -> str:
    return "(SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_event)"


class AuditEvent(SQLModel, table=True):
    """Append-only: no route changes or deletes a row here."""

    __tablename__ = "audit_event"
    # No RETURNING, so the ORM inserts several events one statement per row (plain executemany) rather
    # than as one multi-row INSERT, in which SQLite's MAX(seq) + 1 would be the same for every row.
    __table_args__ = {"implicit_returning": False}
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    occurred_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_type: str = Field(max_length=16, description="user, api_key, system or anonymous")
    actor_id: uuid.UUID | None = Field(default=None, index=True)
    actor_label: str | None = Field(default=None, max_length=254)
    action: str = Field(max_length=64)
    entity_type: str | None = Field(default=None, max_length=64)
    entity_id: uuid.UUID | None = Field(default=None, index=True)
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # Commit-ordered position for the changes feed: timestamps are not a safe cursor, since two
    # transactions can commit in the opposite order to their clocks. Assigned by the database.
    seq: int | None = Field(
        default=None,
        sa_column=sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.Identity(always=False),
            default=next_audit_seq(),
            nullable=False,
            unique=True,
        ),
    )


class AuditEventPublic(SQLModel):
    model_config = DESCRIBED
    id: uuid.UUID
    """The event's id."""
    occurred_at: datetime
    """When it happened (UTC, ISO 8601)."""
    actor_type: str
    """Who acted: user, api_key, system or anonymous."""
    actor_id: uuid.UUID | None
    """The user or API key that acted; null for the system or an anonymous caller."""
    actor_label: str | None
    """The actor's email address or key name, as it was then."""
    action: str
    """What was done, as entity.verb (for example group.update, user.sign_in)."""
    entity_type: str | None
    """The kind of record acted on, if any."""
    entity_id: uuid.UUID | None
    """The record acted on, if any."""
    changes: dict[str, Any]
    """What changed: {field: {"before": old, "after": new}}; a child's personal details and free text are
    never written here (only that they changed)."""
