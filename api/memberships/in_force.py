"""Membership in force on a day, as SQL (who reaches what is decided in api/auth/reach.py)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from api.memberships.models import Membership


def current_on(on: date) -> ColumnElement[bool]:
    """Membership in force on `on` (end dates are exclusive)."""
    return and_(
        col(Membership.started_on) <= on,
        or_(col(Membership.ended_on).is_(None), col(Membership.ended_on) > on),
    )
