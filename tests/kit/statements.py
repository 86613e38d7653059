"""The one statement counter: what a block of code sends to the database, for query-count assertions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlmodel import Session

# The test harness runs each test in a transaction and turns the app's commits into savepoints; these are
# its bookkeeping, which production (a transaction per request) never sends.
HARNESS = ("SAVEPOINT", "RELEASE", "ROLLBACK TO")


@contextmanager
def count_statements(
    target: Engine | Connection | Session, *, savepoints: bool = False
) -> Iterator[list[str]]:
    """Yield a list that fills with the SQL text of each statement sent through `target` (an engine, a
    connection, or a session's connection) until the block ends; the harness's savepoint statements are
    left out unless `savepoints`. Clear the list to count again."""
    statements: list[str] = []
    source = target.connection() if isinstance(target, Session) else target

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if savepoints or not statement.lstrip().upper().startswith(HARNESS):
            statements.append(statement)

    event.listen(source, "before_cursor_execute", _count)
    try:
        yield statements
    finally:
        event.remove(source, "before_cursor_execute", _count)
