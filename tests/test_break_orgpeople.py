"""Attacks on the organisation report's members kept across a write to the organisation's own tables
(api/compliance/org_people.py): writes to memberships, young people or consents that a careless engineer
could send through the session, each followed by an organisation write (so that the kept members are what
the next report stands on) and every caller's report checked against a fresh evaluation. Each once served a
stale report: the hooks moved no counter (a Core UPDATE whose SET came in its parameters beside a
bookkeeping column, a DDL element carrying SQL), or the wrong ones (PostgreSQL: an UPDATE whose WHERE reads
another table, which a concurrent write changed between the rows picked and the rows written)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api import clock, facts, facts_people
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.compliance import cache, loading, org_cache, org_people
from api.compliance.queries import GROUP, MEMBERSHIP, PARTICIPANT
from api.consents.models import Consent, ConsentKind
from api.db import may_write, utcnow
from api.facts_sql import statement_writes
from api.memberships.models import Membership
from api.participants.models import Participant
from tests.kit.auth import Actor, make_user
from tests.kit.compliance import make_compliant_group
from tests.kit.databases import BACKEND, engine_for, throwaway_database
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff
from tests.test_compliance_cache import World, fresh, served
from tests.test_org_people import (
    REPORT,
    _organisation_write,
    _report,
    _world,
    check_member_write,
)
from tests.test_org_report_cache import raced_read
from tests.test_people_cache import _born


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _ddl(sql: str) -> Any:
    """SQL carried by a DDL element (SQLAlchemy types it loosely)."""
    return sa.schema.DDL(sql)  # type: ignore[no-untyped-call]


def _id(session: Session, value: uuid.UUID) -> object:
    """An id as raw SQL binds it on this database (SQLite keeps 32 hex digits)."""
    return value.hex if session.get_bind().dialect.name == "sqlite" else value


# --- a Core UPDATE whose SET is in its parameters, beside a bookkeeping column ------------------------------
# `.values()` names a bookkeeping column alone (ignored: `crud` claims a version so), and the change itself
# comes in the execution's parameters, which the SET takes too: the hook read `.values()` alone.


def _consent_withdrawn_by_parameters(session: Session, w: World) -> None:
    session.execute(
        sa.update(Consent)
        .where(Consent.participant_id == w.child.id, Consent.kind == ConsentKind.image_use)  # type: ignore[arg-type]
        .values(version=Consent.version + 1),
        {"withdrawn_on": clock.today(), "withdrawal_reason": "asked"},
    )
    session.commit()


def _membership_ended_by_parameters(session: Session, w: World) -> None:
    session.execute(
        sa.update(Membership)
        .where(Membership.group_id == w.group.id, Membership.participant_id == w.child.id)  # type: ignore[arg-type]
        .values(version=Membership.version + 1),
        {"ended_on": clock.today()},
    )
    session.commit()


def _date_of_birth_by_parameters(session: Session, w: World) -> None:
    session.execute(
        sa.update(Participant).where(Participant.id == w.child.id).values(updated_at=utcnow()),  # type: ignore[arg-type]
        {"date_of_birth": _born(30)},
    )
    session.commit()


# --- SQL carried by a DDL element through the session: neither DML nor text to the hooks --------------------


def _memberships_ended_by_ddl(session: Session, w: World) -> None:
    day = clock.today().isoformat()
    session.execute(_ddl(f"UPDATE membership SET ended_on = '{day}' WHERE participant_id IS NOT NULL"))
    session.commit()


def _date_of_birth_by_ddl(session: Session, w: World) -> None:
    who = _id(session, w.child.id)
    born = _born(30).isoformat()
    quoted = f"'{who}'" if isinstance(who, str) else f"'{who}'::uuid"
    session.execute(_ddl(f"UPDATE participant SET date_of_birth = '{born}' WHERE id = {quoted}"))
    session.commit()


def _consent_withdrawn_naming_no_scope(session: Session, w: World) -> None:
    # The scopes named worked out from rows that turned out empty (the young people's groups, say, read
    # before their memberships were made): an empty naming named nothing, and nothing moved.
    withdraw = (
        sa.update(Consent)
        .where(Consent.participant_id == w.child.id, Consent.kind == ConsentKind.image_use)  # type: ignore[arg-type]
        .values(withdrawn_on=clock.today(), withdrawal_reason="asked")
    )
    session.execute(withdraw.execution_options(**{facts.FACTS_SCOPES: []}))
    session.commit()


HIDDEN_WRITES: dict[str, Callable[[Session, World], object]] = {
    "consent withdrawn (no scope named)": _consent_withdrawn_naming_no_scope,
    "consent withdrawn (SET in the parameters)": _consent_withdrawn_by_parameters,
    "membership ended (SET in the parameters)": _membership_ended_by_parameters,
    "date of birth (SET in the parameters)": _date_of_birth_by_parameters,
    "memberships ended (DDL element)": _memberships_ended_by_ddl,
    "date of birth (DDL element)": _date_of_birth_by_ddl,
}


def _report_bytes(engine: sa.Engine, reach: Reach) -> bytes:
    """The coordinator's organisation report through the cache, in a session of its own."""
    with Session(engine) as reader:
        return orjson.dumps(org_cache.organisation_report(session=reader, reach=reach, as_of=clock.today()))


@pytest.mark.parametrize("write", sorted(HIDDEN_WRITES))
def test_a_write_to_the_members_the_hooks_did_not_see_then_an_organisation_write(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor, write: str
) -> None:
    """The write moves a counter the kept members stand on, and after the organisation write every caller's
    report (and its CSV) is the fresh one, the write shown."""
    callers = (coordinator, trustee, staff_actor)
    check_member_write(client, session, callers, HIDDEN_WRITES[write], write, shown=True)


def test_a_bookkeeping_update_alone_still_moves_nothing(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    """The fix keeps what the ignored columns are for: a version claimed by a Core UPDATE of it alone (as
    `crud` claims one) leaves every counter, and the report's members kept stand."""
    w = _world(session, coordinator, staff_actor)
    _report(session, client, coordinator)
    counters = cache.read_groups(session)
    session.rollback()
    session.execute(
        sa.update(Membership)
        .where(Membership.participant_id == w.child.id)  # type: ignore[arg-type]
        .values(version=Membership.version + 1)
    )
    session.commit()
    assert cache.read_groups(session).every == counters.every
    session.rollback()
    _organisation_write(session, w)
    after, read = _report(session, client, coordinator)
    assert read == []
    assert after == fresh(client, REPORT, coordinator.headers)


@pytest.mark.parametrize(
    ("statement", "writes"),
    [
        (sa.select(MEMBERSHIP.c.id), False),
        (sa.union(sa.select(MEMBERSHIP.c.id), sa.select(PARTICIPANT.c.id)), False),
        (sa.text("SELECT 1"), False),
        (sa.text("SELECT id FROM membership").columns(sa.column("id")), False),
        (select(Membership).from_statement(sa.select(MEMBERSHIP)), False),
        (sa.text("UPDATE membership SET ended_on = NULL"), True),
        (_ddl("UPDATE membership SET ended_on = NULL"), True),
        (_ddl("SELECT 1"), True),  # DDL is run as it is, never fetched: nobody sends a read so
    ],
    ids=["select", "union", "text read", "text columns", "from_statement", "text write", "DDL write", "DDL"],
)
def test_what_the_session_runs_is_a_write_unless_it_is_a_read(statement: Any, writes: bool) -> None:
    assert statement_writes(statement) is writes


# --- PostgreSQL: a concurrent write between the rows an UPDATE picks and those it writes --------------------


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: two writers at once (SQLite runs one)")
def test_an_update_whose_where_reads_another_table_raced_by_a_membership_move(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ages every young member of the first group (a Core UPDATE of `participant` whose WHERE reads the
    memberships): its hook picks whom the WHERE names (one), then B moves one to a third group and makes the
    other a member of the first, and commits; a reader works the organisation report out after B (every line
    kept under B's counters, the other's old date of birth in the first group's). Under READ COMMITTED A's
    UPDATE reads the memberships afresh and ages the other, as many rows as it picked: unless A moves the
    first group's counter (or the organisation's), the first group's line stays as the reader kept it."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            # The first group's only young member is whom A picks: a compliant group's own would keep its
            # counter moving whoever else A reaches.
            first = make_group(setup)
            make_membership(setup, first, staff=coordinator)
            second, third = (make_compliant_group(setup, coordinator) for _ in range(2))
            one, other = make_participant(setup), make_participant(setup)
            make_membership(setup, first, participant=one)
            make_membership(setup, second, participant=other)
            reach = Reach.of(user_principal(make_user(setup, coordinator, Role.coordinator)))

        report = functools.partial(_report_bytes, engine, reach)

        real = facts_people.people_of_statement
        raced: list[bytes] = []

        def racing(state: Any, table: sa.Table, column: str) -> set[uuid.UUID] | None:
            found = real(state, table, column)
            if raced:
                return found
            writes = may_write.set(True)
            with Session(engine) as b:  # commits between A's pick and its UPDATE
                b.execute(
                    sa.update(MEMBERSHIP)
                    .where(MEMBERSHIP.c.participant_id == one.id)
                    .values(group_id=third.id)
                )
                make_membership(b, first, participant=other)
                b.commit()
            may_write.reset(writes)
            raced.append(report())
            return found

        token = may_write.set(False)
        try:
            report()
            monkeypatch.setattr("api.facts.people_of_statement", racing)
            writes = may_write.set(True)
            with Session(engine) as a:
                members_of_first = sa.select(MEMBERSHIP.c.participant_id).where(
                    MEMBERSHIP.c.group_id == first.id
                )
                aged: Any = a.execute(
                    sa.update(PARTICIPANT)
                    .where(PARTICIPANT.c.id.in_(members_of_first))
                    .values(date_of_birth=_born(30))
                )
                assert aged.rowcount == 1  # the other, as many as were picked (one)
                a.commit()
            may_write.reset(writes)
            monkeypatch.setattr("api.facts.people_of_statement", real)
            after = report()
            with cache.disabled():
                truth = report()
        finally:
            may_write.reset(token)
        assert raced
        assert truth != raced[0]  # the other aged in the first group shows
        assert after == truth


# --- an INSERT whose own values outweigh its parameters -------------------------------------------------


def test_an_insert_whose_own_values_outweigh_its_parameters_moves_the_group_it_writes_to(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """Two memberships inserted at once (Core, through the session), the parameters naming the world's group
    and the statement's own `.values()` another: run for many parameter sets, the statement's expression
    wins, so both young people (adults) join the other group. The hook read the parameters alone and moved
    the world's group: the other group's line, kept under its counter, stayed as it was."""
    w = _world(session, coordinator, staff_actor)
    template = session.exec(
        select(Membership).where(Membership.group_id == w.group.id, Membership.participant_id == w.child.id)
    ).one()
    other = session.exec(select(Membership.group_id).where(Membership.group_id != w.group.id)).first()
    assert other is not None
    adults = [make_participant(session, date_of_birth=_born(30)) for _ in range(2)]
    before = served(client, REPORT, coordinator.headers)
    row = {c.name: getattr(template, c.name) for c in MEMBERSHIP.columns}
    rows = [row | {"id": uuid.uuid4(), "participant_id": p.id} for p in adults]
    # The group by a statement of its own (as one looked up by name would be): an expression, not a value.
    other_group = sa.select(GROUP.c.id).where(GROUP.c.id == other).scalar_subquery()
    session.execute(sa.insert(MEMBERSHIP).values(group_id=other_group), rows)
    session.commit()
    joined = session.exec(
        select(Membership.group_id).where(col(Membership.participant_id).in_([p.id for p in adults]))
    ).all()
    session.rollback()
    assert set(joined) == {other}  # the statement's own value, not the parameters'
    after = served(client, REPORT, coordinator.headers)
    assert after == fresh(client, REPORT, coordinator.headers) != before
    for caller in (trustee, staff_actor):
        assert served(client, REPORT, caller.headers) == fresh(client, REPORT, caller.headers), caller.role


# --- a write committing between the counters and the load, over the members kept ---------------------------


def test_a_consent_withdrawn_between_the_counters_and_a_load_over_the_members_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After an organisation write the report's next load stands on the members kept; a consent withdrawn
    commits after that reader read the counters and before its load: it serves what the counters it read
    vouch for (the consent held), and files nothing under them that the next reader, whose counters the
    withdrawal moved, takes: the next report is the fresh one, the withdrawal shown."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            groups = [make_compliant_group(setup, coordinator) for _ in range(3)]
            child = setup.exec(
                select(Participant)
                .join_from(Participant, Membership)
                .where(Membership.group_id == groups[1].id)
            ).one()
            reach = Reach.of(user_principal(make_user(setup, coordinator, Role.coordinator)))

        def write(change: Callable[[Session], object]) -> None:
            writes = may_write.set(True)
            with Session(engine) as writer:
                change(writer)
                writer.commit()
            may_write.reset(writes)

        def phone(writer: Session) -> None:
            staff = writer.get(type(coordinator), coordinator.id)
            assert staff is not None
            staff.personal_phone = "07700 900123"
            writer.add(staff)

        def withdraw(writer: Session) -> None:
            writer.execute(
                sa.update(Consent)
                .where(Consent.participant_id == child.id, Consent.kind == ConsentKind.image_use)  # type: ignore[arg-type]
                .values(withdrawn_on=clock.today(), withdrawal_reason="asked")
            )

        report = functools.partial(_report_bytes, engine, reach)

        real = loading.load_active
        used: list[object] = []

        def racing(**kwargs: Any) -> Any:
            used.append(kwargs["people"])
            write(withdraw)
            return real(**kwargs)

        token = may_write.set(False)
        try:
            before = report()  # the members kept
            write(phone)  # every line missed: the next load stands on the members kept
            raced, after, truth = raced_read(monkeypatch, report, org_people, "load_active", racing)
        finally:
            may_write.reset(token)
        assert used
        assert used[0] is not None  # the raced load stood on the members kept
        assert raced == before  # what the counters it read vouch for
        assert after == truth != before
