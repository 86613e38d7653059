"""Raw SQL as api/facts.py's hooks see it: whether its text may write (`sql_writes`, also used by api/db.py's
`release`), the text of raw SQL however the session was handed it (`text_of`), and whether anything else the
session runs may write (`statement_writes`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm.context import FromStatement

# What a statement may begin with and still write nothing (here, and for `db.release`'s COMMIT of a read). A
# plain SET is not one: a COMMIT keeps the setting (a ROLLBACK undoes it) for every later request the
# connection serves.
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK TO", "SET LOCAL ", "SET TRANSACTION", "SHOW")


def sql_writes(statement: str) -> bool:
    """Whether SQL text may write: anything but a read by its first words. A string of several statements
    (sent without parameters, psycopg runs them all) is more than its first words say: a ";" before its end
    makes it a write."""
    first = statement[:16].lstrip().upper()
    return not first.startswith(_READS) or ";" in statement.rstrip("; \t\n")


def statement_writes(statement: object) -> bool:
    """Whether a statement the session runs that is neither an INSERT, an UPDATE nor a DELETE may write: raw
    SQL (`text_of`) by `sql_writes`; a SELECT or a UNION of them (`is_select`: a write in a SELECT's WITH is
    PostgreSQL's, seen on the connection by api/db.py) not; anything else may (a DDL element carries any
    SQL it is given, and the hooks read nothing of it)."""
    text = text_of(statement)
    if text is not None:
        return sql_writes(text)
    return not getattr(statement, "is_select", False)


def text_of(statement: object) -> str | None:
    """Raw SQL's text, also as `text(...).columns(...)` or `select(X).from_statement(text(...))`."""
    while isinstance(statement, (sa.TextualSelect, FromStatement)):
        statement = statement.element
    return statement.text if isinstance(statement, sa.TextClause) else None
