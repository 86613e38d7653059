"""The forecast from the compliance cache (api/compliance/forecast_cache.py): after every kind of write, at
midnight, for every window and every kind of caller, the forecast served is byte for byte a fresh one; a read
with nothing changed sends a few statements whatever the groups, and a read after a write to one group loads
that group alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.compliance import cache, forecast, forecast_cache
from api.consents.models import ConsentKind, GivenBy, Purpose
from api.groups.models import Group, Visibility
from api.policy.versions import PolicyClause
from tests.kit.auth import Actor, make_actor
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group, make_waiver
from tests.kit.consents import make_consent
from tests.kit.declarations import make_declaration
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.statements import count_statements
from tests.test_compliance_cache import WRITES, World, _publish, fresh, make_world, served
from tests.test_org_report_cache import _Loads, _make_groups

FORECAST = "/api/v1/compliance/forecast"


def group_forecast(group_id: uuid.UUID) -> str:
    return f"/api/v1/groups/{group_id}/compliance/forecast"


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # Each test's records are rolled back, counters included: start every test with nothing remembered.
    cache.clear()
    yield
    cache.clear()


def _join_turning(session: Session, group: Group, age: int, in_days: int) -> None:
    """A young person with every consent the rules read joins `group`, reaching `age` in `in_days` days."""
    day = clock.today() + timedelta(days=in_days)
    older = make_participant(session, date_of_birth=day.replace(year=day.year - age))
    make_membership(session, group, participant=older)
    given_on = clock.today() - timedelta(days=100)
    make_consent(session, older, ConsentKind.esafety_agreement, given_on=given_on)
    images = [Purpose.social_media, Purpose.website]
    make_consent(session, older, ConsentKind.image_use, purposes=images, given_on=given_on)
    make_consent(session, older, ConsentKind.code_of_conduct, given_by=GivenBy.participant, given_on=given_on)


def _world(session: Session, coordinator: Actor, staff: Actor) -> tuple[World, Group]:
    """The cache tests' world, with a young person in its group turning 26 (past its range) within the
    month after next, and a second group the member of staff is not in, whose waiver ends in three weeks."""
    assert coordinator.staff is not None
    assert staff.staff is not None
    w = make_world(session, coordinator, staff)
    make_declaration(session, staff.staff)
    _join_turning(session, w.group, 26, 45)
    other = make_compliant_group(session, coordinator.staff, visibility=Visibility.public)
    ends = clock.today() + timedelta(days=20)
    make_waiver(session, other, rule_id="GRP-VISIBILITY-CLOSED", expires_on=ends)
    return w, other


def _paths(w: World, other: Group, caller: Actor) -> list[str]:
    """The forecast as asked: whole, over a year and over a week, and of one group (each group the caller
    reaches)."""
    paths = [FORECAST, f"{FORECAST}?days=365", f"{FORECAST}?days=7", group_forecast(w.group.id)]
    return paths if caller.role is Role.staff else [*paths, group_forecast(other.id)]


def _reach(actor: Actor) -> Reach:
    assert actor.user is not None
    return Reach.of(user_principal(actor.user))


def _past_same_as_fresh(session: Session, caller: Actor, label: object) -> None:
    """The forecast from a day in the past (the route always starts today), in process."""
    past = clock.today() - timedelta(days=40)
    reach = _reach(caller)
    now = orjson.dumps(forecast_cache.served_forecast(session=session, reach=reach, as_of=past, days=90))
    assert now == orjson.dumps(forecast.forecast(session=session, reach=reach, as_of=past, days=90)), label
    again = forecast_cache.served_forecast(session=session, reach=reach, as_of=past, days=90)
    assert orjson.dumps(again) == now, label


def _same_as_fresh(
    client: TestClient, session: Session, w: World, other: Group, callers: tuple[Actor, ...], label: object
) -> None:
    for caller in callers:
        for path in _paths(w, other, caller):
            now = served(client, path, caller.headers)
            assert now == fresh(client, path, caller.headers), (label, caller.role, path)
            # And again, from the cache.
            assert served(client, path, caller.headers) == now, (label, caller.role, path)
        _past_same_as_fresh(session, caller, (label, caller.role))


def test_the_world_has_days_ahead_folded_by_the_month_for_those_who_may_not_see_every_child(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """What the tests below compare is not empty: days ahead in both groups, by the day for the
    coordinator, by the month for a trustee."""
    w, other = _world(session, coordinator, staff_actor)
    by_day = orjson.loads(served(client, FORECAST, coordinator.headers))["groups"]
    by_month = orjson.loads(served(client, FORECAST, trustee.headers))["groups"]
    assert {g["group_id"] for g in by_day if g["days"]} == {str(w.group.id), str(other.id)}
    assert {g["status"] for g in by_day} == {"compliant"}
    assert {g["next_change_precision"] for g in by_day if g["days"]} == {"day"}
    assert {g["next_change_precision"] for g in by_month if g["days"]} == {"month"}


@pytest.mark.parametrize("table", sorted(WRITES))
def test_after_each_write_every_caller_gets_the_fresh_forecast(
    table: str, client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    callers = (coordinator, trustee, staff_actor)
    year = f"{FORECAST}?days=365"
    w, other = _world(session, coordinator, staff_actor)
    _same_as_fresh(client, session, w, other, callers, "before")
    before = [served(client, year, c.headers) for c in callers]

    WRITES[table](session, w)

    _same_as_fresh(client, session, w, other, callers, table)
    if table in CHANGES_THE_FORECAST:  # so a write the cache missed would show
        for caller, seen in zip(callers, before, strict=True):
            assert served(client, year, caller.headers) != seen, (table, caller.role)


# Writes above that change the world's forecast over a year for every caller (not a second risk assessment
# of the same day: which of the two is the latest is decided by their random ids).
CHANGES_THE_FORECAST = frozenset(
    {
        "consent",
        "group_roster",
        "incident",
        "membership",
        "online_group",
        "participant",
        "policy_clause",
        "policy_settings",
        "roster_entry",
        "staff",
        "staff_declaration",
    }
)


def test_the_day_rolling_over_is_a_new_forecast_without_any_write(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    """A young person turning 26 at midnight: the evening's forecast has it tomorrow, the morning's today."""
    seen: list[dict[str, Any]] = []
    fixed_clock.set(datetime(2026, 7, 2, 22, 50, tzinfo=UTC))  # 23:50 in London
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    assert coordinator.staff is not None
    _join_turning(session, make_compliant_group(session, coordinator.staff), 26, 1)
    for minutes in (0, 15):  # the evening, then the morning
        fixed_clock.advance(minutes=minutes)
        body = served(client, FORECAST, coordinator.headers)
        assert body == fresh(client, FORECAST, coordinator.headers)
        assert served(client, FORECAST, coordinator.headers) == body  # and again, from the cache
        seen.append(orjson.loads(body))
    evening, morning = seen
    assert morning["as_of"] == clock.today().isoformat() != evening["as_of"]
    (before,), (after,) = evening["groups"], morning["groups"]
    assert (before["status"], before["next_change_on"]) == ("compliant", morning["as_of"])
    assert after["status"] == "non_compliant"


def test_a_version_published_to_come_into_force_in_the_window_is_quoted_from_that_day(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """The policy versions ahead are the organisation's: kept under its counter, read again after a
    version is published to come into force before the young person's birthday in the world's group."""
    w, other = _world(session, coordinator, staff_actor)
    callers = (coordinator, trustee, staff_actor)
    _same_as_fresh(client, session, w, other, callers, "before")
    words = "Groups are reviewed, from next week, by two people."
    version = _publish(session, clock.today() + timedelta(days=7), words)
    clause = PolicyClause(
        version_id=version.id, clause_id="REC-PERIODIC-REVIEW", position=1, section="Groups", text=words
    )
    session.add(clause)
    session.commit()
    _same_as_fresh(client, session, w, other, callers, "published")
    ahead = orjson.loads(served(client, FORECAST, coordinator.headers))
    (group,) = (g for g in ahead["groups"] if g["group_id"] == str(w.group.id))
    assert words in orjson.dumps(group["days"]).decode()


def _counted(session: Session, client: TestClient, actor: Actor) -> tuple[int, bytes]:
    """How many statements the forecast sent beyond signing in (`/auth/me`'s), and the forecast."""
    sent = []
    for path in ("/api/v1/auth/me", FORECAST):
        with count_statements(session) as statements:
            body = served(client, path, actor.headers)
        sent.append(len(statements))
    return sent[1] - sent[0], body


@pytest.mark.parametrize("n", [2, 6])
def test_a_read_with_nothing_changed_sends_a_few_statements_whatever_the_groups(
    n: int,
    client: TestClient,
    session: Session,
    coordinator: Actor,
    trustee: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _make_groups(session, coordinator, n)
    for caller in (coordinator, trustee):
        first = served(client, FORECAST, caller.headers)
        loads = _Loads(monkeypatch)
        extra, again = _counted(session, client, caller)
        assert loads.groups == []
        assert again == first == fresh(client, FORECAST, caller.headers)
        # The facts versions, then the ids of the groups listed: nothing loaded, nothing forecast.
        assert extra == 2, caller.role


def test_a_read_after_writes_to_some_groups_loads_those_alone(
    client: TestClient, session: Session, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Of eight groups, a write to one, then to three others: each read loads the groups written alone, in
    as many statements for one as for three."""
    groups = _make_groups(session, coordinator, 8)
    served(client, FORECAST, coordinator.headers)
    failing = 0
    for written in (groups[1:2], groups[4:7]):
        for group in written:
            group.visibility = Visibility.public  # fails the closed-group rule
            session.add(group)
        session.commit()
        failing += len(written)
        loads = _Loads(monkeypatch)
        extra, body = _counted(session, client, coordinator)
        assert [sorted(ids) for ids in loads.groups] == [sorted(g.id for g in written)]
        assert len(loads.members[0]) == len(written)  # the members' rows are those groups' alone
        assert body == fresh(client, FORECAST, coordinator.headers)
        assert [g["status"] for g in orjson.loads(body)["groups"]].count("non_compliant") == failing
        # The versions and the ids; the restricted load, its ten statements less the two of the policy
        # (kept); the policy versions ahead are kept.
        assert extra == 2 + 8


def test_a_session_with_its_own_writes_pending_or_the_cache_off_forecasts_afresh(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    w, _ = _world(session, coordinator, staff_actor)
    reach = _reach(coordinator)
    today = clock.today()
    kept = forecast_cache.served_forecast(session=session, reach=reach, as_of=today, days=90)
    w.group.max_age = 30  # no one past the range in the window
    session.add(w.group)
    session.flush()  # written, not committed: the counters have not moved yet
    seen = forecast_cache.served_forecast(session=session, reach=reach, as_of=today, days=90)
    assert seen != kept
    assert seen == forecast.forecast(session=session, reach=reach, as_of=today, days=90)
    session.rollback()
    cache.clear()
    with cache.disabled(), count_statements(session) as off:
        forecast_cache.served_forecast(session=session, reach=reach, as_of=today, days=90)
    with count_statements(session) as fresh_forecast:
        forecast.forecast(session=session, reach=reach, as_of=today, days=90)
    assert len(off) == len(fresh_forecast)


def test_a_group_out_of_reach_or_archived_is_404_from_the_cache_too(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    _, other = _world(session, coordinator, staff_actor)
    for caller in (coordinator, staff_actor):
        served(client, FORECAST, caller.headers)  # every group the caller reaches, kept
    assert client.get(group_forecast(other.id), headers=staff_actor.headers).status_code == 404
    other.archived_on = clock.today()
    session.add(other)
    session.commit()
    assert client.get(group_forecast(other.id), headers=coordinator.headers).status_code == 404
    assert str(other.id).encode() not in served(client, FORECAST, coordinator.headers)


def test_the_dashboard_pages_show_the_forecast_kept(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    """The organisation page and a group's page forecast each group once: a second view forecasts none."""
    w, _ = _world(session, coordinator, staff_actor)
    pages = ("/dashboard", f"/dashboard/groups/{w.group.id}")
    for path in pages:
        assert client.get(path, headers=coordinator.headers).status_code == 200, path
    forecast_for: list[int] = []
    real = forecast.group_aheads

    def counted(groups: Any, *args: Any) -> Any:
        forecast_for.append(len(groups))
        return real(groups, *args)

    with pytest.MonkeyPatch.context() as m:
        m.setattr(forecast, "group_aheads", counted)
        for path in pages:
            assert client.get(path, headers=coordinator.headers).status_code == 200, path
        assert forecast_for == []
        with cache.disabled():  # the count sees a forecast made
            forecast.forecast(session=session, reach=_reach(coordinator), as_of=clock.today(), days=90)
        assert forecast_for == [2]


def test_only_the_last_windows_are_kept(client: TestClient, session: Session, coordinator: Actor) -> None:
    """Each window end is a table of every group's days: a caller stepping `days` keeps `TABLES` of them."""
    _make_groups(session, coordinator, 2)
    today = clock.today()
    asked = range(1, forecast_cache.TABLES + 5)
    for days in asked:
        served(client, f"{FORECAST}?days={days}", coordinator.headers)
    kept = [d for d in asked if forecast_cache._tables.peek((today, today, today + timedelta(days=d)))]
    assert kept == list(asked)[-forecast_cache.TABLES :]
    first = f"{FORECAST}?days=1"
    assert served(client, first, coordinator.headers) == fresh(client, first, coordinator.headers)
