"""Attacks on "a write about one young person moves only the groups that person is in"
(api/compliance/people.py, api/facts.py's `person_column`): writes a careless engineer, a CRM push or a
concurrent transaction could make, each followed by every cached answer checked against a fresh evaluation.
Those that once served a stale answer are kept as regression tests, with the path they took."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from api import clock, facts, facts_people
from api.auth.roles import Role
from api.compliance import cache
from api.compliance.queries import CONSENT, PARTICIPANT
from api.consents.models import Consent, ConsentKind, GivenBy
from api.memberships.models import Membership
from api.participants.models import Participant
from tests.kit.auth import Actor, make_actor
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.databases import BACKEND, engine_for, throwaway_database
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff
from tests.test_compliance_cache import fresh, served
from tests.test_people_cache import Scene, _born, _consented, _counters, _paths, _scene


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _every_path(s: Scene, caller: Actor) -> list[tuple[str, dict[str, str]]]:
    """`test_people_cache`'s answers, the organisation report's CSV and the dashboard's group pages too."""
    csv = {**caller.headers, "Accept": "text/csv"}
    paths = [(p, caller.headers) for p in _paths(s, caller)]
    paths.append(("/api/v1/compliance", csv))
    if caller.role.value != "staff":
        paths += [(f"/dashboard/groups/{g.id}", caller.headers) for g in s.groups]
    return paths


def _answers(client: TestClient, s: Scene, callers: tuple[Actor, ...]) -> dict[tuple[str, str, str], bytes]:
    """Every answer served (from the cache where it stands), each checked against a fresh one."""
    found = {}
    for caller in callers:
        for path, headers in _every_path(s, caller):
            kept = served(client, path, headers)
            assert kept == fresh(client, path, headers), (caller.role, path, headers.get("Accept"))
            found[(str(caller.role), path, headers.get("Accept", ""))] = kept
    return found


def _attack(
    client: TestClient,
    session: Session,
    s: Scene,
    callers: tuple[Actor, ...],
    write: Callable[[], object],
    shows: int | None,
) -> None:
    """Warm every answer, write (committed), then check every answer against a fresh one; `shows`: the group
    (by index) whose coordinator's answer the write changes, so a missed invalidation cannot hide."""
    before = _answers(client, s, callers)
    write()
    session.commit()
    after = _answers(client, s, callers)
    if shows is not None:
        key = (str(callers[0].role), f"/api/v1/groups/{s.groups[shows].id}/compliance", "")
        assert after[key] != before[key]


def _insert(session: Session) -> Any:
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _row(session: Session, table: sa.Table, id_: uuid.UUID) -> dict[str, Any]:
    return dict(session.execute(sa.select(table).where(table.c.id == id_)).mappings().one())


# --- upserts: the row written is not the one the parameters name -------------------------------------------


def test_a_participant_upserted_by_external_id_with_a_new_id_moves_the_groups_of_the_row_it_updates(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """A bulk CRM upsert: INSERT … ON CONFLICT (external_id) DO UPDATE, each row with an id made for it. The
    parameters name the new id (in no group); the row updated is the existing young person's."""
    s = _scene(session, coordinator, staff_actor)

    def write() -> None:
        row = _row(session, PARTICIPANT, s.twice.id) | {"id": uuid.uuid4(), "date_of_birth": _born(30)}
        statement = _insert(session)(PARTICIPANT)
        statement = statement.on_conflict_do_update(
            index_elements=[PARTICIPANT.c.external_id],
            set_={"date_of_birth": statement.excluded.date_of_birth},
        )
        session.execute(statement, [row])

    _attack(client, session, s, (coordinator, trustee, staff_actor), write, shows=2)


def test_a_consent_upserted_by_id_moves_the_groups_of_its_own_young_person_not_of_the_one_named(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """INSERT … ON CONFLICT (id) DO UPDATE of a consent, the parameters naming another young person: the
    row updated (withdrawn) is the first one's."""
    s = _scene(session, coordinator, staff_actor)
    consent = session.exec(
        select(Consent).where(
            Consent.participant_id == s.twice.id, Consent.kind == ConsentKind.esafety_agreement
        )
    ).one()

    def write() -> None:
        row = _row(session, CONSENT, consent.id) | {
            "participant_id": s.loner.id,
            "withdrawn_on": clock.today() - timedelta(days=1),
        }
        statement = _insert(session)(CONSENT)
        statement = statement.on_conflict_do_update(
            index_elements=[CONSENT.c.id], set_={"withdrawn_on": statement.excluded.withdrawn_on}
        )
        session.execute(statement, [row])

    _attack(client, session, s, (coordinator, trustee, staff_actor), write, shows=2)


# --- raw SQL the hooks must see as a write -----------------------------------------------------------------


def test_raw_sql_given_result_columns_is_a_write(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """`text("UPDATE … RETURNING …").columns(…)` is a `TextualSelect`, not a `TextClause`."""
    s = _scene(session, coordinator, staff_actor)

    def write() -> None:
        statement = sa.text(
            "UPDATE participant SET date_of_birth = :born WHERE external_id = :external RETURNING id"
        ).columns(sa.column("id"))
        session.execute(statement, {"born": _born(30), "external": s.twice.external_id}).all()

    _attack(client, session, s, (coordinator, trustee, staff_actor), write, shows=2)


def test_raw_sql_mapped_to_entities_is_a_write(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """`select(Participant).from_statement(text("UPDATE … RETURNING *"))`: the ORM's way to load the rows a
    raw UPDATE returned (a `FromStatement`, neither a `TextClause` nor an UPDATE to the hooks)."""
    s = _scene(session, coordinator, staff_actor)

    def write() -> None:
        statement = select(Participant).from_statement(
            sa.text("UPDATE participant SET date_of_birth = :born WHERE external_id = :external RETURNING *")
        )
        session.execute(statement, {"born": _born(30), "external": s.twice.external_id}).all()

    _attack(client, session, s, (coordinator, trustee, staff_actor), write, shows=2)


# --- writes that pass (regression tests) ------------------------------------------------------------------


def test_core_updates_naming_no_id(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """By another column, with no WHERE, by raw SQL, and an ORM-enabled UPDATE of the entity."""
    s = _scene(session, coordinator, staff_actor)
    callers = (coordinator, trustee, staff_actor)
    by_external = sa.update(PARTICIPANT).where(PARTICIPANT.c.external_id == s.twice.external_id)
    _attack(
        client, session, s, callers, lambda: session.execute(by_external.values(date_of_birth=_born(30))), 2
    )
    every = sa.update(CONSENT).values(withdrawn_on=clock.today() - timedelta(days=1))
    _attack(client, session, s, callers, lambda: session.execute(every), 0)
    text = sa.text("update participant set date_of_birth = :born where external_id = :external")
    _attack(
        client,
        session,
        s,
        callers,
        lambda: session.execute(text, {"born": _born(12), "external": s.young.external_id}),
        5,
    )
    orm = sa.update(Participant).where(sa.literal_column("full_name") == s.w.child.full_name)
    _attack(client, session, s, callers, lambda: session.execute(orm.values(date_of_birth=_born(40))), 0)


def test_consents_inserted_many_at_once_with_and_without_named_scopes(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    s = _scene(session, coordinator, staff_actor)
    callers = (coordinator, trustee, staff_actor)
    base = _row(session, CONSENT, make_consent(session, s.loner, ConsentKind.esafety_agreement).id)
    given = clock.today() - timedelta(days=3)

    def rows(*people: Participant) -> list[dict[str, Any]]:
        return [base | {"id": uuid.uuid4(), "participant_id": p.id, "given_on": given} for p in people]

    # Executemany: each row names its young person.
    _attack(client, session, s, callers, lambda: session.execute(sa.insert(CONSENT), rows(s.young)), 5)
    # One statement with many VALUES rows and the scopes named by hand (a group it does not concern).
    many = (
        sa.insert(CONSENT)
        .values(rows(s.young, s.twice))
        .execution_options(**{facts.FACTS_SCOPES: [facts.scope_of(s.groups[0].id)]})
    )
    _attack(client, session, s, callers, lambda: session.execute(many), None)


def test_a_young_person_whose_only_membership_starts_later_or_ended(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """In the forecast's window (a future `as_of` is refused), not in today's answers."""
    s = _scene(session, coordinator, staff_actor)
    later = make_participant(session, date_of_birth=_born(15), external_id="crm-later")
    _consented(session, later)
    make_membership(session, s.groups[6], participant=later, started_on=clock.today() + timedelta(days=10))
    session.commit()
    callers = (coordinator, trustee, staff_actor)

    def write() -> None:
        later.date_of_birth = _born(30)
        session.add(later)
        for consent in session.exec(select(Consent).where(Consent.participant_id == later.id)):
            consent.withdrawn_on = clock.today() + timedelta(days=2)
            session.add(consent)

    _attack(client, session, s, callers, write, None)


def test_a_membership_made_and_the_date_of_birth_changed_in_one_transaction(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    s = _scene(session, coordinator, staff_actor)

    def write() -> None:
        make_membership(session, s.groups[6], participant=s.loner)  # commits: a savepoint here
        s.loner.date_of_birth = _born(30)
        session.add(s.loner)

    _attack(client, session, s, (coordinator, trustee, staff_actor), write, None)
    # And the other order, a new person, in one commit.
    child = Participant(
        full_name="New", date_of_birth=_born(15), carer_name="C", joined_on=clock.today() - timedelta(days=5)
    )

    def both() -> None:
        session.add(child)
        session.flush()
        make_membership(session, s.groups[6], participant=child)

    _attack(client, session, s, (coordinator, trustee, staff_actor), both, None)


def test_midnight_after_a_write(fixed_clock: FixedClock, client: TestClient, session: Session) -> None:
    """A consent withdrawn from midnight, written at 23:50 in London, read at 00:05."""
    fixed_clock.set(datetime(2026, 7, 2, 22, 50, tzinfo=UTC))
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    trustee, staff_actor = make_actor(session, Role.trustee), make_actor(session, Role.staff)
    s = _scene(session, coordinator, staff_actor)
    callers = (coordinator, trustee, staff_actor)
    consent = session.exec(
        select(Consent).where(Consent.participant_id == s.w.child.id, Consent.kind == ConsentKind.image_use)
    ).one()

    def write() -> None:
        consent.withdrawn_on = clock.today() + timedelta(days=1)
        session.add(consent)

    _attack(client, session, s, callers, write, None)
    fixed_clock.advance(minutes=15)
    _answers(client, s, callers)


def test_the_people_scope_is_read_with_every_group(session: Session) -> None:
    """The young people's counter is among those a many-group answer stands on (`READ_GROUPS`) and a group's
    (`READ`), so the organisation's own findings and the members kept across a membership write see it."""
    group = make_compliant_group(session, make_staff(session, is_esafety_coordinator=True))
    child = make_participant(session)
    session.commit()
    before = _counters(session)
    child.full_name = "Someone Else"
    session.add(child)
    session.commit()
    after = _counters(session)
    assert before.get(facts_people.PEOPLE) != after[facts_people.PEOPLE]
    scopes = {str(r[0]) for r in session.execute(facts.READ_GROUPS)}
    assert facts_people.PEOPLE in scopes
    rows = session.execute(facts.READ, facts.params_of(group.id)).all()
    assert facts_people.people_of(rows) == after[facts_people.PEOPLE]


# --- concurrent transactions (PostgreSQL) ----------------------------------------------------------------


def _two_groups(engine: sa.Engine) -> tuple[uuid.UUID, uuid.UUID, Participant, Participant]:
    with Session(engine, expire_on_commit=False) as setup:
        coordinator = make_staff(setup, is_esafety_coordinator=True)
        first, second = (make_compliant_group(setup, coordinator) for _ in range(2))
        one, other = make_participant(setup), make_participant(setup)
        make_membership(setup, first, participant=one)
        make_membership(setup, second, participant=other)
        for p in (one, other):
            make_consent(setup, p, ConsentKind.image_use, given_on=date(2025, 1, 10))
        return first.id, second.id, one, other


def _counter(engine: sa.Engine, scope: str) -> int:
    with Session(engine) as reader:
        return _counters(reader).get(scope, 0)


def _answer_counters(engine: sa.Engine, group: uuid.UUID) -> tuple[int, int]:
    with Session(engine) as reader:
        found = _counters(reader)
    return found.get(facts.scope_of(group), 0), found.get(facts.ORG, 0)


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: two writers at once (SQLite runs one)")
def test_a_core_update_by_where_moves_a_young_person_whose_row_it_reached_after_its_people_were_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A changes the date of birth of everyone who joined before a day (a Core UPDATE by WHERE): its hook
    reads whom the WHERE picks, then the UPDATE runs. B moves the other young person's joining day back, to
    match the WHERE, and commits in between: under READ COMMITTED the UPDATE sees that row and changes it
    too. A's commit must move the other young person's group, or a reader who worked that group out after
    B's commit, with the old date of birth, keeps it (it moves the organisation's: the UPDATE reached more
    rows than its hook picked)."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        _first, second, one, other = _two_groups(engine)
        cutoff = date(2020, 1, 1)
        with Session(engine) as setup:
            setup.execute(
                sa.update(PARTICIPANT).where(PARTICIPANT.c.id == one.id).values(joined_on=date(2019, 1, 1))
            )
            setup.commit()
        real = facts_people.people_of_statement
        after_b: list[tuple[int, int]] = []

        def racing(state: Any, table: sa.Table, column: str) -> set[uuid.UUID] | None:
            found = real(state, table, column)
            if after_b or state.session is not racer[0]:
                return found
            with Session(engine) as b:  # commits between A's read of its people and its UPDATE
                back = sa.update(PARTICIPANT).where(PARTICIPANT.c.id == other.id)
                b.execute(back.values(joined_on=date(2019, 6, 1)))
                b.commit()
            after_b.append(_answer_counters(engine, second))
            return found

        racer: list[Session] = []
        monkeypatch.setattr("api.facts.people_of_statement", racing)
        with Session(engine) as a:
            racer.append(a)
            aged: Any = a.execute(
                sa.update(PARTICIPANT).where(PARTICIPANT.c.joined_on < cutoff).values(date_of_birth=_born(30))
            )
            assert aged.rowcount == 2  # both young people: the other's row reached after B
            a.commit()
        assert after_b
        # Either moved: the group's answer is kept under both.
        moved = _answer_counters(engine, second)
        assert moved[0] != after_b[0][0] or moved[1] != after_b[0][1]


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: two writers at once (SQLite runs one)")
def test_a_consent_inserted_while_a_membership_is_being_made_moves_the_new_group() -> None:
    """B makes a young person a member of a second group and holds its commit; A pushes a consent for them
    (its flush locks their record, so waits for B's share of its key). A's commit must move the second
    group: a reader who worked it out between B's commit and A's, without the consent, is not served it."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        _first, second, one, _other = _two_groups(engine)
        a, b = Session(engine), Session(engine)
        try:
            b.add(Membership(group_id=second, participant_id=one.id, started_on=clock.today()))
            b.flush()

            def push() -> None:
                a.add(_consent(one))
                a.commit()

            committing = threading.Thread(target=push)
            committing.start()
            committing.join(timeout=1)
            assert committing.is_alive()  # A waits for B
            b.commit()
            moved_by_b = _counter(engine, facts.scope_of(second))
            committing.join(timeout=10)
            assert not committing.is_alive()
            assert _counter(engine, facts.scope_of(second)) != moved_by_b
        finally:
            a.close()
            b.close()


def _consent(p: Participant) -> Consent:
    return Consent(
        participant_id=p.id,
        kind=ConsentKind.esafety_agreement,
        purposes=[],
        given_by=GivenBy.parent_carer,
        given_by_name="A Carer",
        given_on=date(2025, 2, 1),
    )


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: an UPDATE in a WITH of a SELECT")
def test_an_update_in_a_select_s_with_is_a_write(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """`select(update(...).returning(...).cte())`: a data-modifying WITH, a SELECT to the hooks (api/db.py
    marks its connection)."""
    s = _scene(session, coordinator, staff_actor)

    def write() -> None:
        aged = (
            sa.update(PARTICIPANT)
            .where(PARTICIPANT.c.external_id == s.twice.external_id)
            .values(date_of_birth=_born(30))
            .returning(PARTICIPANT.c.id)
            .cte("aged")
        )
        session.execute(sa.select(aged.c.id)).all()

    _attack(client, session, s, (coordinator, trustee, staff_actor), write, shows=2)


def test_a_consent_pushed_for_a_young_person_who_does_not_exist_writes_nothing(
    client: TestClient,
    session: Session,
    coordinator: Actor,
    trustee: Actor,
    staff_actor: Actor,
    integration: Actor,
) -> None:
    """By an unknown id and an unknown external id: refused, no counter moves, every answer stands."""
    s = _scene(session, coordinator, staff_actor)
    before = _answers(client, s, (coordinator, trustee, staff_actor))
    counters = _counters(session)
    record = {
        "kind": "esafety_agreement",
        "purposes": [],
        "given_by": "parent_carer",
        "given_by_name": "A Carer",
        "given_on": str(clock.today() - timedelta(days=5)),
    }
    records = [
        record | {"external_id": "crm-c-1", "participant_id": str(uuid.uuid4())},
        record | {"external_id": "crm-c-2", "participant_external_id": "crm-nobody-yet"},
    ]
    r = client.post("/api/v1/sync/consents", json={"records": records}, headers=integration.headers)
    assert r.status_code in (200, 207), r.text
    assert [x["status"] for x in r.json()["results"]] == ["rejected", "rejected"], r.text
    assert _counters(session) == counters
    assert _answers(client, s, (coordinator, trustee, staff_actor)) == before
