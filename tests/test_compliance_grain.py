"""Issue 17, a trustee stepping a day at a time: the reproductions (a) `as_of`, (b) the history's `from`,
(c) the forecast's `days` and (d) a month entry of a group's history, on a group with a child who passes
its age range mid-month. A caller who may not read every participant gets the same answer for every day of
the month (`api/compliance/grain.py`); the coordinator still gets the day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import ApiKeyScope, Permission, Role, permissions_for
from api.compliance import backfill, grain
from api.compliance.engine import Precision
from api.groups.models import Group
from tests.clock import FixedClock
from tests.factories import compliance_participant
from tests.kit.auth import Actor, make_actor, token_headers
from tests.kit.compliance import make_compliant_group as compliance_compliant_group
from tests.kit.memberships import make_membership as compliance_member
from tests.test_compliance_api import finding, group_url

BIRTHDAY = date(2026, 8, 26)  # the child turns 16, past the group's maximum age of 15
LEFT = date(2026, 8, 29)  # and leaves the group three days later
AUGUST = [date(2026, 8, d) for d in range(1, 32)]


@pytest.fixture
def group(fixed_clock: FixedClock, session: Session, coordinator: Actor) -> Group:
    """A compliant group (made on 2 July 2026) whose one child is a member from then until `LEFT`, and
    passes its age range on `BIRTHDAY`; its history backfilled from the dated facts to 10 September."""
    assert coordinator.staff is not None
    fixed_clock.set(datetime(2026, 7, 2, 12, tzinfo=UTC))
    g = compliance_compliant_group(session, coordinator.staff, max_age=15)
    child = compliance_participant(session, date_of_birth=BIRTHDAY.replace(year=BIRTHDAY.year - 16))
    compliance_member(session, g, participant=child, started_on=fixed_clock.today, ended_on=LEFT)
    fixed_clock.set(datetime(2026, 9, 10, 12, tzinfo=UTC))
    backfill.backfill(session=session, start=g.started_on, end=fixed_clock.today)
    session.commit()
    return g


def _get(client: TestClient, actor: Actor, url: str, **params: Any) -> Any:
    assert actor.user is not None
    r = client.get(url, params=params, headers=token_headers(actor.user))
    assert r.status_code == 200, r.text
    return r


def _age_range(body: dict[str, Any]) -> str:
    return str(finding(body, "GRP-AGE-RANGE")["outcome"])


def test_a_trustees_as_of_is_the_months_last_day_whatever_day_is_asked(
    group: Group, client: TestClient, coordinator: Actor, trustee: Actor
) -> None:
    """(a): `as_of` 2026-08-25 passed and 2026-08-26 failed for the trustee, giving the birthday away. Now
    every day of August answers as of 31 August (`as_of_precision` month), on the group's report, the
    organisation's report, its CSV and its workbook, and the group's CSV; the coordinator's days differ."""
    url = group_url(group.id)
    assert _age_range(_get(client, coordinator, url, as_of="2026-08-25").json()) == "pass"
    assert _age_range(_get(client, coordinator, url, as_of="2026-08-26").json()) == "fail"
    assert _get(client, coordinator, url, as_of="2026-08-26").json()["as_of_precision"] == "day"

    for path in (url, "/api/v1/compliance"):
        answers = {_get(client, trustee, path, as_of=str(d)).text for d in AUGUST}
        assert len(answers) == 1, path
        body = _get(client, trustee, path, as_of="2026-08-13").json()
        assert (body["as_of"], body["as_of_precision"]) == ("2026-08-31", "month")
    assert _age_range(_get(client, trustee, url, as_of="2026-08-26").json()) == "pass"
    for path in (f"{url}/export", "/api/v1/compliance/export"):
        names = {_get(client, trustee, path, as_of=str(d)).headers["content-disposition"] for d in AUGUST}
        [name] = names
        assert "2026-08-31" in name, path
    csvs = {_get(client, trustee, f"{url}/export", as_of=str(d)).text for d in AUGUST}
    assert len(csvs) == 1
    assert trustee.user is not None
    spreadsheet = {
        client.get(
            "/api/v1/compliance",
            params={"as_of": str(d)},
            headers={**token_headers(trustee.user), "Accept": "text/csv"},
        ).text
        for d in AUGUST
    }
    assert len(spreadsheet) == 1


def test_in_the_current_month_a_trustees_as_of_is_today(
    group: Group, client: TestClient, trustee: Actor
) -> None:
    body = _get(client, trustee, group_url(group.id), as_of="2026-09-02").json()
    assert (body["as_of"], body["as_of_precision"]) == ("2026-09-10", "month")
    assert _get(client, trustee, group_url(group.id)).json()["as_of"] == "2026-09-10"


def test_a_trustees_history_points_are_the_months_whatever_from_and_to(
    group: Group, client: TestClient, coordinator: Actor, trustee: Actor
) -> None:
    """(b): weekly points starting at `from` pinned the day a count changed by shifting `from` a day. A
    trustee's `from` is taken from the first of its month and `to` to its month's end (today in the current
    month), months only (weeks: 422 naming `interval`); the coordinator's `from` still moves by the day."""
    history = "/api/v1/compliance/history"

    def failing_first(actor: Actor, start: str) -> int:
        body = _get(client, actor, history, interval="week", to="2026-09-10", **{"from": start}).json()
        return int(body["points"][0]["failing_by_rule"].get("GRP-AGE-RANGE", 0))

    assert (failing_first(coordinator, "2026-08-25"), failing_first(coordinator, "2026-08-26")) == (0, 1)

    assert trustee.user is not None
    weekly = client.get(
        history, params={"from": "2026-08-01", "interval": "week"}, headers=token_headers(trustee.user)
    )
    assert weekly.status_code == 422, weekly.text
    assert "interval" in weekly.text
    answers = {
        _get(client, trustee, history, **{"from": str(d), "to": str(d + timedelta(days=9))}).text
        for d in AUGUST[:22]  # `to` stays in August too
    }
    assert len(answers) == 1
    body = _get(client, trustee, history, **{"from": "2026-08-17", "to": "2026-08-20"}).json()
    assert (body["start"], body["end"]) == ("2026-08-01", "2026-08-31")
    assert [p["on"] for p in body["points"]] == ["2026-08-01", "2026-08-31"]
    # A group's history: the same for every `from` and `to` in August.
    group_history = f"/api/v1/groups/{group.id}/compliance/history"
    assert len({_get(client, trustee, group_history, **{"from": str(d)}).text for d in AUGUST}) == 1


def test_a_trustees_forecast_window_ends_at_a_months_end(
    group: Group, fixed_clock: FixedClock, client: TestClient, coordinator: Actor, trustee: Actor
) -> None:
    """(c): the entry appeared when the window reached the birthday (`days` 24 against 25 from 1 August),
    giving the day. A trustee's window ends at the end of the month it reaches, so every `days` ending in
    August answers alike; the coordinator's still shows the day."""
    fixed_clock.set(datetime(2026, 8, 1, 12, tzinfo=UTC))
    url = f"/api/v1/groups/{group.id}/compliance/forecast"

    def crossings(actor: Actor, days: int) -> list[str]:
        body = _get(client, actor, url, days=days).json()
        return [
            d["on"]
            for d in body["days"]
            if any(c["finding"]["rule_id"] == "GRP-AGE-RANGE" for c in d["changes"])
        ]

    assert (crossings(coordinator, 24), crossings(coordinator, 25)) == ([], [BIRTHDAY.isoformat()])
    answers = {_get(client, trustee, url, days=days).text for days in range(1, 31)}
    assert len(answers) == 1
    body = _get(client, trustee, url, days=3).json()
    assert body["until"] == "2026-08-31"
    assert crossings(trustee, 1) == ["2026-08-01"]
    assert BIRTHDAY.isoformat() not in str(body)


def test_a_trustees_month_entry_names_what_failed_earlier_in_the_month(
    group: Group, client: TestClient, coordinator: Actor, trustee: Actor
) -> None:
    """(d): August's entry showed the state at the month's end (compliant: the child has left) dated the
    1st, with no sign of GRP-AGE-RANGE, which failed from the 26th to the 28th. The state is still the
    month's end (what holds until the next entry), and `earlier_in_month` names the rule."""
    url = f"/api/v1/groups/{group.id}/compliance/history"
    exact = _get(client, coordinator, url, **{"from": "2026-08-01"}).json()["entries"]
    ages = [(e["day"], "GRP-AGE-RANGE" in e["failing"]) for e in exact if e["day"] >= "2026-08-26"]
    assert ages[:2] == [("2026-08-26", True), ("2026-08-29", False)]
    entries = _get(client, trustee, url, **{"from": "2026-08-01", "to": "2026-08-31"}).json()["entries"]
    [august] = [e for e in entries if e["day"] == "2026-08-01"]
    assert august["precision"] == "month"
    assert "GRP-AGE-RANGE" not in august["failing"]
    assert "GRP-AGE-RANGE" in august["earlier_in_month"]
    assert august["failing"] == [e for e in exact if e["day"] <= "2026-08-31"][-1]["failing"]
    assert august["status"] == exact[-1]["status"]


def test_the_grain_of_each_kind_of_caller(session: Session, fixed_clock: FixedClock) -> None:
    """Only a caller who reads every participant keeps the day: the coordinator, not staff nor trustees.
    (An API key's integration role holds no compliance permission, so no key reaches these routes.)"""
    for role, expected in (
        (Role.coordinator, Precision.day),
        (Role.staff, Precision.month),
        (Role.trustee, Precision.month),
    ):
        actor = make_actor(session, role, coordinator=role is Role.coordinator)
        assert actor.user is not None
        assert grain.precision(Reach.of(user_principal(actor.user))) is expected, role
    assert grain.month_end(date(2028, 2, 3)) == date(2028, 2, 29)
    assert Permission.COMPLIANCE_READ not in permissions_for(Role.integration, frozenset(ApiKeyScope))


def test_the_dashboards_group_page_gives_a_trustee_the_month_and_what_failed_in_it(
    group: Group, client: TestClient, coordinator: Actor, trustee: Actor
) -> None:
    """The group page's history: the coordinator's by the day, the trustee's by the month (`grain.span`,
    `by_month`), naming the rule that failed earlier in August, and no day of the birthday or the leaving."""
    seen = _get(client, coordinator, f"/dashboard/groups/{group.id}").text
    assert BIRTHDAY.isoformat() in seen
    shown = _get(client, trustee, f"/dashboard/groups/{group.id}").text
    assert "August 2026" in shown
    assert "earlier in the month: GRP-AGE-RANGE" in shown
    assert BIRTHDAY.isoformat() not in shown
    assert LEFT.isoformat() not in shown
