"""The schema exists only through migrations: they must match the models and run both ways, on the backend
under test (SQLite, or PostgreSQL with TEST_DATABASE_URL), each in a throwaway database of its own."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import api.models  # noqa: F401 - registers every table on the metadata
from api import clock, facts
from api.db import UTCDateTime
from api.migrations import current_revision, downgrade, head_revision, upgrade
from tests.kit.databases import engine_for, throwaway_database

VERSION_TABLE = "alembic_version"
FACTS_VERSION_REVISION = "e5a1c0f7b9d2"  # makes facts_version
BEFORE_FACTS_VERSION = "5e2a8c4d7b19"


def _tables(url: str) -> set[str]:
    with engine_for(url) as engine:
        return set(inspect(engine).get_table_names()) - {VERSION_TABLE}


def test_models_and_migrations_agree() -> None:
    with throwaway_database() as url:
        upgrade(url)
        with engine_for(url) as engine, engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff: list[Any] = compare_metadata(context, SQLModel.metadata)
    assert diff == [], (
        "the models and the migrations differ; generate a migration (see BRIEF.md) for:\n"
        + "\n".join(map(str, diff))
    )


def test_upgrade_downgrade_upgrade() -> None:
    expected = set(SQLModel.metadata.tables)
    with throwaway_database() as url:
        upgrade(url)
        assert _tables(url) == expected
        downgrade(url, "base")
        assert _tables(url) == set()
        with engine_for(url) as engine, engine.connect() as conn:
            assert current_revision(conn) is None
        upgrade(url)
        assert _tables(url) == expected
        with engine_for(url) as engine, engine.connect() as conn:
            assert current_revision(conn) == head_revision()


def test_the_publication_guard_migration_stores_phones_in_e164() -> None:
    participant = sa.table(
        "participant",
        sa.column("id", sa.Uuid()),
        sa.column("full_name", sa.String()),
        sa.column("date_of_birth", sa.Date()),
        sa.column("is_vulnerable_adult", sa.Boolean()),
        sa.column("joined_on", sa.Date()),
        sa.column("carer_phone", sa.String()),
        sa.column("created_at", UTCDateTime()),
        sa.column("updated_at", UTCDateTime()),
        sa.column("version", sa.Integer()),
    )
    now = clock.now()
    typed = ["07700 900123", "+44 (0)7700 900456", "call me", None]
    with throwaway_database() as url:
        upgrade(url, "56d97493b4f6")
        with engine_for(url) as engine, engine.begin() as conn:
            for i, phone in enumerate(typed):
                conn.execute(
                    sa.insert(participant).values(
                        id=uuid.uuid4(),
                        full_name=f"P{i}",
                        date_of_birth=date(2011, 1, 1),
                        is_vulnerable_adult=False,
                        joined_on=date(2024, 1, 1),
                        carer_phone=phone,
                        created_at=now,
                        updated_at=now,
                        version=1,
                    )
                )
        upgrade(url)
        with engine_for(url) as engine, engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT full_name, carer_phone, version FROM participant ORDER BY full_name")
            )
            assert [tuple(r) for r in rows] == [
                ("P0", "+447700900123", 1),
                ("P1", "+447700900456", 1),
                ("P2", "call me", 1),
                ("P3", None, 1),
            ]


def _organisation_counter(url: str) -> int | None:
    with engine_for(url) as engine, engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT version FROM facts_version WHERE scope = :s"), {"s": facts.ORG}
        ).scalar()
        return None if found is None else int(found)


def test_every_migration_run_moves_the_organisation_s_counter() -> None:
    """A migration writes with no session, so no hook hears it: the run itself moves the organisation's
    counter, which every cached compliance answer is kept under (a worker still serving misses them all).
    Recreating the table (down below its revision and up again) starts its counters at 0 again; the run
    moves the organisation's off it, so nothing kept under the old 0 is found."""
    with throwaway_database() as url:
        upgrade(url, FACTS_VERSION_REVISION)
        first = _organisation_counter(url)
        upgrade(url)
        second = _organisation_counter(url)
        upgrade(url)  # nothing to apply: still a run that may have changed what answers read
        third = _organisation_counter(url)
        downgrade(url, BEFORE_FACTS_VERSION)
        assert _organisation_counter_absent(url)
        upgrade(url)
        fourth = _organisation_counter(url)
    seen = [first, second, third, fourth]
    assert None not in seen
    assert 0 not in seen
    assert len(set(seen)) == len(seen), seen


def _organisation_counter_absent(url: str) -> bool:
    with engine_for(url) as engine:
        return not inspect(engine).has_table("facts_version")
