"""A breaker's tests of session 14's changes to the organisation report's cold path (issue 19): the members
kept bounded by a later day (`org_people._bounded`), the collector paused (api/gc_paused.py), a statement's
rows handed on early in the pipeline (`fetch`'s `early`), and staff snapshots read through `fetch`."""

from __future__ import annotations

import gc
import random
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api import clock
from api.auth.models import User
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.compliance import cache, fetch, org_people, service
from api.compliance.decoding import _declarations_by_staff, _staff_facts
from api.compliance.queries import (
    _STAFF_COLUMNS,
    DECLARATION,
    GROUP,
    MEMBERSHIP,
    STAFF,
    _current_on,
    _day,
    _declarations,
    _uuid,
)
from api.compliance.snapshot import GroupMembershipRef, StaffSnapshot, Thresholds
from api.compliance.staff_snapshots import staff_snapshots
from api.consents.models import Consent, ConsentKind
from api.groups.models import Group
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from tests.kit.auth import Actor, make_user, token_headers
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.databases import BACKEND, engine_for, throwaway_database
from tests.kit.declarations import make_declaration
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff
from tests.test_break_org_cache import ten_to_midnight
from tests.test_compliance_cache import fresh, served
from tests.test_org_people import REPORT, _organisation_write, _world


def _through_sqlalchemy(
    session: Session, as_of: date, thresholds: Thresholds, where: sa.ColumnElement[bool]
) -> list[StaffSnapshot]:
    """`staff_snapshots` as it read before it went through `fetch` (main at b6e42f8): SQLAlchemy's rows."""
    conn = session.connection()
    rows = conn.execute(sa.select(*_STAFF_COLUMNS).where(where).order_by(STAFF.c.full_name, STAFF.c.id)).all()
    refs: dict[uuid.UUID, list[GroupMembershipRef]] = defaultdict(list)
    staff_ids = sa.select(STAFF.c.id).where(where)
    m = MEMBERSHIP.c
    for r in conn.execute(
        sa.select(m.staff_id, m.group_id, GROUP.c.name, m.role, m.started_on, m.ended_on)
        .select_from(MEMBERSHIP.join(GROUP, GROUP.c.id == m.group_id))
        .where(m.staff_id.in_(staff_ids), _current_on(MEMBERSHIP, as_of))
        .order_by(GROUP.c.name, GROUP.c.id, m.id)
    ).all():
        refs[r[0]].append(GroupMembershipRef(r[1], r[2], str(r[3]), r[4], r[5]))
    declared = _declarations_by_staff(
        conn.execute(
            _declarations(DECLARATION.c.staff_id.in_(staff_ids)),
            {"as_of": as_of, "as_of_end": clock.start_of(as_of + timedelta(days=1))},
        ).all(),
        _uuid,
        _day,
    )
    return [
        StaffSnapshot(as_of, thresholds, f, tuple(refs.get(f.id, ())), None)
        for f in (_staff_facts(r, 0, declared.get(_uuid(r[0]), ())) for r in rows)
    ]


def test_staff_snapshots_through_fetch_are_those_sqlalchemy_read(session: Session) -> None:
    """Every member of staff's, and each one's alone, on several days: ids, days, roles, declarations, the
    order of groups and of staff; with no memberships, ended, future and archived-group memberships."""
    today = clock.today()
    thresholds = Thresholds()
    same_name = [make_staff(session, full_name="Sam Same") for _ in range(3)]  # ordered by id after name
    lonely = make_staff(session, left_on=today - timedelta(days=3), code_of_conduct_signed_on=None)
    archived = make_group(session, name="Zed", archived_on=today - timedelta(days=5))
    groups = [make_group(session, name=n) for n in ("Beta", "Alpha", "Alpha")]
    later, ended = make_group(session, name="Later"), make_group(session, name="Alpha")
    for i, s in enumerate(same_name):
        make_declaration(session, s, declared_on=today - timedelta(days=10 + i))
        make_declaration(session, s, declared_on=today - timedelta(days=1), read_policy=False)
        make_membership(session, archived, staff=s, role=MemberRole.admin)
        for g in groups:
            make_membership(session, g, staff=s, role=MemberRole.admin if i % 2 else MemberRole.member)
        make_membership(session, later, staff=s, started_on=today + timedelta(days=2))
        make_membership(
            session, ended, staff=s, started_on=today - timedelta(days=50), ended_on=today - timedelta(days=1)
        )
    session.commit()
    for as_of in (today, today - timedelta(days=1), today - timedelta(days=20), today + timedelta(days=3)):
        new = staff_snapshots(session, as_of, thresholds, None)
        assert new == _through_sqlalchemy(session, as_of, thresholds, sa.true()), as_of
        assert {s.staff.id for s in new} >= {lonely.id, *(s.id for s in same_name)}
        for s in (*same_name, lonely):
            where = STAFF.c.id == s.id
            one = staff_snapshots(session, as_of, thresholds, where)
            assert one == _through_sqlalchemy(session, as_of, thresholds, where), (as_of, s.full_name)
            assert len(one) == 1
    assert any(r.role == "admin" for s in new for r in s.memberships)


# Two statements the database answers, and one it refuses on either database (no such function).
_FINE = (sa.select(sa.literal(1)), sa.select(sa.literal(2)))
_REFUSED = sa.select(sa.func.no_such_function_brk14())


def _driver_idle(conn: sa.Connection) -> bool:
    """The driver's connection out of any pipeline and able to answer (PostgreSQL; SQLite: always)."""
    driver = conn.connection.driver_connection
    if isinstance(driver, psycopg.Connection):
        assert driver.pgconn.pipeline_status == 0
    return conn.exec_driver_sql("SELECT 41 + 1").scalar() == 42


def test_a_later_statement_refused_after_an_early_answer_is_sqlalchemys_error_and_the_connection_recovers(
    session: Session,
) -> None:
    """Whether or not `early` ran first (psycopg may read the refusal before the first statement's rows): the
    batch raises SQLAlchemy's error (a 503), and the connection answers again once its savepoint is undone."""
    conn = session.connection()
    for statements in ((*_FINE, _REFUSED), (_FINE[0], _REFUSED, _FINE[1])):
        savepoint = conn.begin_nested()
        with pytest.raises(sa.exc.DBAPIError):
            fetch.fetch_all(conn, statements, {}, early={0: len})
        savepoint.rollback()
        assert _driver_idle(conn)
    assert fetch.fetch_all(conn, _FINE, {}, early={1: len}) == [[(1,)], 1]


def test_an_early_function_raising_is_raised_as_it_is_and_leaves_the_connection_usable(
    session: Session,
) -> None:
    def broken(rows: list[fetch.Row]) -> Any:
        raise LookupError("an early function's own failure")

    conn = session.connection()
    for at in (0, 1):
        with pytest.raises(LookupError):
            fetch.fetch_all(conn, (*_FINE, *_FINE), {}, early={at: broken})
        # Nothing the database refused: the transaction goes on, the statements after answered or dropped.
        assert _driver_idle(conn)
        assert fetch.fetch_all(conn, _FINE, {}) == [[(1,)], [(2,)]]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.mark.skipif(BACKEND != "postgresql", reason="PostgreSQL: a statement reads what committed before it")
@pytest.mark.parametrize("when", ["before the horizon", "after the horizon"])
def test_a_kept_group_s_membership_ended_by_another_session_while_a_later_day_bounds_the_table(
    when: str, fixed_clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real commit, not a counter faked: on the day after the members were kept, another session ends a
    kept young person's membership that day while the first report of the day works out `HORIZON` (just
    before its statements, or just after them and before the counters are read again). The lines served are
    those of a fresh load read after the commit, and so are the next request's."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            groups = [make_compliant_group(setup, coordinator) for _ in range(4)]
            user = make_user(setup, coordinator, Role.coordinator)
            ended_id: uuid.UUID = setup.execute(
                sa.select(MEMBERSHIP.c.id).where(
                    MEMBERSHIP.c.group_id == groups[0].id, MEMBERSHIP.c.participant_id.is_not(None)
                )
            ).scalar_one()
        reach = Reach.of(user_principal(user))

        def report() -> list[service.GroupSummary]:
            with Session(engine) as s:
                lines, _, _ = org_people.active_lines(
                    session=s, reach=reach, as_of=clock.today(), platform=None, counters=cache.read_groups(s)
                )
                s.commit()
            return lines

        def fresh_lines() -> list[service.GroupSummary]:
            with Session(engine) as s:
                lines, _, _ = service.active_lines(session=s, reach=reach, as_of=clock.today(), platform=None)
            return lines

        def end_membership() -> None:
            with Session(engine) as other:
                membership = other.get(Membership, ended_id)
                assert membership is not None
                membership.ended_on = clock.today()
                other.add(membership)
                other.commit()

        report()
        fixed_clock.advance(days=1)
        real = fetch.fetch_all
        ended: list[bool] = []

        def racing(conn: sa.Connection, statements: Any, *args: Any, **kwargs: Any) -> Any:
            horizon = statements is org_people.HORIZON and not ended
            if horizon and when == "before the horizon":
                ended.append(True)
                writer = threading.Thread(target=end_membership)
                writer.start()
                writer.join(10)
            found = real(conn, statements, *args, **kwargs)
            if horizon and when == "after the horizon":
                ended.append(True)
                writer = threading.Thread(target=end_membership)
                writer.start()
                writer.join(10)
            return found

        monkeypatch.setattr(fetch, "fetch_all", racing)
        served = report()
        assert ended == [True]
        want = fresh_lines()
        assert served == want
        assert report() == want
        member_counts = [s for s in want if s.group_id == groups[0].id]
        assert len(member_counts) == 1


def test_a_report_whose_load_fails_answers_503_with_the_collector_back_on(
    client: TestClient,
    session: Session,
    coordinator: Actor,
    staff_actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database lost in the middle of the report's load (api/gc_paused.py holds the collector off around
    it): a 503 problem, and the collector running again after."""
    _world(session, coordinator, staff_actor)
    seen: list[bool] = []

    def lost(**_: Any) -> Any:
        seen.append(gc.isenabled())
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(org_people, "load_active", lost)
    was = gc.isenabled()
    gc.enable()
    try:
        r = client.get(REPORT, headers=coordinator.headers)
        assert (r.status_code, r.headers["content-type"]) == (503, "application/problem+json")
        assert seen == [False]
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


# --- writes, clock moves and reads in a seeded random order: every report served against a fresh one ---


class _Sequence:
    """One seeded run's world and its moves: each a write the hooks place, a clock move, or an organisation
    write (which has the next report evaluate every group again, over the members kept)."""

    def __init__(self, seed: int, fixed_clock: FixedClock, session: Session, coordinator: Actor) -> None:
        self.rng, self.clock, self.session, self.coordinator = (
            random.Random(seed),
            fixed_clock,
            session,
            coordinator,
        )
        self.log: list[str] = []

    def day(self, first: int, last: int) -> date:
        return clock.today() + timedelta(days=self.rng.randint(first, last))

    def _young_memberships(self) -> list[Membership]:
        return list(self.session.exec(select(Membership).where(col(Membership.participant_id).is_not(None))))

    def _commit(self, what: str) -> None:
        self.session.commit()
        self.log.append(what)

    def clock_moves(self) -> None:
        hours = self.rng.choice([1, 6, 20, 24, 30, 48])
        self.clock.advance(hours=hours)
        self.log.append(f"clock +{hours}h")

    def joins(self) -> None:
        group = self.rng.choice(list(self.session.exec(select(Group))))
        ends = None if self.rng.random() < 0.6 else self.day(1, 6)
        make_membership(
            self.session,
            group,
            participant=make_participant(self.session),
            started_on=self.day(-5, 3),
            ended_on=ends,
        )
        self._commit(f"a young person joins {group.name} until {ends}")

    def leaves(self) -> None:
        current = [m for m in self._young_memberships() if m.ended_on is None]
        if current:
            m = self.rng.choice(current)
            m.ended_on = max(m.started_on + timedelta(days=1), self.day(0, 4))
            self.session.add(m)
            self._commit(f"a membership ends on {m.ended_on}")

    def moves(self) -> None:
        m, group = (
            self.rng.choice(self._young_memberships()),
            self.rng.choice(list(self.session.exec(select(Group)))),
        )
        if group.id != m.group_id:
            m.group_id = group.id
            self.session.add(m)
            try:
                self._commit("a membership moves to another group")
            except sa.exc.IntegrityError:
                self.session.rollback()

    def consents(self, member: bool, given_from: int, given_to: int) -> None:
        if member:
            person = self.session.get(Participant, self.rng.choice(self._young_memberships()).participant_id)
        else:
            person = make_participant(self.session)
        assert person is not None
        more = {"expires_on": self.day(1, 5)} if self.rng.random() < 0.4 else {}
        kind = self.rng.choice(list(ConsentKind))
        make_consent(
            self.session,
            person,
            kind,
            given_on=self.day(given_from, given_to),
            created_at=clock.now(),
            **more,
        )
        self._commit(f"a consent recorded now, {'a member' if member else 'nobody in a group'}")

    def withdraws(self) -> None:
        held = list(self.session.exec(select(Consent).where(col(Consent.withdrawn_on).is_(None))))
        if held:
            c = self.rng.choice(held)
            c.withdrawn_on = max(c.given_on + timedelta(days=1), self.day(0, 3))
            self.session.add(c)
            self._commit(f"a consent withdrawn on {c.withdrawn_on}")

    def group_changes(self) -> None:
        assert self.coordinator.staff is not None
        if self.rng.random() < 0.5:
            g = make_compliant_group(self.session, self.coordinator.staff, started_on=self.day(-3, 3))
            self._commit(f"a group starting {g.started_on}")
        else:
            g = self.rng.choice(list(self.session.exec(select(Group))))
            g.archived_on = self.day(1, 4)
            self.session.add(g)
            self._commit(f"a group archived on {g.archived_on}")


@pytest.mark.parametrize("seed", range(4))
def test_writes_clock_moves_and_past_days_in_a_seeded_order_serve_the_fresh_report(
    seed: int, fixed_clock: FixedClock, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Memberships begun, ended and moved, consents recorded now (past ones for members and for young people
    in no group, current ones), withdrawn, groups starting and archived, the clock moved by hours or days,
    organisation writes; after each, a coordinator's and a trustee's report of today and of past days (more
    than `PEOPLE_TABLES` of them) is the fresh one. The members kept are taken, and bounded by a later day."""
    coordinator, staff_actor, trustee = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    assert coordinator.staff is not None
    for _ in range(4):  # enough groups that one or two written are not most of them
        make_compliant_group(session, coordinator.staff)
    session.commit()
    run = _Sequence(seed, fixed_clock, session, coordinator)
    moves: list[Callable[[], None]] = [
        run.clock_moves,
        run.clock_moves,
        run.joins,
        run.leaves,
        run.moves,
        lambda: run.consents(True, -3, 3),
        lambda: run.consents(True, -100, -30),
        lambda: run.consents(False, -100, -30),
        run.withdraws,
        run.group_changes,
        lambda: _organisation_write(session, w),
        lambda: _organisation_write(session, w),
    ]
    taken, bounded = [], []
    kept_for, bound = org_people.kept_for, org_people._bounded

    def spied_kept_for(*args: Any) -> Any:
        found = kept_for(*args)
        taken.append(found is not None)
        return found

    def spied_bound(*args: Any) -> Any:
        found = bound(*args)
        bounded.append(found is not None)
        return found

    monkeypatch.setattr(org_people, "kept_for", spied_kept_for)
    monkeypatch.setattr(org_people, "_bounded", spied_bound)
    callers = [(a, session.get(User, a.user.id)) for a in (coordinator, trustee) if a.user is not None]
    for step in range(30):
        run.rng.choice(moves)()
        for _, user in callers:
            assert user is not None
            headers = token_headers(user)  # signed in again: the clock moves past a token's life
            for back in run.rng.sample([0, 0, 1, 2, 3, 7, 20, 45], 3):
                path = REPORT if not back else f"{REPORT}?as_of={clock.today() - timedelta(days=back)}"
                assert served(client, path, headers) == fresh(client, path, headers), (step, path, run.log)
    assert any(taken)
    assert any(bounded)
