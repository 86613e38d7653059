"""The organisation report from the compliance cache (api/compliance/org_cache.py): after every kind of write,
at midnight, with `as_of` given and for every kind of caller, the report served is byte for byte a fresh
one; a read with nothing changed sends a few statements whatever the groups, and a read after a write to
one group loads that group alone."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.compliance import cache, loading, org_cache, service
from api.db import may_write
from api.groups.models import Group, Visibility
from tests.kit.auth import Actor, make_user
from tests.kit.clock import FixedClock
from tests.kit.compliance import WAIVED_TO_MIDNIGHT, make_compliant_group, waived_to_midnight
from tests.kit.databases import engine_for, throwaway_database
from tests.kit.memberships import make_membership
from tests.kit.staff import make_staff
from tests.kit.statements import count_statements
from tests.test_compliance_cache import WRITES, World, fresh, make_world, served

REPORT = "/api/v1/compliance"
CSV = {"Accept": "text/csv"}


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Each test's records are rolled back, counters included: start every test with nothing remembered.
    cache.clear()
    yield
    cache.clear()


def _paths() -> list[tuple[str, dict[str, str]]]:
    """The report as asked: whole, on a day in the past, filtered, and as a spreadsheet."""
    past = clock.today() - timedelta(days=40)
    return [
        (REPORT, {}),
        (f"{REPORT}?as_of={past}", {}),
        (f"{REPORT}?platform=facebook_group&status=compliant", {}),
        (f"{REPORT}?rule=GRP-VISIBILITY-CLOSED", {}),
        (REPORT, CSV),
    ]


def _same_as_fresh(client: TestClient, callers: tuple[Actor, ...], label: object) -> None:
    for caller in callers:
        for path, extra in _paths():
            headers = caller.headers | extra
            now = served(client, path, headers)
            assert now == fresh(client, path, headers), (label, caller.role, path, extra)
            # And again, from the cache.
            assert served(client, path, headers) == now, (label, caller.role, path, extra)


def _world(session: Session, coordinator: Actor, staff: Actor) -> tuple[World, Group]:
    """The cache tests' world, and a second group the member of staff is not in."""
    assert coordinator.staff is not None
    return make_world(session, coordinator, staff), make_compliant_group(session, coordinator.staff)


@pytest.mark.parametrize("table", sorted(WRITES))
def test_after_each_write_every_caller_gets_the_fresh_report(
    table: str, client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    w, _ = _world(session, coordinator, staff_actor)
    callers = (coordinator, trustee, staff_actor)
    _same_as_fresh(client, callers, "before")
    before = served(client, REPORT, coordinator.headers)

    WRITES[table](session, w)

    _same_as_fresh(client, callers, table)
    if table in {"online_group", "membership", "staff", "participant", "policy_settings"}:
        assert served(client, REPORT, coordinator.headers) != before, table


def test_a_write_to_a_group_out_of_the_caller_s_reach_is_fresh_for_them(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """The member of staff's groups all stand; the organisation's findings, which read every group's
    memberships, are computed again."""
    w, other = _world(session, coordinator, staff_actor)
    callers = (staff_actor, coordinator, trustee)
    _same_as_fresh(client, callers, "before")
    make_membership(session, other, participant=w.child)
    _same_as_fresh(client, callers, "other group's membership")
    other.archived_on = clock.today()  # no longer listed; its memberships still read by the staff rules
    session.add(other)
    session.commit()
    _same_as_fresh(client, callers, "archived")
    make_membership(session, other, staff=make_staff(session))
    _same_as_fresh(client, callers, "archived group's membership")


def test_the_day_rolling_over_is_a_new_report_without_any_write(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    coordinator, group = waived_to_midnight(fixed_clock, session)
    assert coordinator.staff is not None
    make_compliant_group(session, coordinator.staff)
    closed = WAIVED_TO_MIDNIGHT
    evening = served(client, REPORT, coordinator.headers)
    assert served(client, REPORT, coordinator.headers) == evening
    assert evening == fresh(client, REPORT, coordinator.headers)
    fixed_clock.advance(minutes=15)
    morning = served(client, REPORT, coordinator.headers)
    assert morning == fresh(client, REPORT, coordinator.headers)
    evening_line, morning_line = (
        next(g for g in orjson.loads(b)["groups"] if g["group_id"] == str(group.id))
        for b in (evening, morning)
    )
    assert closed in evening_line["waived_rules"]
    assert closed in morning_line["failing_rules"]  # the waiver has ended


def _make_groups(session: Session, coordinator: Actor, n: int) -> list[Group]:
    assert coordinator.staff is not None
    return [make_compliant_group(session, coordinator.staff) for _ in range(n)]


def _counted(session: Session, client: TestClient, actor: Actor) -> tuple[int, bytes]:
    """How many statements the report sent beyond signing in, and the report."""
    with count_statements(session) as me:
        client.get("/api/v1/auth/me", headers=actor.headers).raise_for_status()
    with count_statements(session) as statements:
        body = served(client, REPORT, actor.headers)
    return len(statements) - len(me), body


class _Loads:
    """Records the groups and members' groups each `loading._load` returned."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.groups: list[list[uuid.UUID]] = []
        self.members: list[set[Any]] = []
        real = loading._load

        def spied(*args: Any, **kwargs: Any) -> Any:
            found = real(*args, **kwargs)
            groups, _, loaded = found
            self.groups.append([g.id for _, g in groups])
            self.members.append(set(loaded.members))
            return found

        for module in (loading, service):
            monkeypatch.setattr(module, "_load", spied)


@pytest.mark.parametrize("n", [2, 6])
def test_a_read_with_nothing_changed_sends_a_few_statements_whatever_the_groups(
    n: int, client: TestClient, session: Session, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make_groups(session, coordinator, n)
    first = served(client, REPORT, coordinator.headers)
    loads = _Loads(monkeypatch)
    extra, again = _counted(session, client, coordinator)
    assert loads.groups == []
    assert again == first == fresh(client, REPORT, coordinator.headers)
    # The facts versions, then the ids of the groups listed: nothing loaded, nothing evaluated.
    assert extra == 2


@pytest.mark.parametrize(("n", "k"), [(3, 1), (8, 1), (8, 3)])
def test_a_read_after_writes_to_some_groups_loads_those_alone(
    n: int, k: int, client: TestClient, session: Session, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    groups = _make_groups(session, coordinator, n)
    served(client, REPORT, coordinator.headers)
    written = groups[1 : 1 + k]
    for group in written:
        group.visibility = Visibility.public  # fails the closed-group rule
        session.add(group)
    session.commit()
    loads = _Loads(monkeypatch)
    extra, body = _counted(session, client, coordinator)
    assert len(loads.groups) == 1
    assert sorted(loads.groups[0]) == sorted(g.id for g in written)
    assert len(loads.members[0]) == k  # the members' rows are those groups' alone
    assert body == fresh(client, REPORT, coordinator.headers)
    assert body.count(b"GRP-VISIBILITY-CLOSED") == k + 1  # each line, and the totals
    # As many with 3 groups as with 8, for one group or three: the versions and the ids; the restricted
    # load, its eleven statements less the two of the policy (kept); the organisation's own findings, whose
    # key every group's counter is part of: the staff, their memberships, their declarations, and the four
    # of the registers.
    assert extra == 2 + 9 + 7


def test_a_session_with_its_own_writes_pending_or_the_cache_off_evaluates_afresh(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    w, _ = _world(session, coordinator, staff_actor)
    assert coordinator.user is not None
    reach = Reach.of(user_principal(coordinator.user))
    today = clock.today()
    kept = org_cache.organisation_report(session=session, reach=reach, as_of=today)
    w.group.visibility = Visibility.public
    session.add(w.group)
    session.flush()  # written, not committed: the counters have not moved yet
    seen = org_cache.organisation_report(session=session, reach=reach, as_of=today)
    assert seen != kept
    assert seen == service.organisation_report(session=session, reach=reach, as_of=today)
    session.rollback()
    cache.clear()
    with cache.disabled(), count_statements(session) as off:
        org_cache.organisation_report(session=session, reach=reach, as_of=today)
    with count_statements(session) as fresh_report:
        service.organisation_report(session=session, reach=reach, as_of=today)
    assert len(off) == len(fresh_report)


def raced_read(
    monkeypatch: pytest.MonkeyPatch, report: Callable[[], bytes], target: object, name: str, racing: Any
) -> tuple[bytes, bytes, bytes]:
    """`report()` with `target.name` replaced by `racing` (which commits a write part way through), then
    `report()` again as it is, then with the cache off: the raced report, the next, and the truth."""
    real = getattr(target, name)
    monkeypatch.setattr(target, name, racing)
    raced = report()
    monkeypatch.setattr(target, name, real)
    after = report()
    with cache.disabled():
        truth = report()
    return raced, after, truth


def test_a_write_between_the_versions_and_the_facts_leaves_nothing_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A second write to the group a read loads commits after the reader read the counters and before it
    loaded the group: the line it keeps is newer than the counters it is filed under, and the next reader
    gets the fresh report."""
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator = make_staff(setup, is_esafety_coordinator=True)
            group = [make_compliant_group(setup, coordinator) for _ in range(3)][1]
            reach = Reach.of(user_principal(make_user(setup, coordinator, Role.coordinator)))
        real = service.group_lines

        def write(**changes: Any) -> None:
            writes = may_write.set(True)
            with Session(engine) as writer:
                g = writer.get(Group, group.id)
                assert g is not None
                for name, value in changes.items():
                    setattr(g, name, value)
                writer.add(g)
                writer.commit()
            may_write.reset(writes)

        def racing(**kwargs: Any) -> Any:
            write(max_age=10)  # every young member too old
            return real(**kwargs)

        def report() -> bytes:
            with Session(engine) as reader:
                found = org_cache.organisation_report(session=reader, reach=reach, as_of=clock.today())
                return orjson.dumps(found)

        token = may_write.set(False)
        try:
            before = report()
            write(visibility=Visibility.public)  # the next read loads this group alone, and races a write
            raced, after, truth = raced_read(monkeypatch, report, service, "group_lines", racing)
        finally:
            may_write.reset(token)
        # The raced read sees the second write (PostgreSQL reads each statement afresh) or not (SQLite reads
        # the whole transaction in the snapshot its first statement took); the next read sees it either way.
        assert after == truth != before
        assert raced != before
        assert b"GRP-VISIBILITY-CLOSED" in truth
        assert b"GRP-AGE-RANGE" in truth
