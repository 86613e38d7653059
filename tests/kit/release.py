"""How the transactions of requests served by the real `db.get_session` end (COMMIT or ROLLBACK)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event


def ends(engine: sa.Engine) -> list[str]:
    """A list to which every transaction of `engine` that ends from now on appends "commit" or "rollback"."""
    ended: list[str] = []
    event.listen(engine, "commit", lambda _conn: ended.append("commit"))
    event.listen(engine, "rollback", lambda _conn: ended.append("rollback"))
    return ended
