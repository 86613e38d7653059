"""Rate limits per API key: a fixed one-minute window, counted in the database so every worker shares it."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from api.errors import TooManyRequests

WINDOW_SECONDS = 60


class ApiKeyRateWindow(SQLModel, table=True):
    """One row per key: the current window and the requests counted in it (older windows are overwritten)."""

    __tablename__ = "api_key_rate_window"
    api_key_id: uuid.UUID = Field(foreign_key="api_key.id", primary_key=True)
    window_minute: int = Field(description="Minutes since the Unix epoch")
    request_count: int


def hit(session: Session, *, api_key_id: uuid.UUID, limit: int, now: datetime) -> None:
    """Count one request against the key; over the limit, a 429 with Retry-After.

    One INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the increment and the read are a single atomic
    statement, so concurrent requests on several workers cannot both slip under the limit.
    """
    seconds = now.timestamp()
    window = int(seconds // WINDOW_SECONDS)
    table = ApiKeyRateWindow.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    statement = (
        insert.values(api_key_id=api_key_id, window_minute=window, request_count=1)
        .on_conflict_do_update(
            index_elements=["api_key_id"],
            # SET sees the row's old values: a new window starts the count again at 1.
            set_={
                "request_count": case(
                    (table.c.window_minute == insert.excluded.window_minute, table.c.request_count + 1),
                    else_=1,
                ),
                "window_minute": insert.excluded.window_minute,
            },
        )
        .returning(table.c.request_count)
    )
    count = int(session.execute(statement).scalar_one())
    session.commit()
    if count > limit:
        retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - seconds))
        raise TooManyRequests(
            f"This API key is limited to {limit} requests a minute",
            headers={"Retry-After": str(retry_after)},
        )
