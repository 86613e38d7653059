"""The driver-level runner of the compliance loads: the same rows as SQLAlchemy's own execution, each
statement seen by SQLAlchemy's events, driver errors raised as SQLAlchemy's exceptions, and values read the
same way on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection
from sqlmodel import Session, SQLModel

from api.compliance import fetch
from api.compliance.loading import load_group
from api.compliance.snapshot import uuid_of
from tests.kit.groups import make_group
from tests.kit.incidents import make_incident
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff
from tests.kit.statements import count_statements

GROUP = SQLModel.metadata.tables["online_group"]
STAFF = SQLModel.metadata.tables["staff"]
INCIDENT = SQLModel.metadata.tables["incident"]


def _statements() -> tuple[sa.Select[Any], sa.Select[Any]]:
    name = sa.bindparam("name", type_=sa.String())
    by_name = sa.select(GROUP.c.id, GROUP.c.started_on, GROUP.c.shares_images).where(GROUP.c.name == name)
    # A list of constants (expanded into one parameter each) and a date written into the statement.
    in_list = sa.select(STAFF.c.id, STAFF.c.full_name).where(
        STAFF.c.full_name.in_(["Ada Fetch", "Bea Fetch"]), STAFF.c.started_on <= date(2030, 1, 1)
    )
    return by_name, in_list


def test_rows_match_sqlalchemys_own_execution_once_read(session: Session) -> None:
    group = make_group(session, name="Fetch group", started_on=date(2025, 9, 8), shares_images=True)
    ada, bea = make_staff(session, full_name="Ada Fetch"), make_staff(session, full_name="Bea Fetch")
    make_staff(session, full_name="Cy Other")
    session.flush()
    conn = session.connection()
    by_name, in_list = _statements()
    for reuse in (False, True, True):  # the second reuse runs from the kept plan
        groups, staff = fetch.fetch_all(conn, (by_name, in_list), {"name": "Fetch group"}, reuse=reuse)
        rd = fetch.reader(conn)
        assert [(rd.uuid(r[0]), rd.day(r[1]), bool(r[2])) for r in groups] == [
            (group.id, date(2025, 9, 8), True)
        ]
        assert sorted((rd.uuid(r[0]), r[1]) for r in staff) == sorted(
            (row[0], row[1]) for row in conn.execute(in_list).all()
        )
        assert {rd.uuid(r[0]) for r in staff} == {ada.id, bea.id}
    # A different value for the same kept statement is bound afresh, not taken from the first call.
    groups, _ = fetch.fetch_all(conn, (by_name, in_list), {"name": "No such group"}, reuse=True)
    assert groups == []


def test_each_statement_is_seen_by_sqlalchemys_events(session: Session, connection: Connection) -> None:
    by_name, in_list = _statements()
    conn = session.connection()  # (the test harness's savepoint is opened here, before counting)
    with count_statements(connection.engine, savepoints=True) as seen:
        fetch.fetch_all(conn, (by_name, in_list, by_name), {"name": "x"})
    assert len(seen) == 3
    assert "online_group" in seen[0]
    assert "staff" in seen[1]


def test_a_list_parameter_is_refused_rather_than_bound_wrongly(session: Session) -> None:
    statement = sa.select(GROUP.c.id).where(GROUP.c.name.in_(sa.bindparam("names", expanding=True)))
    with pytest.raises(ValueError, match="names"):
        fetch.fetch_all(session.connection(), (statement,), {"names": ["a", "b"]})


def test_a_driver_error_is_raised_as_sqlalchemys_exception(connection: Connection) -> None:
    missing = sa.select(sa.table("no_such_table", sa.column("x")))
    nested = connection.begin_nested()
    with pytest.raises(sa.exc.DBAPIError) as caught:
        fetch.fetch_all(connection, (sa.select(GROUP.c.id), missing), {})
    nested.rollback()
    assert "no_such_table" in str(caught.value)


@pytest.mark.parametrize(
    ("stamp", "day"),
    [
        # 23:30 UTC in British summer time is 00:30 the next day in London: the organisation's day.
        (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), date(2026, 7, 2)),
        # In winter London is on UTC.
        (datetime(2026, 3, 9, 23, 30, tzinfo=UTC), date(2026, 3, 9)),
    ],
)
def test_a_timestamp_is_read_as_the_organisations_day_whatever_the_sessions_time_zone(
    session: Session, connection: Connection, stamp: datetime, day: date
) -> None:
    incident = make_incident(session, make_group(session), make_staff(session), created_at=stamp)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        # Auckland is a day ahead of both: the driver's answer must not decide the day.
        conn.exec_driver_sql("SET LOCAL TIME ZONE 'Pacific/Auckland'")
    statement = sa.select(INCIDENT.c.created_at).where(INCIDENT.c.id == sa.bindparam("id", type_=sa.Uuid()))
    [[row]] = fetch.fetch_all(conn, (statement,), {"id": incident.id})
    assert fetch.reader(conn).org_day(row[0]) == day


def test_ids_come_back_as_text_and_read_as_the_same_uuid(session: Session) -> None:
    """Ids are left as the driver's text (never a UUID per row); the reader and `uuid_of`, which findings use,
    make the same UUID of either driver's form, and the session's own reads still get UUIDs."""
    group = make_group(session)
    session.flush()
    conn = session.connection()
    statement = sa.select(GROUP.c.id).where(GROUP.c.id == sa.bindparam("id", type_=sa.Uuid()))
    [[(raw,)]] = fetch.fetch_all(conn, (statement,), {"id": group.id})
    assert isinstance(raw, str)
    assert fetch.reader(conn).uuid(raw) == uuid_of(raw) == group.id
    assert uuid_of(group.id.hex) == uuid_of(str(group.id)) == uuid_of(group.id) == group.id
    assert conn.execute(statement, {"id": group.id}).scalar_one() == group.id


def test_a_loaded_participants_raw_id_is_sqlites_hex_on_both_databases(session: Session) -> None:
    """The readers of `ParticipantFacts.raw_id` take 32 hex digits: psycopg's hyphens are stripped."""
    group = make_group(session)
    child = make_participant(session)
    make_membership(session, group, participant=child)
    session.flush()
    snapshot, _ = load_group(session=session, group_id=group.id, as_of=group.started_on)
    [(_, participant)] = snapshot.current_participants()
    assert participant.raw_id == child.id.hex
    assert participant.id == child.id


def test_early_makes_a_statements_answer_in_place_of_its_rows_before_the_later_are_read(
    session: Session,
) -> None:
    make_group(session, name="Early group")
    make_staff(session, full_name="Ada Fetch")
    session.flush()
    by_name, in_list = _statements()
    seen: list[str] = []

    def first(rows: list[fetch.Row]) -> int:
        seen.append(f"first {len(rows)}")
        return len(rows)

    def second(rows: list[fetch.Row]) -> str:
        seen.append("second")
        return "made"

    conn = session.connection()
    answers = fetch.fetch_all(
        conn, (by_name, in_list, by_name), {"name": "Early group"}, early={0: first, 1: second}
    )
    assert answers[:2] == [1, "made"]
    assert len(answers[2]) == 1
    assert seen == ["first 1", "second"]
    # A statement not sent: its answer is made of no rows, in its place.
    sent = fetch.fetch_sent(
        conn, (by_name, fetch.NOTHING, in_list), {"name": "Early group"}, False, early={1: first}
    )
    assert sent[1] == 0
    assert len(sent[0]) == 1
    assert len(sent[2]) == 1


def test_early_runs_while_the_database_works_out_the_statements_after(session: Session) -> None:
    """On PostgreSQL the statements go in one pipeline: what `early` makes of the first's rows is made while
    the server is still running the next (seen from another connection, not timed)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        pytest.skip("PostgreSQL: SQLite runs each statement when its rows are read")
    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    quick, slow = sa.select(sa.literal(1)), sa.select(sa.func.pg_sleep(2))
    observed: list[Any] = []

    def look(rows: list[fetch.Row]) -> list[fetch.Row]:
        with session.get_bind().engine.connect() as other:
            for _ in range(50):  # the sleep's statement starts at once: wait for it to show as begun
                query = other.exec_driver_sql(
                    "SELECT query FROM pg_stat_activity WHERE pid = %(pid)s AND state = 'active'",
                    {"pid": pid},
                ).scalar()
                if query and "pg_sleep" in query:
                    break
                other.exec_driver_sql("SELECT pg_sleep(0.02)")
            observed.append(query)
        return rows

    fetch.fetch_all(conn, (quick, slow), {}, early={0: look})
    assert observed
    assert "pg_sleep" in observed[0]
