"""Trying to break the cached forecast (api/compliance/forecast_cache.py, issue 19) as an attacker and as a
careful trustee would: after the coordinator fills the cache, every other caller's forecast must be the fresh
one (the cache off) and must show no child's name, and no exact day, that the caller may not see; the
caller's reach changing with no group counter moving, the CRM changing a date of birth, a consent expiring,
a policy version coming into force, `days` at and past its limits, a group out of reach, midnight, and two
workers sharing a database."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.auth.roles import Role
from api.compliance import cache, forecast_cache
from api.compliance.forecast import month_label
from api.consents.models import ConsentKind, GivenBy, Purpose
from api.groups.models import Group
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.policy.versions import PolicyClause
from tests import test_break_org_cache as org_break
from tests.kit.auth import Actor, make_actor
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.databases import engine_for, throwaway_database
from tests.kit.incidents import make_incident
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field
from tests.kit.statements import count_statements
from tests.test_compliance_cache import _publish, fresh, served
from tests.test_forecast_cache import _empty_cache  # noqa: F401  (the autouse fixture)

FORECAST = "/api/v1/compliance/forecast"


def group_forecast(group_id: uuid.UUID, days: int | None = None) -> str:
    return f"/api/v1/groups/{group_id}/compliance/forecast" + ("" if days is None else f"?days={days}")


def _consented(session: Session, child: Participant) -> None:
    """The three consents the rules read, given 100 days ago."""
    given_on = clock.today() - timedelta(days=100)
    make_consent(session, child, ConsentKind.esafety_agreement, given_on=given_on)
    images = [Purpose.social_media, Purpose.website]
    make_consent(session, child, ConsentKind.image_use, purposes=images, given_on=given_on)
    make_consent(session, child, ConsentKind.code_of_conduct, given_by=GivenBy.participant, given_on=given_on)


def _turning_26_on(session: Session, day: date, **fields: Any) -> Participant:
    """A consented young person whose 26th birthday (past every world group's range) is `day`."""
    child = make_participant(session, date_of_birth=day.replace(year=day.year - 26), **fields)
    _consented(session, child)
    return child


def _same_as_fresh(client: TestClient, paths: list[str], callers: tuple[Actor, ...], label: object) -> None:
    """Every caller, every path, served twice (the second from the cache) against the cache off; callers
    interleaved path by path, so that one caller's read fills the table the next reads."""
    for path, caller in itertools.product(paths, callers):
        now = served(client, path, caller.headers)
        assert now == fresh(client, path, caller.headers), (label, caller.role, path)
        assert served(client, path, caller.headers) == now, (label, caller.role, path)


def _hides(body: bytes, birthday: date, name: str) -> None:
    """Neither the day nor the child's name is in `body` (the month may be)."""
    text = body.decode()
    assert birthday.isoformat() not in text
    assert name not in text


def _group_of(body: bytes, group: Group) -> dict[str, Any]:
    (found,) = (g for g in orjson.loads(body)["groups"] if g["group_id"] == str(group.id))
    return dict(found)


def test_after_the_coordinator_fills_the_cache_others_see_no_hidden_child_s_birthday_or_name(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor
) -> None:
    """A group with a young person the member of staff sees today and one who joins in a fortnight (whom
    they do not see yet), turning 26 in three weeks: the coordinator reads first (by the day, named); a
    trustee and that member of staff get the fresh forecast, by the month, without the day or the name."""
    assert coordinator.staff is not None
    staff = make_actor(session, Role.staff)
    assert staff.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    make_membership(session, group, staff=staff.staff)
    birthday = clock.today() + timedelta(days=21)
    joining = _turning_26_on(session, birthday, full_name="Hidden Joiner")
    make_membership(session, group, participant=joining, started_on=clock.today() + timedelta(days=14))
    paths = [FORECAST, group_forecast(group.id), f"{FORECAST}?days=30", group_forecast(group.id, 366)]
    by_day = served(client, FORECAST, coordinator.headers)
    assert _group_of(by_day, group)["next_change_on"] == birthday.isoformat()
    assert "Hidden Joiner" in by_day.decode()
    _same_as_fresh(client, paths, (coordinator, trustee, staff), "kept")
    for caller in (trustee, staff):
        for path in paths:
            body = served(client, path, caller.headers)
            _hides(body, birthday, "Hidden Joiner")
            assert month_label(birthday) in body.decode(), (caller.role, path)
    # The dashboard pages show the same forecast: neither the day nor the name there either.
    for caller in (trustee, staff):
        for page in ("/dashboard", f"/dashboard/groups/{group.id}"):
            r = client.get(page, headers=caller.headers)
            assert r.status_code == 200, (caller.role, page, r.text)
            _hides(r.content, birthday, "Hidden Joiner")


def test_a_member_of_staff_leaving_one_group_folds_another_s_days_with_no_write_to_it(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor
) -> None:
    """The member of staff sees a young person through a first group; the young person joins a second group
    of theirs in ten days and turns 26 there in twenty: by the day while they see them. Their membership of
    the first group ends (that group's counter moves, the second's does not): the second group's days kept
    must now be folded by the month for them, as a fresh forecast does."""
    assert coordinator.staff is not None
    staff = make_actor(session, Role.staff)
    assert staff.staff is not None
    first, second = (make_compliant_group(session, coordinator.staff) for _ in range(2))
    through_first = make_membership(session, first, staff=staff.staff)
    make_membership(session, second, staff=staff.staff)
    birthday = clock.today() + timedelta(days=20)
    child = _turning_26_on(session, birthday, full_name="Seen Through First")
    make_membership(session, first, participant=child)
    make_membership(session, second, participant=child, started_on=clock.today() + timedelta(days=10))
    paths = [FORECAST, group_forecast(second.id)]
    _same_as_fresh(client, paths, (coordinator, staff, trustee), "before")
    seen = _group_of(served(client, FORECAST, staff.headers), second)
    assert (seen["next_change_on"], seen["next_change_precision"]) == (birthday.isoformat(), "day")

    through_first.ended_on = clock.today()
    session.add(through_first)
    session.commit()

    _same_as_fresh(client, paths, (staff, coordinator, trustee), "left the first group")
    body = served(client, group_forecast(second.id), staff.headers)
    _hides(body, birthday, "Seen Through First")
    assert orjson.loads(body)["next_change_precision"] == "month"


@pytest.mark.parametrize("how", ["by_external_id", "sync"])
def test_the_crm_moving_a_date_of_birth_is_forecast_afresh(
    how: str, client: TestClient, session: Session, coordinator: Actor, trustee: Actor, integration: Actor
) -> None:
    """A young person pushed by the CRM, a member of a group; the forecast kept for every caller; the CRM
    then moves their date of birth so that they turn 26 in a month: every caller's forecast shows it."""
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    born = clock.today() - timedelta(days=16 * 365)
    body: dict[str, Any] = {
        "full_name": "Pushed Child",
        "date_of_birth": born.isoformat(),
        "carer_name": "Sam Carer",
        "carer_email": "sam.carer@example.org",
        "joined_on": (clock.today() - timedelta(days=200)).isoformat(),
    }
    url = "/api/v1/participants/by-external-id/crm-forecast-1"
    created = client.put(url, json=body, headers=integration.headers)
    assert created.status_code == 201, created.text
    child = session.get(Participant, uuid.UUID(created.json()["id"]))
    assert child is not None
    _consented(session, child)
    make_membership(session, group, participant=child)
    callers = (coordinator, trustee)
    paths = [FORECAST, group_forecast(group.id), f"{FORECAST}?days=366"]
    _same_as_fresh(client, paths, callers, "before")
    before = [served(client, FORECAST, c.headers) for c in callers]

    birthday = clock.today() + timedelta(days=30)
    body["date_of_birth"] = birthday.replace(year=birthday.year - 26).isoformat()
    if how == "sync":
        r = client.post(
            "/api/v1/sync/participants",
            json={"records": [{**body, "external_id": "crm-forecast-1"}]},
            headers=integration.headers,
        )
    else:
        r = client.put(url, json=body, headers=integration.headers)
    assert r.status_code == 200, r.text

    _same_as_fresh(client, paths, callers, how)
    for caller, seen in zip(callers, before, strict=True):
        assert served(client, FORECAST, caller.headers) != seen, caller.role
    assert _group_of(served(client, FORECAST, coordinator.headers), group)["next_change_on"] == str(birthday)


def test_a_consent_expiring_and_a_version_coming_into_force_inside_the_window(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """A consent expiring in twelve days; a version published to come into force in a week, with a clause;
    that version withdrawn; the consent renewed (a new record: consents are append-only): after each, every
    caller's forecast is the fresh one, and differs from the one just before."""
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    make_membership(session, group, staff=staff_actor.staff)
    child = make_participant(session)
    make_membership(session, group, participant=child)
    given_on = clock.today() - timedelta(days=100)
    make_consent(session, child, ConsentKind.esafety_agreement, given_on=given_on)
    make_consent(session, child, ConsentKind.code_of_conduct, given_by=GivenBy.participant, given_on=given_on)
    images = [Purpose.social_media, Purpose.website]
    ends = clock.today() + timedelta(days=12)
    make_consent(session, child, ConsentKind.image_use, purposes=images, given_on=given_on, expires_on=ends)
    callers = (coordinator, trustee, staff_actor)
    paths = [FORECAST, group_forecast(group.id), f"{FORECAST}?days=8", f"{FORECAST}?days=366"]
    seen: list[bytes] = []

    def step(label: str) -> None:
        _same_as_fresh(client, paths, callers, label)
        now = served(client, f"{FORECAST}?days=366", coordinator.headers)
        assert not seen or now != seen[-1], label
        seen.append(now)

    step("expiring")
    assert _group_of(seen[-1], group)["next_change_on"] == ends.isoformat()
    words = "Images are used, from next week, only with written consent."
    version = _publish(session, clock.today() + timedelta(days=7), words)
    session.add(
        PolicyClause(version_id=version.id, clause_id="IMG-CONSENT", position=1, section="Images", text=words)
    )
    session.commit()
    step("published")
    version.withdrawn_on = clock.today()
    session.add(version)
    session.commit()
    step("withdrawn")
    make_consent(session, child, ConsentKind.image_use, purposes=images, given_on=clock.today())
    step("renewed")


@pytest.mark.parametrize("days", ["0", "367", "-1", "abc", "1.5", "", "1e2", "99999999999999999999999"])
def test_days_out_of_its_range_is_a_422_naming_days_with_the_cache_full(
    days: str, client: TestClient, session: Session, coordinator: Actor, trustee: Actor
) -> None:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    for caller in (coordinator, trustee):
        served(client, FORECAST, caller.headers)
        for path in (FORECAST, group_forecast(group.id)):
            assert refused_field(client.get(f"{path}?days={days}", headers=caller.headers)) == "days"


def test_days_at_its_limits_is_fresh_for_every_caller(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    make_membership(session, group, staff=staff_actor.staff)
    _turning_26_on(session, clock.today() + timedelta(days=1))
    child = _turning_26_on(session, clock.today() + timedelta(days=365))
    make_membership(session, group, participant=child)
    paths = [f"{p}?days={d}" for p in (FORECAST, group_forecast(group.id)) for d in (1, 2, 365, 366)]
    _same_as_fresh(client, paths, (coordinator, trustee, staff_actor), "limits")


def test_a_group_out_of_reach_answers_exactly_as_an_unknown_one_with_the_cache_full(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    """The coordinator's read keeps every group; a member of staff asking for a group they are not in (or
    not yet in, or no longer in) gets the unknown id's answer, word for word but for the id."""
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    theirs, other, later, former = (make_compliant_group(session, coordinator.staff) for _ in range(4))
    make_membership(session, theirs, staff=staff_actor.staff)
    make_membership(session, later, staff=staff_actor.staff, started_on=clock.today() + timedelta(days=1))
    make_membership(
        session,
        former,
        staff=staff_actor.staff,
        started_on=clock.today() - timedelta(days=30),
        ended_on=clock.today(),
    )
    for days in (None, 366):
        served(client, FORECAST if days is None else f"{FORECAST}?days={days}", coordinator.headers)
        for g in (theirs, other, later, former):
            served(client, group_forecast(g.id, days), coordinator.headers)
    served(client, FORECAST, staff_actor.headers)
    unknown = uuid.uuid4()

    def answer(group_id: uuid.UUID) -> tuple[int, str]:
        r = client.get(group_forecast(group_id), headers=staff_actor.headers)
        return r.status_code, r.text.replace(str(group_id), "ID")

    assert answer(theirs.id)[0] == 200
    expected = answer(unknown)
    assert expected[0] == 404
    for g in (other, later, former):
        assert answer(g.id) == expected, g


def test_a_member_of_staff_who_leaves_reads_no_forecast_kept(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor
) -> None:
    """A member of staff in a group, their forecast kept (and the coordinator's); they leave today
    (`PATCH /staff/{id}`, no membership ended, so no group's counter moves): they read nothing more, from
    the cache or the dashboard, and every other caller's forecast is the fresh one."""
    assert coordinator.staff is not None
    staff = make_actor(session, Role.staff)
    assert staff.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    make_membership(session, group, staff=staff.staff)
    paths = [FORECAST, group_forecast(group.id)]
    _same_as_fresh(client, paths, (staff, coordinator, trustee), "before")
    r = client.patch(
        f"/api/v1/staff/{staff.staff.id}", json={"left_on": str(clock.today())}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text
    for path in [*paths, "/dashboard", f"/dashboard/groups/{group.id}"]:
        assert client.get(path, headers=staff.headers).status_code in (401, 403), path
    _same_as_fresh(client, paths, (coordinator, trustee), "left")


def test_midnight_ends_a_reach_a_membership_and_a_consent_with_no_write(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    """At midnight a member of staff's membership of the group that lets them see a young person ends, and
    a consent expires: nothing written, and every caller's forecast is the fresh one on either side."""
    coordinator, staff, trustee = org_break.ten_to_midnight(fixed_clock, session)
    assert coordinator.staff is not None
    assert staff.staff is not None
    first, second = (make_compliant_group(session, coordinator.staff) for _ in range(2))
    tomorrow = clock.today() + timedelta(days=1)
    make_membership(session, first, staff=staff.staff, ended_on=tomorrow)
    make_membership(session, second, staff=staff.staff)
    child = _turning_26_on(session, clock.today() + timedelta(days=20), full_name="Midnight Child")
    make_membership(session, first, participant=child)
    make_membership(session, second, participant=child, started_on=clock.today() + timedelta(days=5))
    make_consent(session, child, ConsentKind.image_use, purposes=[Purpose.website], expires_on=tomorrow)
    callers = (staff, coordinator, trustee)
    paths = [FORECAST, group_forecast(second.id), f"{FORECAST}?days=7"]
    _same_as_fresh(client, paths, callers, "evening")
    evening = served(client, group_forecast(second.id), staff.headers)
    assert orjson.loads(evening)["next_change_precision"] == "day"
    fixed_clock.advance(minutes=20)
    _same_as_fresh(client, paths, callers, "after midnight")
    morning = served(client, group_forecast(second.id), staff.headers)
    assert orjson.loads(morning)["next_change_precision"] == "month"
    assert client.get(group_forecast(first.id), headers=staff.headers).status_code == 404


def test_stepping_every_window_keeps_a_bounded_number_of_tables_and_policies(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor
) -> None:
    """A caller asking every `days` from 1 to 366 (twice over, and a trustee too) leaves at most `TABLES`
    tables of every group's days, and the policy versions ahead no more than that either: each entry is
    per window, so a cap of `COMPLIANCE_CACHE_ENTRIES` would let a caller keep hundreds."""
    assert coordinator.staff is not None
    make_compliant_group(session, coordinator.staff)
    _publish(session, clock.today() + timedelta(days=3), "Soon.")
    for caller in (coordinator, trustee):
        for days in range(1, 367):
            assert client.get(f"{FORECAST}?days={days}", headers=caller.headers).status_code == 200
    assert len(forecast_cache._tables._entries) <= forecast_cache.TABLES
    assert len(forecast_cache._policies._entries) <= forecast_cache.TABLES


def test_the_forecast_reads_no_table_the_cache_calls_unread(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """A write to a table in `cache.UNREAD_TABLES` moves no counter, so no forecast statement may read one
    (tests/test_compliance_cache.py checks the evaluations' statements, not the forecast's window load or
    its policy versions ahead): fresh, filled and restricted, for every caller."""
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    groups = [make_compliant_group(session, coordinator.staff) for _ in range(4)]
    make_membership(session, groups[0], staff=staff_actor.staff)
    make_incident(session, groups[0], coordinator.staff)
    callers = (coordinator, trustee, staff_actor)
    with count_statements(session) as statements:
        for caller in callers:
            fresh(client, FORECAST, caller.headers)
            served(client, FORECAST, caller.headers)
        groups[1].name = "Renamed"  # one group of four missed: the restricted load
        session.add(groups[1])
        session.commit()
        for caller in callers:
            served(client, f"{FORECAST}", caller.headers)
            served(client, group_forecast(groups[0].id), caller.headers)
    reads = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert any("window_" in s or "membership" in s for s in reads)
    for table in cache.UNREAD_TABLES:
        named = re.compile(rf"(FROM|JOIN)\s+\"?{table}\"?(\s|$|,|\))", re.IGNORECASE)
        assert not [s for s in reads if named.search(s)], table


# --- two workers on one database ---------------------------------------------------------------------------


@dataclass
class _Served(org_break._Served):
    """The organisation report's two cached workers and an uncached one (its reads and writes), asked for
    the forecast; `other` is the member of staff."""

    child: Participant  # in the first group; joins the second in ten days
    staff_in_first: Membership

    def paths(self) -> list[str]:
        return [FORECAST, f"{FORECAST}?days=366", group_forecast(self.groups[1].id)]


@contextmanager
def _served() -> Iterator[_Served]:
    with throwaway_database(migrated=True) as db_url, engine_for(db_url) as engine:
        with Session(engine, expire_on_commit=False) as setup:
            coordinator, groups, member = org_break.coordinator_groups_and_staff(setup, 3)
            staff_in_first = make_membership(setup, groups[0], staff=member)
            make_membership(setup, groups[1], staff=member, role=MemberRole.member)
            child = _turning_26_on(setup, clock.today() + timedelta(days=20))
            make_membership(setup, groups[0], participant=child)
            soon = clock.today() + timedelta(days=10)
            make_membership(setup, groups[1], participant=child, started_on=soon)
            callers = org_break.three_callers(setup, coordinator, member)
        with org_break.cached_and_uncached(db_url) as (cached, uncached):
            yield _Served(cached, uncached, callers, groups, member, child, staff_in_first)


def test_two_workers_serve_the_fresh_forecast_after_writes_through_either() -> None:
    """As production runs it: two workers with a cache each, one database; after each write over HTTP (a
    group opened, a member of staff's reach cut, a young person's birthday moved, a group archived), every
    read from either worker, several times, is a third, uncached server's answer for every caller."""
    today = clock.today()
    with _served() as s:
        s.every_answer_is_fresh("first")
        s.write("PATCH", f"/groups/{s.groups[2].id}", {"visibility": "public"})
        s.every_answer_is_fresh("opened up")
        s.write("POST", f"/memberships/{s.staff_in_first.id}/end", {"ended_on": str(today)})
        s.every_answer_is_fresh("reach cut")
        turns = today + timedelta(days=40)
        born = turns.replace(year=turns.year - 26)
        s.write("PATCH", f"/participants/{s.child.id}", {"date_of_birth": str(born)})
        s.every_answer_is_fresh("birthday moved")
        s.write("POST", f"/groups/{s.groups[2].id}/archive", {"archived_on": str(today)})
        s.every_answer_is_fresh("archived")
