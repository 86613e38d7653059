"""Attacks on the organisation report's members kept PER GROUP (api/compliance/org_people.py): a write, or two
at once, after which a group's members or their own facts changed while neither its counter nor
`facts.UNPLACED` moved, so that the report served from the members kept after an organisation write differs
from a fresh one. Those that broke it are kept as regression tests, with the path they took; the strongest
that did not are kept too, each failing if the guarantee broke."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api import clock, facts, facts_people
from api.compliance import cache
from api.compliance.queries import CONSENT, MEMBERSHIP
from api.consents.models import Consent, ConsentKind
from api.groups.models import GroupStatus
from api.memberships.models import Membership
from tests.kit.auth import Actor
from tests.kit.compliance import make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.databases import BACKEND, engine_for, throwaway_database
from tests.kit.statements import count_statements
from tests.test_break_people import _consent, _two_groups
from tests.test_compliance_cache import fresh, served
from tests.test_org_people import _members_read
from tests.test_people_cache import Scene, _counters, _scene

REPORT = "/api/v1/compliance"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _standing(engine: sa.Engine, group: uuid.UUID) -> tuple[int, int, int]:
    """What the group's kept answers stand on: its counter, the organisation's (its line) and `UNPLACED`'s
    (the members kept for the organisation report)."""
    with Session(engine) as reader:
        found = _counters(reader)
    return found.get(facts.scope_of(group), 0), found.get(facts.ORG, 0), found.get(facts.UNPLACED, 0)


def _versions(session: Session) -> dict[str, int]:
    """Every counter, read in the session's transaction (not rolled back first: that would expire its
    objects)."""
    rows = session.execute(sa.select(facts.FACTS_VERSION.c.scope, facts.FACTS_VERSION.c.version)).all()
    return {str(scope): int(version) for scope, version in rows}


def _current_members_of(group: uuid.UUID) -> sa.Select[Any]:
    m = MEMBERSHIP.c
    return sa.select(m.participant_id).where(m.group_id == group, m.ended_on.is_(None))


# --- a Core UPDATE whose WHERE reads another table (or a subquery) ------------------------------------------


# WHEREs reading other rows than those updated: a group's current members (another table), the newest
# consent given (a subquery of the same table), SQL text (anything).
OTHER_ROWS: dict[str, Callable[[], sa.ColumnElement[bool]]] = {
    "members of a group": lambda: CONSENT.c.participant_id.in_(_current_members_of(uuid.uuid4())),
    "the newest consent": lambda: (
        CONSENT.c.given_on == sa.select(sa.func.max(CONSENT.c.given_on)).scalar_subquery()
    ),
    "sql text": lambda: sa.and_(CONSENT.c.id == uuid.uuid4(), sa.text("1 = 1")),
}


@pytest.mark.parametrize("where", sorted(OTHER_ROWS))
def test_a_core_update_whose_where_reads_other_rows_moves_what_no_hook_can_place(
    session: Session, where: str
) -> None:
    """The hook reads whom an UPDATE by WHERE is about from the rows its WHERE picks, then runs it. Where the
    WHERE reads other rows than the ones it updates (here: which young people are a group's members, a
    subquery of memberships), those rows are not locked by the pick: another transaction may change them in
    between (below, on PostgreSQL), and the UPDATE reach other young people than those picked, as many of
    them. So such an UPDATE moves `facts.UNKNOWN`, as one whose people the hook cannot read."""
    before = _counters(session)
    session.execute(sa.update(CONSENT).where(OTHER_ROWS[where]()).values(withdrawn_on=clock.today()))
    session.commit()
    after = _counters(session)
    for scope in facts.UNKNOWN:
        assert after.get(scope) != before.get(scope), scope


def test_a_core_update_by_its_own_columns_alone_still_moves_only_its_people(session: Session) -> None:
    """The counterpart: an UPDATE whose WHERE reads the updated rows' own columns only keeps naming its
    young people (its picked rows are locked, so it reaches those and, if any more, more rows than picked)."""
    before = _counters(session)
    session.execute(sa.update(CONSENT).where(CONSENT.c.id == uuid.uuid4()).values(withdrawn_on=clock.today()))
    session.commit()
    after = _counters(session)
    assert after.get(facts.UNPLACED) == before.get(facts.UNPLACED)
    assert after.get(facts.ORG) == before.get(facts.ORG)


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: two writers at once (SQLite runs one)")
def test_a_core_update_of_a_group_s_members_consents_while_the_members_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A withdraws the consents of the first group's current members (a Core UPDATE whose WHERE is a
    subquery of memberships); its hook reads whom that picks (the first group's young person). B, in
    between, ends that young person's membership and makes the second group's young person a member of the
    first, and commits: under READ COMMITTED A's UPDATE then withdraws the second young person's consent,
    not the first's, as many rows as picked. The second group's members' facts changed: its counter, or the
    organisation's and `UNPLACED`, must move, or its line and the members kept for the organisation report
    (worked out after B, before A) are served stale."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        first, second, one, other = _two_groups(engine)
        real = facts_people.people_of_statement
        after_b: list[tuple[int, int, int]] = []
        racer: list[Session] = []

        def racing(state: Any, table: sa.Table, column: str) -> set[uuid.UUID] | None:
            found = real(state, table, column)
            if after_b or state.session is not racer[0]:
                return found
            with Session(engine) as b:  # commits between A's read of its people and its UPDATE
                ended = b.execute(
                    sa.select(Membership).where(col(Membership.participant_id) == one.id)
                ).scalar_one()
                ended.ended_on = clock.today()
                b.add(ended)
                started = clock.today() - timedelta(days=30)
                b.add(Membership(group_id=first, participant_id=other.id, started_on=started))
                b.commit()
            after_b.append(_standing(engine, second))
            return found

        monkeypatch.setattr("api.facts.people_of_statement", racing)
        with Session(engine) as a:
            racer.append(a)
            a.execute(
                sa.update(CONSENT)
                .where(CONSENT.c.participant_id.in_(_current_members_of(first)))
                .values(withdrawn_on=clock.today())
            )
            a.commit()
        assert after_b
        with Session(engine) as reader:
            withdrawn = reader.execute(
                sa.select(CONSENT.c.withdrawn_on).where(CONSENT.c.participant_id == other.id)
            ).scalar_one()
        assert withdrawn == clock.today()  # the second group's young person's consent: A reached it
        group, org, unplaced = _standing(engine, second)
        was_group, was_org, was_unplaced = after_b[0]
        assert group != was_group or (org != was_org and unplaced != was_unplaced)


# --- a group named by hand (`facts.touch`, `FACTS_SCOPES`) for a write to a young person's own facts -------


@pytest.mark.parametrize("how", ["touch", "facts_scopes"])
def test_a_young_person_s_consent_written_by_hand_with_one_of_their_groups_named(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor, how: str
) -> None:
    """A young person in groups 1 and 2 has their image consent withdrawn by a write the hooks cannot see,
    group 1 named by hand (`facts.touch`, or `FACTS_SCOPES` on the statement), as api/facts.py asks of such a
    write. That moves group 1's counters and the organisation's, not group 2's: group 2's members kept for
    the organisation report (under its counter and `UNPLACED`, not the organisation's) must not be served,
    once the organisation's counter has made every line miss."""
    s = _scene(session, coordinator, staff_actor)
    callers = (coordinator, trustee)
    csv = {**coordinator.headers, "Accept": "text/csv"}
    asked = [*((REPORT, c.headers) for c in callers), (REPORT, csv)]
    before = [served(client, path, headers) for path, headers in asked]  # the members kept
    withdraw = (
        sa.update(CONSENT)
        .where(CONSENT.c.participant_id == s.twice.id, CONSENT.c.kind == ConsentKind.image_use.value)
        .values(withdrawn_on=clock.today() - timedelta(days=2), withdrawal_reason="asked")
    )
    if how == "touch":
        session.connection().execute(withdraw)
        facts.touch(session, [s.groups[1].id])
    else:
        session.execute(withdraw.execution_options(**{facts.FACTS_SCOPES: [facts.scope_of(s.groups[1].id)]}))
    session.commit()
    truth = [fresh(client, path, headers) for path, headers in asked]
    assert truth != before  # the consent withdrawn shows in the report
    assert [served(client, path, headers) for path, headers in asked] == truth


# --- a membership moved to another group while a write about its young person commits (PostgreSQL) --------


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: two writers at once (SQLite runs one)")
def test_a_membership_moved_to_another_group_while_a_consent_of_its_young_person_commits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A records a consent for the first group's young person; at its commit it reads the groups they are in
    (the first). B moves their membership to the second group (its `group_id` changed: no share of the young
    person's key, so no wait for A's lock on their record) and commits before A does. A reader between the
    two commits keeps the second group's members, without A's consent, under the counter B moved; A's
    commit must move it again, or B must wait for A and move it after."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        first, second, one, _other = _two_groups(engine)
        with Session(engine) as setup:
            moved_id = setup.execute(
                sa.select(MEMBERSHIP.c.id).where(MEMBERSHIP.c.participant_id == one.id)
            ).scalar_one()
        real = facts_people.scopes_of_people
        a_committed: list[bool] = []
        after_b: list[tuple[int, bool]] = []

        def move() -> None:
            with Session(engine) as b:
                membership = b.get(Membership, moved_id)
                assert membership is not None
                assert membership.group_id == first
                membership.group_id = second
                b.add(membership)
                b.commit()
            after_b.append((_standing(engine, second)[0], bool(a_committed)))

        moving = threading.Thread(target=move)

        def racing(connection: sa.Connection, people: Any) -> set[str] | None:
            found = real(connection, people)
            if not moving.is_alive() and not after_b:  # B moves the membership after A read its groups
                moving.start()
                moving.join(timeout=2)
            return found

        monkeypatch.setattr("api.facts.scopes_of_people", racing)
        with Session(engine) as a:
            a.add(_consent(one))
            a.commit()
            a_committed.append(True)
        moving.join(timeout=10)
        assert not moving.is_alive()
        (b_moved, a_before_b), (now, _, _) = after_b[0], _standing(engine, second)
        assert a_before_b or now != b_moved


# --- writes the hooks place, then an organisation write: the members kept against fresh ---------------------


def _joined_and_consented(session: Session, s: Scene) -> None:
    """A young person joins a group and gives a consent in one transaction."""
    session.add(Membership(group_id=s.groups[6].id, participant_id=s.young.id, started_on=clock.today()))
    make_consent(session, s.young, ConsentKind.esafety_agreement, given_on=clock.today() - timedelta(days=1))


def _moved_between_groups(session: Session, s: Scene) -> None:
    """The young person in groups 1 and 2 has their membership of group 2 moved to group 6 (its group
    changed, through the ORM)."""
    moved = session.exec(
        select(Membership).where(
            col(Membership.participant_id) == s.twice.id, col(Membership.group_id) == s.groups[2].id
        )
    ).one()
    moved.group_id = s.groups[6].id
    session.add(moved)


def _staff_seat_to_young_person(session: Session, s: Scene) -> None:
    """A membership of a member of staff made the young person's (the row's person switched)."""
    seat = session.exec(
        select(Membership).where(
            col(Membership.group_id) == s.groups[6].id, col(Membership.staff_id).is_not(None)
        )
    ).first()
    assert seat is not None
    seat.staff_id, seat.participant_id = None, s.loner.id
    session.add(seat)


def _archived(session: Session, s: Scene) -> None:
    group = s.groups[5]
    group.archived_on = clock.today()
    group.status = GroupStatus.archived
    session.add(group)


def _new_group(session: Session, s: Scene) -> None:
    assert s.w.admin is not None
    group = make_compliant_group(session, s.w.admin)
    session.add(Membership(group_id=group.id, participant_id=s.twice.id, started_on=clock.today()))


def _most_groups(session: Session, s: Scene) -> None:
    """Every group's members changed but one's: the members kept are read again whole."""
    for group in s.groups[1:]:
        session.add(Membership(group_id=group.id, participant_id=s.loner.id, started_on=clock.today()))


def _born_with_an_organisation_write(session: Session, s: Scene) -> None:
    """A young person's date of birth changed in the same transaction as a member of staff's record."""
    s.twice.date_of_birth = clock.today().replace(year=clock.today().year - 9)
    s.w.admin.personal_phone = f"07700 9{uuid.uuid4().int % 100000:05d}"
    session.add_all([s.twice, s.w.admin])


PLACED = {
    "joined and consented at once": _joined_and_consented,
    "membership moved between groups": _moved_between_groups,
    "a member of staff's seat made a young person's": _staff_seat_to_young_person,
    "group archived": _archived,
    "new group with a member": _new_group,
    "most groups' members": _most_groups,
    "date of birth with an organisation write": _born_with_an_organisation_write,
}


@pytest.mark.parametrize(("name", "write"), list(PLACED.items()), ids=list(PLACED))
def test_after_a_placed_write_then_an_organisation_write_the_report_is_fresh(
    name: str,
    write: Callable[[Session, Scene], None],
    client: TestClient,
    session: Session,
    coordinator: Actor,
    staff_actor: Actor,
    trustee: Actor,
) -> None:
    """Each write the hooks place (a group's counters, their young people's groups'), then organisation
    writes: the members kept, for today and a past day, against a fresh report, for each kind of caller."""
    s = _scene(session, coordinator, staff_actor)
    csv = {**coordinator.headers, "Accept": "text/csv"}
    asked = [(REPORT, coordinator.headers), (REPORT, trustee.headers), (REPORT, csv)]
    asked.append((f"{REPORT}?as_of={clock.today() - timedelta(days=20)}", trustee.headers))
    for path, headers in asked:  # the members kept, for today and a past day
        served(client, path, headers)
    write(session, s)
    session.commit()
    for path, headers in asked:
        assert served(client, path, headers) == fresh(client, path, headers), (name, path)
    for rounds in range(2):  # an organisation write: every line misses, the members kept serve
        s.w.admin.personal_phone = f"07700 9{uuid.uuid4().int % 100000:05d}"
        session.add(s.w.admin)
        session.commit()
        with count_statements(session) as statements:
            first = served(client, REPORT, coordinator.headers)
        if rounds:  # the second: every group's members taken from those kept after the first
            assert _members_read(statements) == []
        assert first == fresh(client, REPORT, coordinator.headers), name
        for path, headers in asked:
            assert served(client, path, headers) == fresh(client, path, headers), (name, path)


# --- an INSERT that replaces the row it conflicts with (SQLite's INSERT OR REPLACE) -------------------------


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite: INSERT OR REPLACE (PostgreSQL has no such prefix)")
@pytest.mark.parametrize("table", ["membership", "consent"])
def test_an_insert_or_replace_moves_the_groups_of_the_row_it_replaces(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor, table: str
) -> None:
    """An INSERT OR REPLACE deletes the row it conflicts with (by id) and inserts its own: its parameters
    name the new row's group or young person, not the replaced row's. Here the young person in groups 1 and
    2 has their membership of group 2 replaced by one of group 6 (or their consent replaced by another young
    person's): group 2 must be read again, not served from the members kept after an organisation write."""
    s = _scene(session, coordinator, staff_actor)
    served(client, REPORT, coordinator.headers)  # the members kept
    if table == "membership":
        found = sa.select(MEMBERSHIP).where(
            MEMBERSHIP.c.participant_id == s.twice.id, MEMBERSHIP.c.group_id == s.groups[2].id
        )
        row = dict(session.execute(found).mappings().one()) | {"group_id": s.groups[6].id}
        statement = sa.insert(MEMBERSHIP).prefix_with("OR REPLACE")
    else:
        found = sa.select(CONSENT).where(
            CONSENT.c.participant_id == s.twice.id, CONSENT.c.kind == ConsentKind.image_use.value
        )
        row = dict(session.execute(found).mappings().one()) | {"participant_id": s.loner.id}
        statement = sa.insert(CONSENT).prefix_with("OR REPLACE")
    before = _counters(session)
    session.execute(statement, row)
    session.commit()
    after, left = _counters(session), facts.scope_of(s.groups[2].id)  # the young person left group 2's
    assert after[left] != before[left] or after[facts.UNPLACED] != before.get(facts.UNPLACED)
    s.w.admin.personal_phone = f"07700 9{uuid.uuid4().int % 100000:05d}"  # every line misses
    session.add(s.w.admin)
    session.commit()
    truth = fresh(client, REPORT, coordinator.headers)
    assert served(client, REPORT, coordinator.headers) == truth


# --- a row changed by another transaction since this session loaded it ------------------------------------


# PostgreSQL refuses any UPDATE of a consent but its withdrawal (a trigger): none moves to another person.
ONLY_WITHDRAWN = pytest.mark.skipif(BACKEND == "postgresql", reason="PostgreSQL: a consent is only withdrawn")


@pytest.mark.parametrize("table", ["membership", pytest.param("consent", marks=ONLY_WITHDRAWN)])
def test_a_row_moved_by_another_session_since_it_was_loaded_then_changed(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor, table: str
) -> None:
    """The app's sessions keep their objects' values across a commit (`expire_on_commit=False`). A loads a
    row (the membership of the young person in groups 1 and 2 of group 2; their image consent); B moves it
    (to group 6; to another young person, in group 5) and commits; a report is read (the members kept);
    then A changes the row through its object, whose group or young person is the one it loaded, and
    commits. The UPDATE (by id) lands in the row's group or young person of now: their group's counter, or
    `UNPLACED`, must move, or the members kept for it are served after an organisation write."""
    s = _scene(session, coordinator, staff_actor)
    if table == "membership":
        stale: Any = session.exec(
            select(Membership).where(
                col(Membership.participant_id) == s.twice.id, col(Membership.group_id) == s.groups[2].id
            )
        ).one()
        move = sa.update(MEMBERSHIP).values(group_id=s.groups[6].id)
        now_in = s.groups[6]
    else:
        stale = session.exec(
            select(Consent).where(
                col(Consent.participant_id) == s.twice.id, col(Consent.kind) == ConsentKind.image_use
            )
        ).one()
        move = sa.update(CONSENT).values(participant_id=s.young.id)
        now_in = s.groups[5]
    session.commit()
    # B's move, as a Core UPDATE of the table: it leaves A's object as loaded, as another session's would.
    session.execute(move.where(sa.column("id") == stale.id))
    session.commit()
    served(client, REPORT, coordinator.headers)  # the members kept, the row where B put it
    before = _versions(session)
    if table == "membership":
        stale.ended_on = clock.today()
    else:
        stale.withdrawn_on = clock.today()
    session.add(stale)
    session.commit()
    after, scope = _versions(session), facts.scope_of(now_in.id)
    assert after[scope] != before.get(scope) or after[facts.UNPLACED] != before.get(facts.UNPLACED)
    s.w.admin.personal_phone = f"07700 9{uuid.uuid4().int % 100000:05d}"  # every line misses
    session.add(s.w.admin)
    session.commit()
    assert served(client, REPORT, coordinator.headers) == fresh(client, REPORT, coordinator.headers)
