"""The stored Idempotency-Keys: claim one for a request, renew the claim, keep its answer or release it
(the rules are in api/idempotency/__init__.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import JSON, Field, Session, SQLModel, col, delete, select, update

from api.config import get_settings
from api.db import UTCDateTime, utcnow


class IdempotencyKey(SQLModel, table=True):
    """One POST's key and, once it succeeded, its stored answer. Purged once expired."""

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("owner", "key"),)
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner: str = Field(max_length=64, description="The caller: `user:<id>` or `api_key:<id>`")
    key: str = Field(max_length=255)
    fingerprint: str = Field(
        max_length=64, description="SHA-256 of method, path, query and the body in canonical form"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # Null while the first request is still running.
    response_status: int | None = None
    response_headers: list[list[str]] = Field(default_factory=list, sa_type=JSON)
    response_body: bytes | None = Field(default=None, sa_type=sa.LargeBinary)


def valid_key(value: str) -> bool:
    return 1 <= len(value) <= 255 and all(" " <= ch <= "~" for ch in value)


@dataclass(frozen=True)
class Stored:
    status: int
    headers: list[list[str]]
    body: bytes


class KeyInUse(Exception):
    """The first request with this key has not finished."""


class KeyReused(Exception):
    """The key was used before for a different request."""


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(IdempotencyKey)


def claim(session: Session, *, owner: str, key: str, fingerprint: str, now: datetime) -> Stored | None:
    """Take the key for this request (None: go ahead and run it) or return the stored answer to replay.

    Raises KeyReused for a different request under the same key, KeyInUse while the first one runs.
    """
    s = get_settings()
    # Opportunistic purge: expired keys go as new ones arrive, so the table stays a day's worth.
    session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= now))
    inserted = session.exec(
        _insert(session)
        .values(
            id=uuid.uuid4(),
            owner=owner,
            key=key,
            fingerprint=fingerprint,
            created_at=now,
            locked_at=now,
            expires_at=now + timedelta(hours=s.idempotency_key_hours),
            response_headers=[],
        )
        .on_conflict_do_nothing(index_elements=["owner", "key"])
        .returning(IdempotencyKey.__table__.c.id)  # type: ignore[attr-defined]
    )
    # RETURNING rather than rowcount: drivers do not all report a row count for ON CONFLICT.
    ours = inserted.first() is not None
    session.commit()
    if ours:
        return None
    row = session.exec(
        select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
    ).one()
    if row.fingerprint != fingerprint:
        raise KeyReused
    if row.response_status is not None:
        return Stored(row.response_status, row.response_headers, row.response_body or b"")
    # Still running, unless its worker died: then the first retry to get here takes the lock over.
    stale = now - timedelta(seconds=s.idempotency_lock_seconds)
    taken = session.exec(
        update(IdempotencyKey)
        .where(col(IdempotencyKey.id) == row.id, col(IdempotencyKey.response_status).is_(None))
        .where(col(IdempotencyKey.locked_at) < stale)
        .values(locked_at=now)
        .returning(col(IdempotencyKey.id))
    )
    took_over = taken.first() is not None
    session.commit()
    if not took_over:
        raise KeyInUse
    return None


def complete(session: Session, *, owner: str, key: str, stored: Stored) -> None:
    """Keep the answer of a request that succeeded, for its retries."""
    session.exec(
        update(IdempotencyKey)
        .where(col(IdempotencyKey.owner) == owner, col(IdempotencyKey.key) == key)
        .values(response_status=stored.status, response_headers=stored.headers, response_body=stored.body)
    )
    session.commit()


def renew(session: Session, *, owner: str, key: str, now: datetime) -> None:
    """Keep the claim of a request that is still running."""
    session.exec(
        update(IdempotencyKey)
        .where(
            col(IdempotencyKey.owner) == owner,
            col(IdempotencyKey.key) == key,
            col(IdempotencyKey.response_status).is_(None),
        )
        .values(locked_at=now)
    )
    session.commit()


def release(session: Session, *, owner: str, key: str) -> None:
    """Free the key of a request that failed, so a retry runs it again (finding whatever it had saved)."""
    session.exec(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.owner) == owner,
            col(IdempotencyKey.key) == key,
            col(IdempotencyKey.response_status).is_(None),
        )
    )
    session.commit()
