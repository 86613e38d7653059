"""A pooled PostgreSQL connection is pinged before use only when it has lain idle (api/db.py
`ping_when_idle`): one used a moment ago goes straight to its statement, and one the server ended while it
lay idle is replaced without the caller seeing an error."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

from api import db
from tests.kit.databases import SERVER_URL

pytestmark = pytest.mark.skipif(not SERVER_URL, reason="SQLite has no server to lose a connection to")


def _backend(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_just_used_is_not_pinged_and_a_dead_idle_one_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SERVER_URL is not None
    engine = db.make_engine(SERVER_URL)
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    pings: list[Any] = []
    ping = engine.dialect.do_ping

    def counted(conn: Any) -> bool:
        pings.append(conn)
        return ping(conn)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    try:
        with engine.connect() as conn:
            first = _backend(conn)
        with engine.connect() as conn:
            assert _backend(conn) == first
        assert pings == []  # opened, then used a moment ago: no round trip spent on a ping

        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        monkeypatch.setattr(db, "IDLE_BEFORE_PING", 0.0)  # as if it had lain idle past the limit
        with engine.connect() as conn:
            assert _backend(conn) != first  # the dead one was found by the ping and replaced
        assert len(pings) == 1
    finally:
        engine.dispose()
        admin.dispose()
