"""The day the organisation report's members kept stop holding (`org_people.HORIZON`), worked out only when a
later day first asks (api/compliance/org_people.py, `_bounded`): a report for the day it loads reads none of
it; the first report of a later day reads it once, in its own transaction, and keeps what it found; a consent
recorded after the day loaded ends the table only when its young person is among the members kept; a write
to a group kept, made while it is read, keeps nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import MappingProxyType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock, facts
from api.compliance import cache, org_people
from api.consents.models import ConsentKind
from tests.kit.auth import Actor
from tests.kit.clock import FixedClock
from tests.kit.consents import make_consent
from tests.kit.participants import make_participant
from tests.kit.statements import count_statements
from tests.test_break_org_cache import ten_to_midnight
from tests.test_compliance_cache import fresh, served
from tests.test_org_people import MEMBERS_READ, REPORT, _members_read, _world

# `HORIZON`'s statements as sent: the first day after `as_of` of each filter, and the consents recorded after.
HORIZON_READ = ("min(CASE WHEN (membership.started_on >", "min(CASE WHEN (consent.given_on >")


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def _read(
    session: Session, client: TestClient, actor: Actor, path: str = REPORT
) -> tuple[bytes, list[str], int]:
    """The report served, the members' statements it sent, and how many of `HORIZON_READ` it sent."""
    with count_statements(session) as statements:
        body = served(client, path, actor.headers)
    sent = [" ".join(sql.split()) for sql in statements]
    return body, _members_read(statements), sum(any(h in sql for sql in sent) for h in HORIZON_READ)


def test_the_first_report_reads_no_horizon_and_a_later_day_reads_it_once(
    fixed_clock: FixedClock, client: TestClient, session: Session
) -> None:
    coordinator, staff_actor, _ = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    _, read, horizon = _read(session, client, coordinator)
    assert (read, horizon) == (list(MEMBERS_READ), 0)
    fixed_clock.advance(minutes=15)  # the next day: the lines all missed, the members kept asked for it
    body, read, horizon = _read(session, client, coordinator)
    assert (read, horizon) == ([], len(HORIZON_READ))
    assert body == fresh(client, REPORT, coordinator.headers)
    # An organisation write: every line evaluated again over the members kept, their day already known.
    w.admin.personal_phone = "07700 900999"
    session.add(w.admin)
    session.commit()
    body, read, horizon = _read(session, client, coordinator)
    assert (read, horizon) == ([], 0)
    assert body == fresh(client, REPORT, coordinator.headers)


def test_a_consent_recorded_after_a_past_day_ends_it_only_for_a_young_person_kept(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    w = _world(session, coordinator, staff_actor)
    past = clock.today() - timedelta(days=40)
    now = clock.now()
    # Recorded today for someone in no group: the members kept on `past` do not turn on it.
    outsider = make_participant(session)
    make_consent(
        session, outsider, ConsentKind.esafety_agreement, given_on=past - timedelta(days=9), created_at=now
    )
    session.commit()
    for day, members_read in ((past, list(MEMBERS_READ)), (past + timedelta(days=1), [])):
        path = f"{REPORT}?as_of={day}"
        body, read, _ = _read(session, client, coordinator, path)
        assert read == members_read, day
        assert body == fresh(client, path, coordinator.headers), day
    # Recorded today for a member kept: it counts from today, not on the day after `past`. Its write moved the
    # child's groups' counters, so their members are read again; the table now holds for its own day alone.
    make_consent(
        session, w.child, ConsentKind.code_of_conduct, given_on=past - timedelta(days=9), created_at=now
    )
    session.commit()
    for later in (past + timedelta(days=1), clock.today()):
        cache.clear()
        for day in (past, later):
            path = f"{REPORT}?as_of={day}"
            body, read, _ = _read(session, client, coordinator, path)
            assert read == list(MEMBERS_READ), day
            assert body == fresh(client, path, coordinator.headers), day


def test_a_kept_group_moved_while_the_horizon_is_read_keeps_nothing(
    fixed_clock: FixedClock, client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL each statement reads afresh: a write committed between the request's counters and
    `HORIZON` may show in the days found. The counters read again after it tell: the table is not used."""
    coordinator, staff_actor, _ = ten_to_midnight(fixed_clock, session)
    w = _world(session, coordinator, staff_actor)
    _read(session, client, coordinator)
    fixed_clock.advance(minutes=15)
    read_groups = cache.read_groups
    calls: list[int] = []

    def moved_on_the_second_read(s: Session) -> Any:
        found = read_groups(s)
        calls.append(1)
        if len(calls) == 2:  # `_bounded`'s, after `HORIZON`: the group written meanwhile
            every = tuple((k, v + 1 if k == facts.scope_of(w.group.id) else v) for k, v in found.every)
            return cache.GroupsVersions(every, found.org, MappingProxyType(dict(every)))
        return found

    monkeypatch.setattr(cache, "read_groups", moved_on_the_second_read)
    body, read, horizon = _read(session, client, coordinator)
    assert (read, horizon) == (list(MEMBERS_READ), len(HORIZON_READ))
    assert body == fresh(client, REPORT, coordinator.headers)
    assert len(calls) >= 2
    # Neither the table read yesterday nor today's has a day worked out from what was read.
    assert [t.bounded for _, _, t in org_people._kept.entries()] == [False, False]
