"""A throwaway database on the backend under test, for tests that must run migrations or the CLI against
an empty database of their own (the shared test database is migrated once and used inside transactions)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text

from api.db import make_engine


@contextmanager
def scratch_database() -> Iterator[str]:
    """Yield the URL of a new, empty database; a SQLite file, or a PostgreSQL database dropped afterwards."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        with tempfile.TemporaryDirectory(prefix="esafety-scratch-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'scratch.db'}"
        return
    name = f"esafety_scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def scratch_engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
