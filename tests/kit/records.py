"""What every factory shares: make one record from defaults and a test's overrides, and unique names."""

from __future__ import annotations

import uuid
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


def unique(prefix: str) -> str:
    """`prefix` and eight hex digits, so that records made by one test never clash with another's."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def row(**values: Any) -> dict[str, Any]:
    """One row for a bulk `insert(Model)` statement, with the columns every record carries filled in."""
    now = clock.now()
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, **values}
