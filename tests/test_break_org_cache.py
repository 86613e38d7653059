"""Trying to break the organisation report's cache (api/compliance/org_cache.py) from the outside: sequences
of real writes and reads by callers of different reach, with filters and `as_of` alternating, after each of
which every caller's report (JSON and CSV) must be byte for byte a fresh one."""

from __future__ import annotations

import itertools
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.auth.roles import Role
from api.compliance import cache, service
from api.config import get_settings
from api.groups.models import Group, Platform, Visibility
from api.memberships.models import MemberRole
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor, make_user, token_headers
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.databases import engine_for, throwaway_database
from tests.kit.memberships import make_membership
from tests.kit.servers import served_by_workers
from tests.kit.staff import make_staff
from tests.test_compliance_cache import WRITES, fresh, make_world, served
from tests.test_org_report_cache import CSV, REPORT, _empty_cache  # noqa: F401  (the autouse fixture)


def _paths() -> list[tuple[str, dict[str, str]]]:
    today = clock.today()
    return [
        (REPORT, {}),
        (f"{REPORT}?platform=facebook_group", {}),
        (f"{REPORT}?platform=whatsapp&status=compliant", {}),
        (f"{REPORT}?as_of={today - timedelta(days=1)}", {}),
        (f"{REPORT}?as_of={today - timedelta(days=3)}", {}),
        (f"{REPORT}?rule=GRP-VISIBILITY-CLOSED", {}),
        (REPORT, CSV),
    ]


def _check(client: TestClient, callers: tuple[Actor, ...], label: object) -> None:
    """Every caller, every path, served (twice) against fresh; callers interleaved path by path, so one
    caller's restricted load fills the table the next reads."""
    for path, extra in _paths():
        for caller in callers:
            headers = caller.headers | extra
            now = served(client, path, headers)
            assert now == fresh(client, path, headers), (label, caller.role, path, extra)
            assert served(client, path, headers) == now, (label, caller.role, path, extra)


def _groups(session: Session, coordinator: Actor, n: int) -> list[Group]:
    assert coordinator.staff is not None
    return [make_compliant_group(session, coordinator.staff) for _ in range(n)]


def _save(session: Session, *records: Group) -> None:
    session.add_all(records)
    session.commit()


def test_groups_restarted_moved_archived_and_reopened_alternating_callers(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    groups = _groups(session, coordinator, 5)
    assert staff_actor.staff is not None
    make_membership(session, groups[0], staff=staff_actor.staff)
    make_membership(session, groups[3], staff=staff_actor.staff)
    callers = (staff_actor, coordinator, trustee)
    _check(client, callers, "start")
    today = clock.today()
    steps: list[tuple[str, Callable[[], None]]] = [
        ("restart in the future", lambda: setattr(groups[0], "started_on", today + timedelta(days=2))),
        ("restart in the past", lambda: setattr(groups[0], "started_on", today - timedelta(days=1))),
        ("to whatsapp", lambda: setattr(groups[3], "platform", Platform.whatsapp)),
        ("public", lambda: setattr(groups[1], "visibility", Visibility.public)),
        ("archived tomorrow", lambda: setattr(groups[2], "archived_on", today + timedelta(days=1))),
        ("archived in the past", lambda: setattr(groups[4], "archived_on", today - timedelta(days=2))),
        ("reopened", lambda: setattr(groups[4], "archived_on", None)),
        ("back to facebook", lambda: setattr(groups[3], "platform", Platform.facebook_group)),
        ("renamed first", lambda: setattr(groups[4], "name", "AAA first by name")),
    ]
    for label, step in steps:
        step()
        _save(session, *groups)
        _check(client, callers, label)


def test_staff_joining_and_leaving_groups_changes_their_reach_and_the_findings(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    groups = _groups(session, coordinator, 4)
    assert staff_actor.staff is not None
    callers = (staff_actor, trustee, coordinator)
    _check(client, callers, "no groups")
    joined = make_membership(session, groups[1], staff=staff_actor.staff, role=MemberRole.admin)
    _check(client, callers, "joined")
    joined.ended_on = clock.today()
    session.add(joined)
    session.commit()
    _check(client, callers, "left the group")
    other = make_staff(session)
    make_membership(session, groups[2], staff=other, role=MemberRole.admin)
    _check(client, callers, "another admin")
    other.left_on = clock.today()
    session.add(other)
    session.commit()
    _check(client, callers, "that admin left")


def test_a_group_starting_at_midnight_with_no_write(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    fixed_clock.set(datetime(2026, 7, 2, 22, 50, tzinfo=UTC))  # 23:50 in London
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    trustee = make_actor(session, Role.trustee)
    assert coordinator.staff is not None
    for _ in range(3):
        make_compliant_group(session, coordinator.staff)
    make_compliant_group(session, coordinator.staff, started_on=clock.today() + timedelta(days=1))
    callers = (coordinator, trustee)
    _check(client, callers, "evening")
    evening = served(client, REPORT, coordinator.headers)
    fixed_clock.advance(minutes=20)
    _check(client, callers, "after midnight")
    assert served(client, REPORT, coordinator.headers) != evening


@dataclass
class _Served:
    """Two cached workers and an uncached one on one throwaway database with four groups; callers who reach
    every group, one group (a member of staff) and counts (a trustee)."""

    cached: str
    uncached: str
    callers: list[dict[str, str]]
    groups: list[Group]
    other: Staff  # the second group's admin

    def paths(self) -> list[str]:
        return [REPORT, f"{REPORT}?platform=whatsapp", f"{REPORT}?as_of={clock.today() - timedelta(days=1)}"]

    def every_answer_is_fresh(self, step: str) -> None:
        for headers, path, extra in itertools.product(self.callers, self.paths(), ({}, CSV)):
            h = headers | extra
            answers = {httpx.get(self.cached + path, headers=h, timeout=60).content for _ in range(6)}
            expected = httpx.get(self.uncached + path, headers=h, timeout=60)
            assert expected.status_code == 200, expected.text
            assert answers == {expected.content}, (step, path, extra)

    def write(self, method: str, path: str, body: dict[str, str]) -> None:
        r = httpx.request(
            method, f"{self.cached}/api/v1{path}", json=body, headers=self.callers[0], timeout=60
        )
        assert r.status_code in (200, 201), r.text


def coordinator_groups_and_staff(setup: Session, n: int) -> tuple[Staff, list[Group], Staff]:
    """The coordinator, `n` compliant groups of theirs, and a member of staff in none of them."""
    coordinator = make_staff(setup, is_esafety_coordinator=True)
    return coordinator, [make_compliant_group(setup, coordinator) for _ in range(n)], make_staff(setup)


def three_callers(setup: Session, coordinator: Staff, member: Staff) -> list[dict[str, str]]:
    """Sign-ins for the coordinator, `member` as staff, and a new trustee: every kind of reach."""
    return [
        token_headers(make_user(setup, coordinator, Role.coordinator)),
        token_headers(make_user(setup, member, Role.staff)),
        token_headers(make_user(setup, make_staff(setup), Role.trustee)),
    ]


@contextmanager
def cached_and_uncached(db_url: str) -> Iterator[tuple[str, str]]:
    """Two workers with a cache each, and one with the cache off, on the database at `db_url`."""
    with (
        served_by_workers(db_url, workers=2) as cached,
        served_by_workers(db_url, workers=1, compliance_cache_entries="0") as uncached,
    ):
        yield cached, uncached


@contextmanager
def _served() -> Iterator[_Served]:
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator, groups, member = coordinator_groups_and_staff(setup, 4)
            make_membership(setup, groups[0], staff=member, role=MemberRole.admin)
            other = make_staff(setup)
            make_membership(setup, groups[1], staff=other, role=MemberRole.admin)
            callers = three_callers(setup, coordinator, member)
        with cached_and_uncached(db_url) as (cached, uncached):
            yield _Served(cached, uncached, callers, groups, other)


def test_two_workers_serve_the_fresh_organisation_report_after_writes_through_either() -> None:
    """As production runs it: two uvicorn workers with a cache each, sharing only the database; writes over
    HTTP land on either, and every read (either worker, several times) is the answer of a third server
    with the cache off, for every kind of caller; and so once writes racing reads have stopped. (One test:
    two tests starting servers at once on one TEST_PORTS range may pick the same port.)"""
    today = str(clock.today())
    with _served() as s:
        s.every_answer_is_fresh("first")
        s.write("PATCH", f"/groups/{s.groups[2].id}", {"visibility": "public"})
        s.every_answer_is_fresh("opened up")
        s.write("PATCH", f"/groups/{s.groups[0].id}", {"platform": "whatsapp"})
        s.every_answer_is_fresh("moved to whatsapp")
        s.write("PATCH", f"/groups/{s.groups[3].id}", {"started_on": today})
        s.every_answer_is_fresh("restarted today")
        s.write("PATCH", f"/staff/{s.other.id}", {"left_on": today})
        s.every_answer_is_fresh("an admin left")
        s.write("POST", f"/groups/{s.groups[1].id}/archive", {"archived_on": today})
        s.every_answer_is_fresh("archived")
        s.write("PATCH", f"/groups/{s.groups[0].id}", {"name": "AAA first by name"})
        s.every_answer_is_fresh("renamed")
        # Then writes to groups (and to the organisation) racing three readers of every kind of report.
        stop = threading.Event()
        failures: list[str] = []

        def read(headers: dict[str, str]) -> None:
            while not stop.is_set():
                for path in s.paths():
                    r = httpx.get(s.cached + path, headers=headers, timeout=60)
                    if r.status_code != 200:
                        failures.append(r.text)

        readers = [threading.Thread(target=read, args=(h,)) for h in s.callers]
        for t in readers:
            t.start()
        try:
            for i in range(12):
                group = s.groups[(0, 2, 3)[i % 3]]  # not the archived one
                visibility = "public" if i % 2 else "closed"
                s.write("PATCH", f"/groups/{group.id}", {"visibility": visibility, "name": f"Group {i}"})
                if i % 4 == 3:
                    s.write("PATCH", f"/staff/{s.other.id}", {"job_title": f"Leader {i}"})
        finally:
            stop.set()
            for t in readers:
                t.join()
        assert failures == []
        s.every_answer_is_fresh("after the race")


@pytest.mark.parametrize("table", sorted(WRITES))
def test_each_write_among_many_groups_loads_restricted_and_is_fresh_for_every_caller(
    table: str,
    client: TestClient,
    session: Session,
    coordinator: Actor,
    trustee: Actor,
    staff_actor: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With seven more groups, a write to the one group takes the load restricted to the groups missed (not
    the load of every group, as in tests/test_org_report_cache.py's world of two): every caller's every
    report, filtered, in the past and as a spreadsheet, is still the fresh one."""
    w = make_world(session, coordinator, staff_actor)
    more = _groups(session, coordinator, 7)
    assert staff_actor.staff is not None
    make_membership(session, more[3], staff=staff_actor.staff)
    more[5].platform = Platform.whatsapp
    _save(session, more[5])
    callers = (staff_actor, trustee, coordinator)
    _check(client, callers, "before")
    restricted: list[int] = []
    group_lines = service.group_lines

    def spied(**kwargs: Any) -> dict[uuid.UUID, service.GroupSummary]:
        restricted.append(len(kwargs["group_ids"]))
        return group_lines(**kwargs)

    monkeypatch.setattr(service, "group_lines", spied)
    WRITES[table](session, w)
    _check(client, callers, table)
    if table in cache.GROUP_TABLES:
        assert restricted, table  # the restricted load was taken


def ten_to_midnight(fixed_clock: FixedClock, session: Session) -> tuple[Actor, Actor, Actor]:
    """The clock at 23:50 in London, and a coordinator, a member of staff and a trustee made then."""
    fixed_clock.set(datetime(2026, 7, 2, 22, 50, tzinfo=UTC))
    return (
        make_actor(session, Role.coordinator, coordinator=True),
        make_actor(session, Role.staff),
        make_actor(session, Role.trustee),
    )


def test_midnight_ends_a_member_of_staff_s_reach_and_a_leaver_s_employment_with_no_write(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    """At midnight a member of staff's membership of one group ends (their reach shrinks) and an admin of
    another leaves (the staff rules and that group's line change): nothing is written, and every caller's
    every report, today's and yesterday's, is the fresh one on either side of midnight."""
    coordinator, staff, trustee = ten_to_midnight(fixed_clock, session)
    assert coordinator.staff is not None
    assert staff.staff is not None
    groups = [make_compliant_group(session, coordinator.staff) for _ in range(4)]
    tomorrow = clock.today() + timedelta(days=1)
    make_membership(session, groups[0], staff=staff.staff, ended_on=tomorrow)
    make_membership(session, groups[1], staff=staff.staff)
    leaver = make_staff(session, left_on=tomorrow)
    make_membership(session, groups[2], staff=leaver, role=MemberRole.admin)
    callers = (staff, coordinator, trustee)
    _check(client, callers, "evening")
    evening = served(client, REPORT, staff.headers)
    fixed_clock.advance(minutes=20)
    _check(client, callers, "after midnight")
    assert served(client, REPORT, staff.headers) != evening


@pytest.fixture
def _one_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "compliance_cache_entries", 1)


@pytest.mark.usefixtures("_one_entry")
def test_a_cache_of_one_entry_a_kind_alternating_days_and_callers_is_fresh(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """`COMPLIANCE_CACHE_ENTRIES=1`: each day asked evicts the last one's table of lines and findings (and the
    kept policy stays), while writes land between; every answer is still the fresh one."""
    groups = _groups(session, coordinator, 6)
    assert staff_actor.staff is not None
    make_membership(session, groups[2], staff=staff_actor.staff)
    callers = (coordinator, staff_actor, trustee)
    _check(client, callers, "start")
    groups[2].visibility = Visibility.public
    _save(session, groups[2])
    _check(client, callers, "opened up")
    groups[4].platform = Platform.whatsapp
    _save(session, groups[4])
    _check(client, callers, "moved")
