"""The schema exists only through migrations: they must match the models and run both ways, on the backend
under test (SQLite, or PostgreSQL with TEST_DATABASE_URL), each in a throwaway database of its own."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import api.models  # noqa: F401 - registers every table on the metadata
from api.migrations import current_revision, downgrade, head_revision, upgrade
from tests.scratch import scratch_database, scratch_engine

VERSION_TABLE = "alembic_version"


def _tables(url: str) -> set[str]:
    with scratch_engine(url) as engine:
        return set(inspect(engine).get_table_names()) - {VERSION_TABLE}


def test_models_and_migrations_agree() -> None:
    with scratch_database() as url:
        upgrade(url)
        with scratch_engine(url) as engine, engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff: list[Any] = compare_metadata(context, SQLModel.metadata)
    assert diff == [], (
        "the models and the migrations differ; generate a migration (see BRIEF.md) for:\n"
        + "\n".join(map(str, diff))
    )


def test_upgrade_downgrade_upgrade() -> None:
    expected = set(SQLModel.metadata.tables)
    with scratch_database() as url:
        upgrade(url)
        assert _tables(url) == expected
        downgrade(url, "base")
        assert _tables(url) == set()
        with scratch_engine(url) as engine, engine.connect() as conn:
            assert current_revision(conn) is None
        upgrade(url)
        assert _tables(url) == expected
        with scratch_engine(url) as engine, engine.connect() as conn:
            assert current_revision(conn) == head_revision()
