"""Alembic environment: the app's models and its DATABASE_URL (or a connection handed in by the tests)."""

from __future__ import annotations

from logging.config import fileConfig

from sqlalchemy import Connection
from sqlmodel import SQLModel

import api.models  # noqa: F401 - registers every table on the metadata
from alembic import context
from api import facts
from api.config import get_settings
from api.db import make_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only ALTER by copying the table
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=get_settings().database_connect_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
            facts.after_migrations(connection)  # committed by whoever handed the connection in
        return
    # No statement timeout: a migration may rewrite a big table, and stopping it half way helps no one.
    url = config.attributes.get("url") or get_settings().database_connect_url()
    engine = make_engine(url, limit_statements=False)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
            facts.after_migrations(conn)
        if conn.in_transaction():
            # SQLite: Alembic runs each migration in a transaction of its own (no transactional DDL), so the
            # counter's write began one more, which is ours to commit.
            conn.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
