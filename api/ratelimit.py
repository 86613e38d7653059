"""Rate limits per API key and per user action: a fixed one-minute window, counted in the database so every
worker shares it. Each counted request's answer says where the caller stands, in the IETF httpapi draft's
`RateLimit-Policy` and `RateLimit` fields (api/request_context.py): the policy `api-key` for a key, the
action's name (`publication-check` ...) for a user's action."""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from api.db import utcnow
from api.errors import TooManyRequests
from api.request_context import RateLimitState, add_rate_limit

WINDOW_SECONDS = 60
API_KEY_POLICY = "api-key"


class ApiKeyRateWindow(SQLModel, table=True):
    """One row per key: the current window and the requests counted in it (older windows are overwritten)."""

    __tablename__ = "api_key_rate_window"
    api_key_id: uuid.UUID = Field(foreign_key="api_key.id", primary_key=True)
    window_minute: int = Field(description="Minutes since the Unix epoch")
    request_count: int


class UserRateWindow(SQLModel, table=True):
    """One row per user and limited action (a publication check ...), as ApiKeyRateWindow is per key."""

    __tablename__ = "user_rate_window"
    user_id: uuid.UUID = Field(foreign_key="user_account.id", primary_key=True)
    action: str = Field(max_length=40, primary_key=True)
    window_minute: int = Field(description="Minutes since the Unix epoch")
    request_count: int


def hit(session: Session, *, api_key_id: uuid.UUID, limit: int, now: datetime) -> None:
    """Count one request against the key; over the limit, a 429 with Retry-After."""
    _hit(
        session,
        ApiKeyRateWindow.__table__,  # type: ignore[attr-defined]
        {"api_key_id": api_key_id},
        policy=API_KEY_POLICY,
        limit=limit,
        now=now,
        message=f"This API key is limited to {limit} requests a minute",
    )


def hit_user(session: Session, *, user_id: uuid.UUID, action: str, limit: int, what: str) -> None:
    """Count one `action` by the user now (`utcnow`, this module's: one clock for every action's window);
    over `limit` a minute, a 429 with Retry-After naming `what`."""
    _hit(
        session,
        UserRateWindow.__table__,  # type: ignore[attr-defined]
        {"user_id": user_id, "action": action},
        policy=action.replace("_", "-"),
        limit=limit,
        now=utcnow(),
        message=f"You may make at most {limit} {what} a minute",
    )


def _hit(
    session: Session,
    table: Any,
    key: dict[str, Any],
    *,
    policy: str,
    limit: int,
    now: datetime,
    message: str,
) -> None:
    """One INSERT ... ON CONFLICT DO UPDATE ... RETURNING: the increment and the read are a single atomic
    statement, so concurrent requests on several workers cannot both slip under the limit."""
    seconds = now.timestamp()
    window = int(seconds // WINDOW_SECONDS)
    dialect = session.get_bind().dialect.name
    insert: Any = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    statement = (
        insert.values(**key, window_minute=window, request_count=1)
        .on_conflict_do_update(
            index_elements=list(key),
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
    reset = max(1, math.ceil((window + 1) * WINDOW_SECONDS - seconds))
    add_rate_limit(RateLimitState(policy, limit, WINDOW_SECONDS, limit - count, reset))
    if count > limit:
        raise TooManyRequests(message, headers={"Retry-After": str(reset)})
