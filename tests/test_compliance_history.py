"""Compliance history: `since` through a fail, a pass and a fail again; the rows the watch writes; the
organisation's trend and a group's changes; the demo's backfill against evaluations day by day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from api.auth.roles import Role
from api.compliance import history, policy_facts, service
from api.compliance.models import ComplianceHistory, GroupHistoryPublic, OrganisationHistoryPublic
from api.compliance.watch import announce_compliance_changes
from api.demo import seed
from api.groups.models import Group, GroupReview, Visibility
from tests.clock import FixedClock
from tests.factories import compliance_participant
from tests.kit.auth import Actor, signed_in_as, token_headers
from tests.kit.compliance import make_compliant_group as compliance_compliant_group
from tests.kit.memberships import make_membership as compliance_member
from tests.test_compliance_api import finding, group_url

HISTORY = "/api/v1/compliance/history"


def _rows(session: Session) -> int:
    return session.exec(select(func.count()).select_from(ComplianceHistory)).one()


def test_since_is_the_first_day_of_the_current_run_through_fail_pass_fail(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    assert coordinator.staff is not None
    assert coordinator.user is not None
    # Midday, so that stepping over the clocks going back in October moves the organisation's day evenly.
    fixed_clock.set(datetime(2026, 7, 2, 12, tzinfo=UTC))
    group = compliance_compliant_group(session, coordinator.staff)
    start = fixed_clock.today
    announce_compliance_changes(session)  # first seen: compliant, recorded
    interval = policy_facts._thresholds(session).review_interval_days

    # The last review was 10 days before `start`: overdue on the interval's day after.
    fixed_clock.advance(days=interval - 10 + 1)
    first_fail = fixed_clock.today
    announce_compliance_changes(session)
    fixed_clock.advance(days=5)
    body = client.get(group_url(group.id), headers=token_headers(coordinator.user)).json()
    assert finding(body, "GRP-PERIODIC-REVIEW")["outcome"] == "fail"
    assert finding(body, "GRP-PERIODIC-REVIEW")["since"] == first_fail.isoformat()
    assert finding(body, "GRP-VISIBILITY-CLOSED")["since"] is None  # passes: no since

    # Reviewed: it passes, and the watch records that.
    session.add(
        GroupReview(group_id=group.id, reviewed_on=fixed_clock.today, reviewed_by_id=coordinator.staff.id)
    )
    session.commit()
    announce_compliance_changes(session, [group.id])
    passed = client.get(group_url(group.id), headers=token_headers(coordinator.user)).json()
    assert finding(passed, "GRP-PERIODIC-REVIEW")["outcome"] == "pass"
    assert finding(passed, "GRP-PERIODIC-REVIEW")["since"] is None

    # Overdue again: the run starts afresh, not at the first failure.
    fixed_clock.advance(days=interval + 1)
    again = fixed_clock.today
    # Before the watch has recorded it, the run is taken to start today.
    early = client.get(group_url(group.id), headers=token_headers(coordinator.user)).json()
    assert finding(early, "GRP-PERIODIC-REVIEW")["since"] == again.isoformat()
    announce_compliance_changes(session)
    fixed_clock.advance(days=12)
    later = client.get(group_url(group.id), headers=token_headers(coordinator.user)).json()
    assert finding(later, "GRP-PERIODIC-REVIEW")["outcome"] == "fail"
    assert finding(later, "GRP-PERIODIC-REVIEW")["since"] == again.isoformat()
    # As of a day in the first run, the first run's start.
    past = client.get(
        group_url(group.id),
        params={"as_of": str(first_fail + timedelta(days=2))},
        headers=token_headers(coordinator.user),
    ).json()
    assert finding(past, "GRP-PERIODIC-REVIEW")["since"] == first_fail.isoformat()

    changes = client.get(
        f"/api/v1/groups/{group.id}/compliance/history",
        params={"from": str(start), "to": str(fixed_clock.today)},
        headers=token_headers(coordinator.user),
    )
    assert changes.status_code == 200, changes.text
    GroupHistoryPublic.model_validate(changes.json())
    entries = [(e["day"], e["status"], e["failing"]) for e in changes.json()["entries"]]
    review_day = first_fail + timedelta(days=5)
    assert entries == [
        (start.isoformat(), "compliant", []),
        (first_fail.isoformat(), "non_compliant", ["GRP-PERIODIC-REVIEW"]),
        (review_day.isoformat(), "compliant", []),
        (again.isoformat(), "non_compliant", ["GRP-PERIODIC-REVIEW"]),
    ]


def test_a_failure_older_than_the_history_has_no_since_but_says_so(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    """Issue 17 breaker finding 2: a group already failing when its history begins. The first row's day is
    the day the records began, not the day the failure did: `since` is null and `since_before_records`
    true, in the report, the exports and the dashboard; a failure that begins after is dated."""
    assert coordinator.staff is not None
    assert coordinator.user is not None
    fixed_clock.set(datetime(2026, 7, 2, 12, tzinfo=UTC))
    interval = policy_facts._thresholds(session).review_interval_days
    group = compliance_compliant_group(session, coordinator.staff)
    # Nothing is recorded while the review goes overdue: before the history began.
    fixed_clock.advance(days=interval)
    unrecorded = finding(
        client.get(group_url(group.id), headers=token_headers(coordinator.user)).json(), "GRP-PERIODIC-REVIEW"
    )
    assert (unrecorded["outcome"], unrecorded["since"], unrecorded["since_before_records"]) == (
        "fail",
        None,
        True,
    )
    announce_compliance_changes(session)  # the history's first row: already failing
    first_row = fixed_clock.today
    fixed_clock.advance(days=20)
    body = client.get(group_url(group.id), headers=token_headers(coordinator.user)).json()
    overdue = finding(body, "GRP-PERIODIC-REVIEW")
    assert (overdue["outcome"], overdue["since"], overdue["since_before_records"]) == ("fail", None, True)
    assert first_row.isoformat() not in str(overdue)
    csv = client.get(f"/api/v1/groups/{group.id}/compliance/export", headers=token_headers(coordinator.user))
    assert csv.status_code == 200, csv.text
    [row] = [r for r in csv.text.splitlines() if "GRP-PERIODIC-REVIEW" in r]
    assert first_row.isoformat() not in row
    assert ",True," in row
    page = client.get(f"/dashboard/groups/{group.id}", headers=token_headers(coordinator.user))
    assert page.status_code == 200
    assert "before records began" in page.text
    assert first_row.isoformat() not in page.text.split('id="forecast"')[0].split("<h2")[1]

    # Reviewed, then overdue again: this run began inside the history, so it has a day.
    session.add(
        GroupReview(group_id=group.id, reviewed_on=fixed_clock.today, reviewed_by_id=coordinator.staff.id)
    )
    session.commit()
    announce_compliance_changes(session, [group.id])
    fixed_clock.advance(days=interval + 1)
    again = fixed_clock.today
    announce_compliance_changes(session)
    fixed_clock.advance(days=3)
    later = finding(
        client.get(group_url(group.id), headers=token_headers(coordinator.user)).json(), "GRP-PERIODIC-REVIEW"
    )
    assert (later["since"], later["since_before_records"]) == (again.isoformat(), False)
    # Looking back at a day of the first run, before-records again.
    past = client.get(
        group_url(group.id), params={"as_of": str(first_row)}, headers=token_headers(coordinator.user)
    ).json()
    assert finding(past, "GRP-PERIODIC-REVIEW")["since_before_records"] is True


def test_a_group_that_begins_with_its_history_is_dated_from_its_first_day(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    """A group failing from the day it starts, recorded that day: the records began with it, so `since` is
    that day."""
    assert coordinator.user is not None
    assert coordinator.staff is not None
    group = compliance_compliant_group(
        session, coordinator.staff, started_on=fixed_clock.today, visibility=Visibility.public
    )
    announce_compliance_changes(session)
    fixed_clock.advance(days=4)
    body = client.get(group_url(group.id), headers=token_headers(coordinator.user)).json()
    closed = finding(body, "GRP-VISIBILITY-CLOSED")
    assert closed["outcome"] in ("fail", "warn")
    assert (closed["since"], closed["since_before_records"]) == (
        (fixed_clock.today - timedelta(days=4)).isoformat(),
        False,
    )


def test_the_watch_writes_a_row_only_when_something_changes(
    fixed_clock: FixedClock, coordinator: Actor, session: Session
) -> None:
    assert coordinator.staff is not None
    group = compliance_compliant_group(session, coordinator.staff)
    announce_compliance_changes(session)
    assert _rows(session) == 1
    fixed_clock.advance(days=1)
    announce_compliance_changes(session)
    assert _rows(session) == 1  # the same state: nothing written
    group.visibility = Visibility.public
    session.add(group)
    session.commit()
    announce_compliance_changes(session, [group.id])
    announce_compliance_changes(session, [group.id])  # twice the same day: still one row for the day
    rows = session.exec(select(ComplianceHistory).order_by(col(ComplianceHistory.day))).all()
    assert [(r.day, r.status) for r in rows] == [
        (fixed_clock.today - timedelta(days=1), "compliant"),
        (fixed_clock.today, "non_compliant"),
    ]
    assert rows[-1].outcomes == {"GRP-VISIBILITY-CLOSED": "fail"}


@pytest.fixture
def demo(fixed_clock: FixedClock, session: Session) -> date:
    seed(session)
    return fixed_clock.today


def test_the_demos_backfilled_history_is_what_each_day_evaluates_to(demo: date, session: Session) -> None:
    # The backfill evaluates only where a fact changes; here every 9th day of the year is evaluated in full.
    rows = session.exec(select(ComplianceHistory).order_by(col(ComplianceHistory.day))).all()
    assert rows
    for n in range(0, 366, 9):
        day = demo - timedelta(days=n)
        held = {r.group_id: r for r in rows if r.day <= day}
        for group_id, ev in service.group_evaluations(session=session, as_of=day).items():
            row = held[group_id]
            assert (row.status, row.outcomes, row.waived) == history.state_of(ev), (day, group_id)


def test_the_organisation_trend_on_the_demo(demo: date, session: Session, client: TestClient) -> None:
    headers = signed_in_as(session, Role.trustee)
    r = client.get(HISTORY, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    OrganisationHistoryPublic.model_validate(body)
    assert body["end"] == demo.isoformat()
    # A trustee's span begins on the first of its month (`grain.span`), so the points are each month's first.
    assert body["start"] == (demo - timedelta(days=365)).replace(day=1).isoformat()
    assert len(body["points"]) == 14  # the first of 13 months, and today
    assert all(date.fromisoformat(p["on"]).day == 1 for p in body["points"][:-1])
    today = client.get("/api/v1/compliance", headers=headers).json()["totals"]
    last = body["points"][-1]
    assert last["on"] == demo.isoformat()
    assert {k: last["groups"][k] for k in ("compliant", "at_risk", "non_compliant")} == {
        k: today[k] for k in ("compliant", "at_risk", "non_compliant")
    }
    assert last["groups"]["unrecorded"] == 0
    assert last["failing_by_rule"] == today["failing_by_rule"]
    # A group counts only from the day it started: fewer groups a year ago (Summer Showcase began since).
    started = sorted(g.started_on for g in session.exec(select(Group)).all())
    first = body["points"][0]
    assert sum(first["groups"].values()) == sum(s <= date.fromisoformat(first["on"]) for s in started)
    # Weeks: the coordinator's, from the day asked for.
    weekly = client.get(
        HISTORY,
        params={"interval": "week", "from": str(demo - timedelta(days=70))},
        headers=signed_in_as(session, Role.coordinator),
    )
    assert [p["on"] for p in weekly.json()["points"]][:2] == [
        str(demo - timedelta(days=70)),
        str(demo - timedelta(days=63)),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "day"}, "interval"),
        ({"from": "2026-06-01", "to": "2026-05-01"}, "from"),
        ({"to": "2099-01-01"}, "to"),
        ({"from": "2016-01-01", "interval": "week"}, "from"),
        ({"from": "yesterday"}, "from"),
    ],
)
def test_a_bad_span_is_422_naming_the_field(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, params: dict[str, str], field: str
) -> None:
    r = client.get(HISTORY, params=params, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert field in r.text


def test_a_trustee_cannot_read_a_childs_birthday_off_since_or_the_groups_history(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, trustee: Actor, session: Session
) -> None:
    """Issue 17, second breaker pass: a finding that begins the day a young person passes the group's age
    range begins on their birthday. To a caller who may not see the child (a trustee) `since` is the first
    of that month (`since_precision` month) and the group's history is by the month; the coordinator, who
    may see the child, gets the day."""
    assert coordinator.user is not None
    assert coordinator.staff is not None
    assert trustee.user is not None
    fixed_clock.set(datetime(2026, 7, 2, 12, tzinfo=UTC))
    group = compliance_compliant_group(session, coordinator.staff, max_age=15)
    birthday = date(2026, 7, 17)
    child = compliance_participant(session, date_of_birth=birthday.replace(year=birthday.year - 16))
    compliance_member(session, group, participant=child, started_on=fixed_clock.today)
    announce_compliance_changes(session, [group.id])
    fixed_clock.set(datetime(2026, 7, 17, 12, tzinfo=UTC))
    announce_compliance_changes(session, [group.id])
    fixed_clock.advance(days=3)

    def age_range(actor: Actor) -> dict[str, object]:
        assert actor.user is not None
        body = client.get(group_url(group.id), headers=token_headers(actor.user)).json()
        return finding(body, "GRP-AGE-RANGE")

    seen, unseen = age_range(coordinator), age_range(trustee)
    assert (seen["outcome"], seen["since"], seen["since_precision"]) == ("fail", "2026-07-17", "day")
    assert (unseen["outcome"], unseen["since"], unseen["since_precision"]) == ("fail", "2026-07-01", "month")
    assert "2026-07-17" not in str(unseen)

    def group_history(actor: Actor) -> list[dict[str, object]]:
        assert actor.user is not None
        r = client.get(
            f"/api/v1/groups/{group.id}/compliance/history",
            params={"from": "2026-06-01", "to": "2026-07-20"},
            headers=token_headers(actor.user),
        )
        assert r.status_code == 200, r.text
        entries: list[dict[str, object]] = r.json()["entries"]
        return entries

    assert [(e["day"], e["precision"]) for e in group_history(coordinator)] == [
        ("2026-07-02", "day"),
        ("2026-07-17", "day"),
    ]
    by_month = group_history(trustee)
    assert [(e["day"], e["precision"], e["status"]) for e in by_month] == [
        ("2026-07-01", "month", "non_compliant")
    ]
    # The trustee's workbook and CSV carry the month too, never the day.
    csv = client.get(f"/api/v1/groups/{group.id}/compliance/export", headers=token_headers(trustee.user))
    assert csv.status_code == 200, csv.text
    assert "2026-07-17" not in csv.text
    assert "2026-07-01" in csv.text
    assert ",month," in csv.text
