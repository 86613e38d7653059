"""What every factory shares: make one record from defaults and a test's overrides, and unique names."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel

from api import clock

R = TypeVar("R", bound=SQLModel)


def add(session: Session, model: type[R], defaults: dict[str, Any], overrides: dict[str, Any]) -> R:
    """Make one `model` record from a factory's defaults and the test's overrides, and commit it."""
    record = model(**{**defaults, **overrides})
    session.add(record)
    session.commit()
    return record


def recorded(values: dict[str, Any], claimed: str) -> dict[str, Any]:
    """`values` with the record stamped as entered on the day it claims (mid-afternoon, never after now),
    unless the test says when: an evaluation as of a past day counts only what was recorded by then, so a
    factory's record dated in the past must have been recorded then too to keep its meaning."""
    if "created_at" in values:
        return values
    at: datetime = min(clock.now(), clock.start_of(values[claimed]) + timedelta(hours=15))
    return {**values, "created_at": at, "updated_at": at}


def unique(prefix: str) -> str:
    """`prefix` and eight hex digits, so that records made by one test never clash with another's."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def row(**values: Any) -> dict[str, Any]:
    """One row for a bulk `insert(Model)` statement, with the columns every record carries filled in."""
    now = clock.now()
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, **values}
