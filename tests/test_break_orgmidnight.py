"""Trying to break the organisation report's members kept across midnight (api/compliance/org_people.py) by
TIME: the day turning with nothing written, `as_of` moving back and forth, ages and leaving days crossing
midnight, consents recorded in the first hour of the organisation's day (London ahead of UTC, and the night
the clocks go back), a trustee's month-snapped day. After each, every caller's report (JSON and CSV) is
byte for byte a fresh one, and the members are read again exactly when a day they turn on has come."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlmodel import Session, select

from api import clock
from api.auth.roles import Role
from api.compliance import cache, org_people
from api.compliance.answered import EVERY_ACTIVE
from api.consents.models import ConsentKind, GivenBy, Purpose
from api.groups.models import Group
from api.memberships.models import Membership
from api.participants.models import Participant
from tests.kit.auth import Actor, make_actor, token_headers
from tests.kit.clock import FixedClock
from tests.kit.compliance import make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.statements import count_statements
from tests.test_break_org_cache import ten_to_midnight
from tests.test_compliance_cache import World, fresh, served
from tests.test_org_people import (  # noqa: F401  (_empty_cache: the autouse fixture)
    MEMBERS_READ,
    _empty_cache,
    _members_read,
    _organisation_write,
    _report,
    _world,
)
from tests.test_org_report_cache import CSV, REPORT

CODE_OF_CONDUCT = b"GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT"
DAY_PARAMETERS = ("as_of", "as_of_end")


def _compared_with_the_day(statement: sa.Select[Any]) -> set[tuple[str, str]]:
    """Every (table, column) `statement` compares with `as_of` or `as_of_end`, the column on its own on the
    other side (a column inside an expression would escape the set: refused)."""
    found: set[tuple[str, str]] = set()
    for element in sa.sql.visitors.iterate(statement):
        if isinstance(element, BindParameter) and element.value is None:
            assert element.key in DAY_PARAMETERS, element.key  # no other value bound per call
        if isinstance(element, sa.sql.functions.FunctionElement):
            assert element.name.lower() not in {"now", "current_date", "current_timestamp", "date"}, element
        if not isinstance(element, BinaryExpression):
            continue
        sides = (element.left, element.right)
        if any(isinstance(s, BindParameter) and s.key in DAY_PARAMETERS for s in sides):
            (column,) = [s for s in sides if isinstance(s, sa.Column)]
            found.add((column.table.name, column.name))
    return found


def test_every_column_the_members_statements_compare_with_the_day_has_its_next_day_in_the_horizon() -> None:
    """What the members kept read turns on the day only through their statements' comparisons of a column
    with `as_of` or the end of it, and the clock nowhere: each such column's first day after `as_of` is read
    by `HORIZON` (a filter added without it would keep a table past the day it changes)."""
    read = _compared_with_the_day(EVERY_ACTIVE.members) | _compared_with_the_day(EVERY_ACTIVE.consents)
    assert {("membership", "started_on"), ("consent", "created_at"), ("online_group", "archived_on")} <= read
    horizon = set().union(*(_compared_with_the_day(s) for s in org_people.HORIZON))  # type: ignore[arg-type]
    assert read <= horizon


def _signed_in_again(*actors: Actor) -> None:
    """Tokens last 30 minutes and are stamped at the fixed clock: new ones after the clock moved a day (no
    write: the counters stay)."""
    for actor in actors:
        assert actor.user is not None
        actor.headers = token_headers(actor.user)


def _every_caller_fresh(client: TestClient, callers: tuple[Actor, ...], path: str, label: object) -> None:
    for caller in callers:
        for extra in ({}, CSV):
            headers = caller.headers | extra
            assert served(client, path, headers) == fresh(client, path, headers), (label, caller.role, extra)


def _standing(session: Session) -> cache.GroupsVersions:
    counters = cache.read_groups(session)
    session.rollback()
    return counters


def _young_person(
    session: Session,
    group: Group,
    *,
    code_recorded_at: datetime | None = None,
    agreement_expires_on: date | None = None,
    **fields: Any,
) -> Participant:
    """A member of `group` holding the three consents the rules read, given long ago by a carer (the code of
    conduct by themself) and recorded then too: the code of conduct recorded at `code_recorded_at` if given,
    the e-safety agreement expiring on `agreement_expires_on` if given."""
    person = make_participant(session, **fields)
    make_membership(session, group, participant=person)
    given_on = clock.today() - timedelta(days=300)
    stamp = (
        {} if code_recorded_at is None else {"created_at": code_recorded_at, "updated_at": code_recorded_at}
    )
    make_consent(
        session, person, ConsentKind.esafety_agreement, given_on=given_on, expires_on=agreement_expires_on
    )
    make_consent(
        session,
        person,
        ConsentKind.image_use,
        purposes=[Purpose.social_media, Purpose.website],
        given_on=given_on,
    )
    make_consent(
        session, person, ConsentKind.code_of_conduct, given_by=GivenBy.participant, given_on=given_on, **stamp
    )
    return person


def test_the_members_kept_serve_day_after_day_while_ages_and_leaving_days_cross_midnight(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    """Kept at ten to midnight, the members serve the next day and the one after with an organisation write
    each day (nothing they read changes): a young person turns 26 (over the groups' range) on the first, one
    leaves the organisation on the second, and each day's report, evaluated again over the members kept,
    shows it as a fresh one does. On the third day a consent expires: the members are read again."""
    coordinator, staff_actor, trustee = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    first = clock.today() + timedelta(days=1)
    _young_person(session, w.group, date_of_birth=first.replace(year=first.year - 26))
    _young_person(session, w.group, left_on=first + timedelta(days=1))
    _young_person(session, w.group, agreement_expires_on=first + timedelta(days=2))
    callers = (coordinator, trustee, staff_actor)
    body, read = _report(session, client, coordinator)
    assert read == list(MEMBERS_READ)
    # The first day after midnight, then a day later each time (tokens made again: they last 30 minutes).
    fixed_clock.advance(minutes=20)
    seen = [body]
    for day, (reads_members, rule) in enumerate(
        ((False, b"GRP-AGE-RANGE"), (False, b"GRP-NO-FORMER-PARTICIPANTS"), (True, b"GRP-ESAFETY-AGREEMENT"))
    ):
        assert clock.today() == first + timedelta(days=day)
        _signed_in_again(*callers)
        _organisation_write(session, w)
        body, read = _report(session, client, coordinator)
        assert read == (list(MEMBERS_READ) if reads_members else []), clock.today()
        assert body == fresh(client, REPORT, coordinator.headers), clock.today()
        assert rule in body, clock.today()
        assert rule not in seen[-1], clock.today()
        seen.append(body)
        _every_caller_fresh(client, callers, REPORT, clock.today())
        fixed_clock.advance(days=1)


def test_a_day_before_the_members_kept_never_takes_them(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    """Kept for today, which nothing after today changes (no day after it to turn on): the day before is read
    afresh, where a young person who joined today is not yet a member; then today again from the first."""
    coordinator, staff_actor, trustee = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    today = clock.today()
    newcomer = make_participant(session, date_of_birth=today.replace(year=today.year - 9))  # under the range
    make_membership(session, w.group, participant=newcomer, started_on=today)
    now, read = _report(session, client, coordinator)
    assert read == list(MEMBERS_READ)
    assert org_people.kept_for(session, today, _standing(session)) is not None
    assert org_people.kept_for(session, today - timedelta(days=1), _standing(session)) is None
    yesterday = f"{REPORT}?as_of={today - timedelta(days=1)}"
    with_count = _report_at(session, client, coordinator, yesterday)
    assert with_count[1] == list(MEMBERS_READ)
    assert with_count[0] == fresh(client, yesterday, coordinator.headers)
    assert b"GRP-AGE-RANGE" in now
    assert b"GRP-AGE-RANGE" not in with_count[0]
    again, read = _report(session, client, coordinator)
    assert read == []
    assert again == now
    _every_caller_fresh(client, (coordinator, trustee, staff_actor), yesterday, "yesterday")


def _report_at(session: Session, client: TestClient, actor: Actor, path: str) -> tuple[bytes, list[str]]:
    with count_statements(session) as statements:
        body = served(client, path, actor.headers)
    return body, _members_read(statements)


# Instants in the first hour of the organisation's day: London an hour ahead of UTC (summer; the night the
# clocks go back, 25 October 2026), and the same as UTC (the next night; the night they went forward).
FIRST_HOUR = {
    "summer": datetime(2026, 7, 2, 23, 10, tzinfo=UTC),
    "the night the clocks go back": datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
    "the night after": datetime(2026, 10, 26, 0, 10, tzinfo=UTC),
    "the night the clocks went forward": datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
}


@pytest.mark.parametrize("night", sorted(FIRST_HOUR))
def test_a_consent_recorded_in_the_first_hour_of_the_day_keeps_yesterday_s_members_to_yesterday(
    fixed_clock: FixedClock, client: TestClient, session: Session, night: str
) -> None:
    """A code of conduct signed long ago but recorded just after midnight in London (before midnight UTC in
    summer): yesterday's report, loaded after it, does not count it and may serve no later day; today's
    counts it."""
    fixed_clock.set(FIRST_HOUR[night])
    coordinator, staff_actor, trustee = (
        make_actor(session, Role.coordinator, coordinator=True),
        make_actor(session, Role.staff),
        make_actor(session, Role.trustee),
    )
    w = _world(session, coordinator, staff_actor)
    today = clock.today()
    assert clock.start_of(today) <= clock.now() < clock.start_of(today) + timedelta(hours=1)
    _young_person(session, w.group, code_recorded_at=clock.now())
    yesterday = f"{REPORT}?as_of={today - timedelta(days=1)}"
    before, read = _report_at(session, client, coordinator, yesterday)
    assert read == list(MEMBERS_READ)
    assert before == fresh(client, yesterday, coordinator.headers)
    assert CODE_OF_CONDUCT in before
    assert org_people.kept_for(session, today, _standing(session)) is None
    now, read = _report(session, client, coordinator)
    assert read == list(MEMBERS_READ)
    assert now == fresh(client, REPORT, coordinator.headers)
    assert CODE_OF_CONDUCT not in now
    for path in (yesterday, REPORT):
        _every_caller_fresh(client, (coordinator, trustee, staff_actor), path, night)


@pytest.mark.parametrize(
    "recorded", ["at the first instant of the next day", "at the last instant of the day"]
)
def test_a_past_day_s_members_serve_the_next_day_only_if_every_consent_was_recorded_by_its_end(
    client: TestClient,
    session: Session,
    coordinator: Actor,
    trustee: Actor,
    staff_actor: Actor,
    recorded: str,
) -> None:
    """A past day's table, kept when no consent was recorded after that day: it serves the day after, unless
    a consent was recorded at the very first instant of it (which counts from then, not the day before)."""
    w = _world(session, coordinator, staff_actor)
    past = clock.today() - timedelta(days=40)
    end = clock.start_of(past + timedelta(days=1))
    late = recorded == "at the first instant of the next day"
    _young_person(session, w.group, code_recorded_at=end if late else end - timedelta(microseconds=1))
    on_past = f"{REPORT}?as_of={past}"
    body, read = _report_at(session, client, coordinator, on_past)
    assert read == list(MEMBERS_READ)
    assert body == fresh(client, on_past, coordinator.headers)
    assert (CODE_OF_CONDUCT in body) is late
    next_day = f"{REPORT}?as_of={past + timedelta(days=1)}"
    after, read = _report_at(session, client, coordinator, next_day)
    assert read == (list(MEMBERS_READ) if late else [])
    assert after == fresh(client, next_day, coordinator.headers)
    assert CODE_OF_CONDUCT not in after
    for path in (on_past, next_day):
        _every_caller_fresh(client, (coordinator, trustee, staff_actor), path, recorded)


@pytest.mark.parametrize("ends", [False, True])
def test_a_trustee_s_month_kept_serves_today_and_tomorrow_unless_a_membership_ended_in_between(
    fixed_clock: FixedClock, client: TestClient, session: Session, ends: bool
) -> None:
    """A trustee's day in a past month is that month's last: kept for it, the members serve today and, after
    midnight, tomorrow, when nothing they read turns on a day between; a membership ended on the first of
    this month is such a day."""
    coordinator, staff_actor, trustee = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    today = clock.today()
    month_end = today.replace(day=1) - timedelta(days=1)
    if ends:
        _end_child(session, w, today.replace(day=1))
    in_june = f"{REPORT}?as_of={month_end.replace(day=10)}"
    body, read = _report_at(session, client, trustee, in_june)
    assert read == list(MEMBERS_READ)
    assert f'"as_of":"{month_end}"'.encode() in body
    assert body == fresh(client, in_june, trustee.headers)
    callers = (trustee, coordinator, staff_actor)
    for label in ("today", "after midnight"):
        _signed_in_again(*callers)
        now, read = _report_at(session, client, trustee, REPORT)
        assert read == (list(MEMBERS_READ) if ends and label == "today" else []), label
        assert now == fresh(client, REPORT, trustee.headers), label
        for path in (in_june, REPORT):
            _every_caller_fresh(client, callers, path, label)
        fixed_clock.advance(minutes=20)


def _end_child(session: Session, w: World, on: date) -> None:
    m = session.exec(
        select(Membership).where(Membership.group_id == w.group.id, Membership.participant_id == w.child.id)
    ).one()
    m.ended_on = on
    session.add(m)
    session.commit()


def _scattered_world(session: Session, rnd: random.Random, coordinator: Actor, staff_actor: Actor) -> None:
    """Groups starting and archived, memberships beginning and ending, young people leaving and having
    birthdays at the edges of the groups' ages, consents given, expiring and withdrawn, some recorded late:
    on days scattered over the weeks around today, most of them far enough apart for a table to be kept."""
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    today = clock.today()

    def near() -> date:
        return today + timedelta(days=rnd.randint(-4, 30))

    groups = [make_compliant_group(session, coordinator.staff) for _ in range(3)]
    groups.append(make_compliant_group(session, coordinator.staff, started_on=near()))
    groups.append(
        make_compliant_group(session, coordinator.staff, archived_on=max(near(), today + timedelta(1)))
    )
    make_membership(session, groups[0], staff=staff_actor.staff)
    make_membership(session, groups[1], staff=staff_actor.staff, ended_on=today + timedelta(days=3))
    for _ in range(6):
        age = rnd.choice([11, 15, 26])
        born = today.replace(year=today.year - age) + timedelta(days=rnd.randint(-3, 12))
        person = make_participant(session, date_of_birth=born, left_on=near() if rnd.random() < 0.3 else None)
        started = min(near(), today) if rnd.random() < 0.6 else near()
        ended = started + timedelta(days=rnd.randint(1, 20)) if rnd.random() < 0.4 else None
        make_membership(session, rnd.choice(groups), participant=person, started_on=started, ended_on=ended)
        for kind in (ConsentKind.esafety_agreement, ConsentKind.image_use, ConsentKind.code_of_conduct):
            if rnd.random() < 0.3:
                continue
            given_on = near() if rnd.random() < 0.3 else today - timedelta(days=300)
            fields: dict[str, Any] = {"given_on": given_on}
            if rnd.random() < 0.3:
                fields["expires_on"] = given_on + timedelta(days=rnd.randint(1, 30))
            if rnd.random() < 0.2:
                fields["withdrawn_on"] = given_on + timedelta(days=rnd.randint(1, 30))
            if rnd.random() < 0.3:  # recorded now, whatever day it claims
                fields["created_at"] = fields["updated_at"] = clock.now()
            if kind is ConsentKind.image_use:
                fields["purposes"] = [Purpose.social_media, Purpose.website]
            own = kind is ConsentKind.code_of_conduct or rnd.random() < 0.3
            make_consent(
                session, person, kind, given_by=GivenBy.participant if own else GivenBy.parent_carer, **fields
            )


def _dated_write(session: Session, rnd: random.Random, staff: Actor) -> None:
    """One of: an organisation write; a consent recorded now, dated a few days either side of today; a
    membership ended from a day soon; a young person joining a group from a day soon; or nothing."""
    today = clock.today()
    soon = today + timedelta(days=rnd.randint(0, 3))
    people = session.exec(select(Participant)).all()
    choice = rnd.randrange(5)
    if choice == 0:
        assert staff.staff is not None
        staff.staff.personal_phone = f"07700 9{rnd.randrange(100000):05d}"
        session.add(staff.staff)
        session.commit()
    elif choice == 1:
        kind = rnd.choice([ConsentKind.esafety_agreement, ConsentKind.code_of_conduct])
        given_on = today + timedelta(days=rnd.randint(-3, 3))
        make_consent(
            session,
            rnd.choice(people),
            kind,
            given_by=GivenBy.participant,
            given_on=given_on,
            created_at=clock.now(),
        )
    elif choice == 2:
        open_ = session.exec(
            select(Membership).where(Membership.participant_id.is_not(None), Membership.ended_on.is_(None))  # type: ignore[union-attr]
        ).all()
        if open_:
            m = rnd.choice(open_)
            m.ended_on = max(soon, m.started_on + timedelta(days=1))
            session.add(m)
            session.commit()
    elif choice == 3:
        group = rnd.choice(session.exec(select(Group)).all())
        make_membership(session, group, participant=make_participant(session), started_on=soon)


@pytest.mark.parametrize(("seed", "writes"), [(2, False), (3, False), (8, True), (9, True)])
def test_day_by_day_across_the_clocks_going_back_every_report_is_a_fresh_one(
    fixed_clock: FixedClock,
    client: TestClient,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    writes: bool,
) -> None:
    """A week around 25 October: each evening and just after each midnight (London), every caller's report
    on today, yesterday, the day before and the first two days, JSON and CSV, in a shuffled order, against
    a fresh one; with nothing written in between, or with a write dated about then before each round; the
    members kept were taken for some of them."""
    rnd = random.Random(seed)
    fixed_clock.set(datetime(2026, 10, 22, 22, 50, tzinfo=UTC))  # 23:50 in London (summer time)
    callers = (
        make_actor(session, Role.coordinator, coordinator=True),
        make_actor(session, Role.trustee),
        make_actor(session, Role.staff),
    )
    _scattered_world(session, rnd, callers[0], callers[2])
    taken: list[bool] = []
    kept_for = org_people.kept_for

    def spied(session: Session, as_of: date, counters: cache.GroupsVersions) -> Any:
        found = kept_for(session, as_of, counters)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(org_people, "kept_for", spied)
    first = clock.today()
    for step in range(10):
        _signed_in_again(*callers)
        if writes and step % 2 == 0:  # before the round just after midnight
            _dated_write(session, rnd, callers[0])
        today = clock.today()
        days = {today, today - timedelta(days=1), today - timedelta(days=2), first, first + timedelta(days=1)}
        paths = [REPORT] + [f"{REPORT}?as_of={d}" for d in sorted(days) if d <= today]
        rnd.shuffle(paths)
        for path in paths:
            _every_caller_fresh(client, callers, path, (seed, step, today, path))
        # Just after midnight, then ten to the next midnight: London's, whatever the offset.
        midnight = clock.start_of(today + timedelta(days=1))
        fixed_clock.set(
            midnight + timedelta(minutes=10) if step % 2 == 0 else midnight - timedelta(minutes=10)
        )
    assert any(taken)
    assert not all(taken)


def test_days_at_the_end_of_the_calendar_keep_the_members_to_the_day_before_them(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    """A membership ending, a consent expiring and a group archived on the calendar's last day: the members
    kept serve after midnight as before, and no day from that last one."""
    coordinator, staff_actor, trustee = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    _end_child(session, w, date.max)
    make_consent(session, w.child, ConsentKind.esafety_agreement, expires_on=date.max)
    w.group.archived_on = date.max
    session.add(w.group)
    session.commit()
    _, read = _report(session, client, coordinator)
    assert read == list(MEMBERS_READ)
    fixed_clock.advance(minutes=20)
    _signed_in_again(coordinator, staff_actor, trustee)
    after, read = _report(session, client, coordinator)
    assert read == []
    assert after == fresh(client, REPORT, coordinator.headers)
    _every_caller_fresh(client, (coordinator, trustee, staff_actor), REPORT, "after midnight")
    standing = _standing(session)
    assert org_people.kept_for(session, date.max - timedelta(days=1), standing) is not None
    assert org_people.kept_for(session, date.max, standing) is None
