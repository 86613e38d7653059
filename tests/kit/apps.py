"""The app under test on a session the test holds: every request's database session is that one."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from sqlmodel import Session

from api.db import get_session


def use_session(application: FastAPI, session: Session) -> None:
    """Serve every request of `application` from `session` (a test's transaction or savepoint)."""

    def _session() -> Iterator[Session]:
        try:
            yield session
        except Exception:
            # As in production, where a request's session closes on an error and what it had not committed
            # is rolled back (on PostgreSQL the failed statement must be rolled back before the next one).
            session.rollback()
            raise

    application.dependency_overrides[get_session] = _session
