"""The one throwaway-database helper, on the backend under test: a SQLite file in a temporary folder by
default, or a new database on the PostgreSQL server that TEST_DATABASE_URL names, dropped afterwards.

The test run's own database (tests/conftest.py), the empty databases that migration and CLI tests start
from, and the migrated databases live servers use all come from here. Nothing from `api` is imported at
module level: conftest imports this before it has set the environment the app's settings are read from.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, make_url, text

SERVER_URL = os.environ.get("TEST_DATABASE_URL")
BACKEND = "postgresql" if SERVER_URL else "sqlite"
_FOLDER = "esafety-test-"


def new_database_url(prefix: str = "esafety_scratch") -> str:
    """The URL of a database that does not exist yet, named `prefix` and a random tail (nothing is made:
    `throwaway_database(url)` makes it). With TEST_DATABASE_PREFIX set, its value comes first (a shared
    server where each run keeps to its own database names)."""
    name = f"{os.environ.get('TEST_DATABASE_PREFIX', '')}{prefix}_{uuid.uuid4().hex[:12]}"
    if SERVER_URL:
        return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    return f"sqlite:///{Path(tempfile.mkdtemp(prefix=_FOLDER)) / f'{name}.db'}"


@contextmanager
def throwaway_database(url: str | None = None, *, migrated: bool = False) -> Iterator[str]:
    """Make the database `url` names (a new one of `new_database_url()` when None), migrated to the head
    revision when `migrated` and empty otherwise; yield its URL; drop it (PostgreSQL) or remove its folder
    (SQLite) afterwards. Close every engine on it before the block ends."""
    url = url or new_database_url()
    if SERVER_URL:
        admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
        name = make_url(url).database
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        if migrated:
            from api.migrations import upgrade

            upgrade(url)
        yield url
    finally:
        if SERVER_URL:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        else:
            folder = Path(make_url(url).database or ".").parent
            # Only a folder new_database_url made: a URL the caller chose is theirs to keep.
            if folder.name.startswith(_FOLDER) and folder.parent == Path(tempfile.gettempdir()):
                shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    """The app's engine on `url` (api.db.make_engine), disposed of when the block ends."""
    from api.db import make_engine

    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()
