"""The trustees' dashboard and the organisation workbook from the compliance cache
(api/compliance/org_cache.py: the report's lines and each group's evaluation whole): after every kind of
write, on a day in the past and for every kind of caller, the page and the workbook served are the fresh
ones; a view with nothing changed evaluates no group again, and a view after a write to one group evaluates
that group alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.compliance import cache, org_cache, service
from api.config import get_settings
from tests.kit.auth import Actor
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group, waived_to_midnight
from tests.test_compliance_cache import WRITES, make_world
from tests.test_compliance_exports import _sheets


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Each test's records are rolled back, counters included: start every test with nothing remembered.
    cache.clear()
    yield
    cache.clear()


def _paths(group: uuid.UUID) -> list[str]:
    # The dashboard's workbook (/dashboard/report.xlsx) is this one (`exports.organisation_workbook`).
    past = clock.today() - timedelta(days=40)
    return [
        "/dashboard",
        "/api/v1/compliance/export",
        f"/api/v1/compliance/export?as_of={past}",
        f"/dashboard/groups/{group}",
        f"/dashboard/groups/{group}/findings.csv",
        f"/api/v1/groups/{group}/compliance/export?as_of={past}",
    ]


def _get(client: TestClient, path: str, caller: Actor) -> object:
    """What a page or a workbook shows: the page's HTML; the workbook's sheets (its zip also holds the moment
    it was written)."""
    r = client.get(path, headers=caller.headers)
    assert r.status_code == 200, (path, r.text)
    return _sheets(r.content) if r.content[:2] == b"PK" else r.text


def _fresh(client: TestClient, path: str, caller: Actor) -> object:
    with pytest.MonkeyPatch.context() as m:
        m.setattr(get_settings(), "compliance_cache_entries", 0)
        return _get(client, path, caller)


def _same_as_fresh(client: TestClient, callers: tuple[Actor, ...], group: uuid.UUID, label: object) -> None:
    for caller in callers:
        for path in _paths(group):
            served = _get(client, path, caller)
            assert served == _fresh(client, path, caller), (label, caller.role, path)
            assert _get(client, path, caller) == served, (label, caller.role, path)  # and from the cache


@pytest.mark.parametrize("table", sorted(WRITES))
def test_after_each_write_every_caller_gets_the_fresh_dashboard_and_workbook(
    table: str, client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    w = make_world(session, coordinator, staff_actor)
    assert coordinator.staff is not None
    make_compliant_group(session, coordinator.staff)  # a group the member of staff is not in
    callers = (coordinator, trustee, staff_actor)
    _same_as_fresh(client, callers, w.group.id, "before")
    WRITES[table](session, w)
    _same_as_fresh(client, callers, w.group.id, table)


def _evaluated(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many groups each call of `service.group_evaluations` evaluated, as it is made."""
    counts: list[int] = []
    real = service.group_evaluations

    def counted(**kwargs: object) -> object:
        found = real(**kwargs)  # type: ignore[arg-type]
        counts.append(len(found))
        return found

    monkeypatch.setattr(service, "group_evaluations", counted)
    return counts


def test_a_view_with_nothing_changed_evaluates_no_group_and_after_a_write_that_group_alone(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert coordinator.staff is not None
    groups = [make_compliant_group(session, coordinator.staff) for _ in range(4)]
    counts = _evaluated(monkeypatch)
    first = _get(client, "/dashboard", trustee)
    assert counts == [4]
    assert _get(client, "/dashboard", trustee) == first
    assert _get(client, "/dashboard", coordinator) != first  # the coordinator's page names more: both kept
    assert counts == [4]
    groups[2].url = "https://example.org/moved"
    session.add(groups[2])
    session.commit()
    assert _get(client, "/dashboard", trustee) == _fresh(client, "/dashboard", trustee)
    assert counts[1] == 1  # the fresh page's evaluation (cache off) counts every group after it
    assert counts[2:] == [4]


def test_the_day_rolling_over_is_a_new_page_without_any_write(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    coordinator, _ = waived_to_midnight(fixed_clock, session)
    evening = _get(client, "/dashboard", coordinator)
    assert _get(client, "/dashboard", coordinator) == evening == _fresh(client, "/dashboard", coordinator)
    fixed_clock.advance(minutes=15)
    morning = _get(client, "/dashboard", coordinator)
    assert morning == _fresh(client, "/dashboard", coordinator)
    assert morning != evening  # the waiver has ended: the group fails where it was waived


def test_a_group_s_page_and_findings_seen_again_load_nothing_again(
    monkeypatch: pytest.MonkeyPatch,
    client: TestClient,
    session: Session,
    coordinator: Actor,
    staff_actor: Actor,
) -> None:
    w = make_world(session, coordinator, staff_actor)
    loads: list[uuid.UUID] = []
    real = service.group_evaluated

    def counted(**kwargs: Any) -> service.GroupEvaluated:
        loads.append(kwargs["group_id"])
        return real(**kwargs)

    monkeypatch.setattr(service, "group_evaluated", counted)
    page, findings = f"/dashboard/groups/{w.group.id}", f"/dashboard/groups/{w.group.id}/findings.csv"
    for caller in (coordinator, staff_actor, coordinator):
        assert _get(client, page, caller) == _get(client, page, caller)
        _get(client, findings, caller)
    assert loads == [w.group.id]  # one load, shared by every caller (each redacted apart)
    WRITES["group_review"](session, w)
    _get(client, page, staff_actor)
    assert loads == [w.group.id] * 2


def test_workbooks_of_many_days_keep_a_few_days_of_findings(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """Each day's table holds every group's findings: asking for a workbook of each of many days keeps only
    the last few (memory, not the number of entries, is what bounds them)."""
    assert coordinator.staff is not None
    make_compliant_group(session, coordinator.staff)
    today = clock.today()
    days = [today - timedelta(days=n) for n in range(org_cache.EVALUATION_TABLES + 3)]
    for day in days:
        _get(client, f"/api/v1/compliance/export?as_of={day}", coordinator)
    kept: list[Any] = list(org_cache._evaluations._entries)  # (as_of, day) keys, least recently used first
    assert [as_of for as_of, _ in kept] == days[-org_cache.EVALUATION_TABLES :]
    assert len(org_cache._tables._entries) == len(days)  # lines are small: a month of days is kept
    # Today's asked again is loaded again (it was the first out), and kept.
    _get(client, "/api/v1/compliance/export", coordinator)
    newest: Any = next(reversed(org_cache._evaluations._entries))
    assert newest[0] == today


def test_a_group_kept_then_archived_is_not_served_from_what_was_kept(
    session: Session, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    today = clock.today()
    assert set(org_cache.group_evaluations(session=session, as_of=today, group_ids=[group.id])) == {group.id}
    session.commit()
    group.archived_on = today
    session.add(group)
    session.commit()
    assert org_cache.group_evaluations(session=session, as_of=today, group_ids=[group.id]) == {}
