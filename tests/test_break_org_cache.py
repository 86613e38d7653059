"""Trying to break the organisation report's cache (api/compliance/org_cache.py) from the outside: sequences
of real writes and reads by callers of different reach, with filters and `as_of` alternating, after each of
which every caller's report (JSON and CSV) must be byte for byte a fresh one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.auth.roles import Role
from api.groups.models import Group, Platform, Visibility
from api.memberships.models import MemberRole
from tests.kit.auth import Actor, make_actor
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.memberships import make_membership
from tests.kit.staff import make_staff
from tests.test_compliance_cache import fresh, served
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
