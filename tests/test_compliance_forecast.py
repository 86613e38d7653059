"""The forecast: on the demo, the next change of each group against dates worked out from its records by
hand, and every day against a day-by-day evaluation; statements, reach, redaction and bad input."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.auth.models import User
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.common import in_force
from api.compliance import cache, forecast, loading, queries, service
from api.compliance.engine import HIDDEN_CHILD, evaluate
from api.compliance.models import GroupForecastReportPublic, OrganisationForecastPublic
from api.compliance.rules import GROUP_RULES
from api.config import get_settings
from api.consents.logic import ConsentFact, age_on, is_in_force
from api.consents.models import Consent, ConsentKind
from api.demo import seed
from api.groups.models import Group, GroupReview, RiskAssessment
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.policy.models import PolicySettings, PolicySettingsBase
from api.staff.models import Staff
from tests.clock import FixedClock
from tests.factories import compliance_group, compliance_participant
from tests.kit.auth import Actor, make_actor, signed_in_as
from tests.kit.compliance import bulk_groups as compliance_bulk_groups
from tests.kit.memberships import make_membership as compliance_member
from tests.kit.staff import make_staff
from tests.test_compliance_api import _group_with, count_queries, group_url

FORECAST = "/api/v1/compliance/forecast"


def group_forecast_url(group_id: uuid.UUID) -> str:
    return f"/api/v1/groups/{group_id}/compliance/forecast"


@pytest.fixture
def demo(fixed_clock: FixedClock, session: Session) -> date:
    seed(session)
    return fixed_clock.today


def _reaching(dob: date, age: int) -> date:
    try:
        return dob.replace(year=dob.year + age)
    except ValueError:  # 29 February: reached on 1 March
        return date(dob.year + age, 3, 1)


def _next_by_hand(session: Session, group: Group, today: date, until: date) -> tuple[date, set[str]]:
    """The first day a finding of `group` gets worse, from its records and the policy's numbers alone:
    reviews and risk assessments running out, admins' training lapsing, a child reaching one over the
    group's maximum age, an agreement or image consent reaching its expiry date, a member of staff leaving."""
    p = session.exec(select(PolicySettings)).first() or PolicySettingsBase()
    seen: list[tuple[date, str]] = []
    reviews = [
        r.reviewed_on for r in session.exec(select(GroupReview).where(GroupReview.group_id == group.id))
    ]
    seen.append((max(reviews, default=group.started_on) + timedelta(days=p.review_interval_days + 1), "R"))
    assessed = [
        a.assessed_on for a in session.exec(select(RiskAssessment).where(RiskAssessment.group_id == group.id))
    ]
    if assessed:
        seen.append((max(assessed) + timedelta(days=p.risk_assessment_valid_days + 1), "GRP-RISK-ASSESSED"))
    members = session.exec(select(Membership).where(Membership.group_id == group.id)).all()
    for m in members:
        if not in_force(m.started_on, m.ended_on, today):
            continue
        if m.staff_id is not None:
            s = session.get(Staff, m.staff_id)
            assert s is not None
            if s.left_on is not None:
                seen.append((s.left_on, "GRP-NO-DEPARTED-STAFF"))
            if m.role is MemberRole.admin and s.esafety_training_completed_on is not None:
                lapses = s.esafety_training_completed_on + timedelta(days=p.training_valid_days + 1)
                seen.append((lapses, "GRP-STAFF-TRAINING"))
            continue
        child = session.get(Participant, m.participant_id)
        assert child is not None
        if group.max_age is not None and age_on(child.date_of_birth, today) <= group.max_age:
            seen.append((_reaching(child.date_of_birth, group.max_age + 1), "GRP-AGE-RANGE"))
        kinds = {ConsentKind.esafety_agreement: "GRP-ESAFETY-AGREEMENT"}
        if group.shares_images:
            kinds[ConsentKind.image_use] = "GRP-IMAGE-CONSENT"
        for c in session.exec(select(Consent).where(Consent.participant_id == child.id)).all():
            fact = ConsentFact(c.id, c.kind, frozenset(), c.given_by, c.given_on, c.expires_on, None)
            if c.kind in kinds and c.expires_on is not None and is_in_force(fact, today):
                seen.append((c.expires_on, kinds[c.kind]))
    ahead = [(d, rule) for d, rule in seen if today < d <= until]
    first = min(d for d, _ in ahead)
    rules = {"GRP-PERIODIC-REVIEW" if rule == "R" else rule for d, rule in ahead if d == first}
    return first, rules


def test_on_the_demo_each_groups_next_change_is_the_one_worked_out_by_hand(
    demo: date, session: Session, client: TestClient
) -> None:
    r = client.get(FORECAST, params={"days": 366}, headers=signed_in_as(session, Role.coordinator))
    assert r.status_code == 200, r.text
    body = r.json()
    OrganisationForecastPublic.model_validate(body)
    assert body["as_of"] == demo.isoformat()
    until = demo + timedelta(days=366)
    assert body["until"] == until.isoformat()
    groups = {g.name: g for g in session.exec(select(Group)).all()}
    assert len(body["groups"]) == 6
    for g in body["groups"]:
        expected_on, expected_rules = _next_by_hand(session, groups[g["group_name"]], demo, until)
        assert g["next_change_on"] == expected_on.isoformat(), g["group_name"]
        first = g["days"][0]
        assert first["on"] == expected_on.isoformat()
        # The rules that change that day are among those the records say; each says why and what to do.
        assert {c["finding"]["rule_id"] for c in first["changes"]} <= expected_rules, g["group_name"]
        for c in first["changes"]:
            assert c["finding"]["outcome"] in ("warn", "fail")
            assert c["finding"]["message"]
            assert c["finding"]["remediation"]
    by_name = {g["group_name"]: g for g in body["groups"]}
    # Two kinds the issue names: a review falling due, and a birthday taking a child past the age range.
    assert by_name["Youth Band"]["days"][0]["changes"][0]["finding"]["rule_id"] == "GRP-PERIODIC-REVIEW"
    assert by_name["Youth Band"]["days"][0]["status"] == "non_compliant"
    producers = by_name["Young Producers"]["days"][0]["changes"]
    assert [c["finding"]["rule_id"] for c in producers] == ["GRP-AGE-RANGE"]
    assert producers[0]["before"] == "fail"  # already one child over the range; a second reaches 20


def test_the_forecast_days_are_exactly_those_a_day_by_day_evaluation_finds(
    demo: date, session: Session
) -> None:
    days = 366
    found = forecast.forecast(session=session, reach=_full_reach(session), as_of=demo, days=days)
    groups, thresholds, loaded = loading._load(
        session,
        sa.select(*queries._GROUP_COLUMNS).where(service._active_on(demo)),
        queries._queries(lambda column: column.in_(sa.select(queries.GROUP.c.id)), window=True),
        {"as_of": demo, "window_from": demo, "window_to": demo + timedelta(days=days)},
        demo,
    )
    by_id = {g.group_id: g for g in found.groups}
    for key, g in groups:
        waivers = loaded.waivers.get(key, {})
        previous = evaluate(GROUP_RULES, loading._snapshot(key, g, loaded, demo, thresholds), waivers)
        worse_on = []
        for n in range(1, days + 1):
            day = demo + timedelta(days=n)
            ev = evaluate(GROUP_RULES, loading._snapshot(key, g, loaded, day, thresholds), waivers)
            before = {f.rule_id: f for f in previous.findings}
            if any(forecast.worse(before.get(f.rule_id), f) for f in ev.findings):
                worse_on.append(day)
            previous = ev
        assert [d.on for d in by_id[g.id].days] == worse_on, g.name


def _full_reach(session: Session) -> Reach:
    user = session.exec(select(User).where(User.role == Role.coordinator)).first()
    assert user is not None
    return Reach.of(user_principal(user))


def test_a_trustee_sees_no_childs_name_and_staff_only_their_groups(
    demo: date, session: Session, client: TestClient
) -> None:
    names = [p.full_name for p in session.exec(select(Participant)).all()]
    trustee = client.get(FORECAST, params={"days": 366}, headers=signed_in_as(session, Role.trustee))
    assert trustee.status_code == 200
    assert not [n for n in names if n in trustee.text]
    children = [
        e
        for g in trustee.json()["groups"]
        for d in g["days"]
        for c in d["changes"]
        for e in c["finding"]["evidence"]
        if e["type"] == "participant"
    ]
    assert children
    # No name, no id (not even in part), no detail: as in today's reports.
    assert all((e["label"], e["id"], e["detail"]) == (HIDDEN_CHILD, None, None) for e in children)
    coordinator = client.get(FORECAST, params={"days": 366}, headers=signed_in_as(session, Role.coordinator))
    assert [n for n in names if n in coordinator.text]

    staff = client.get(FORECAST, params={"days": 366}, headers=signed_in_as(session, Role.staff))
    assert staff.status_code == 200
    mine = {g["group_name"] for g in staff.json()["groups"]}
    assert mine
    assert "Beat Lab" not in mine
    beat_lab = session.exec(select(Group).where(Group.name == "Beat Lab")).one()
    out = client.get(group_forecast_url(beat_lab.id), headers=signed_in_as(session, Role.staff))
    assert out.status_code == 404
    unknown = client.get(group_forecast_url(uuid.uuid4()), headers=signed_in_as(session, Role.staff))
    assert out.json()["code"] == unknown.json()["code"]


def test_one_groups_forecast_is_its_part_of_the_organisations(
    demo: date, session: Session, client: TestClient
) -> None:
    headers = signed_in_as(session, Role.coordinator)
    band = session.exec(select(Group).where(Group.name == "Youth Band")).one()
    one = client.get(group_forecast_url(band.id), params={"days": 200}, headers=headers)
    assert one.status_code == 200, one.text
    GroupForecastReportPublic.model_validate(one.json())
    org = client.get(FORECAST, params={"days": 200}, headers=headers).json()
    [same] = [g for g in org["groups"] if g["group_name"] == "Youth Band"]
    assert {k: v for k, v in one.json().items() if k not in ("as_of", "until")} == same
    assert one.json()["until"] == org["until"]


@pytest.mark.parametrize("days", ["0", "367", "-1", "ninety", "+90", "9e1"])
def test_days_out_of_range_is_422_naming_days(client: TestClient, coordinator: Actor, days: str) -> None:
    r = client.get(FORECAST, params={"days": days}, headers=coordinator.headers)
    assert r.status_code == 422
    assert "days" in r.text


def test_the_forecast_takes_the_statements_of_one_evaluation_whatever_the_groups_and_days(
    client: TestClient, engine: Engine, coordinator: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = _group_with(session, coordinator, 10)
    with count_queries(engine) as report:
        assert client.get(group_url(group.id), headers=coordinator.headers).status_code == 200
    with monkeypatch.context() as m, count_queries(engine) as ahead:
        m.setattr(get_settings(), "compliance_cache_entries", 0)  # afresh
        r = client.get(group_forecast_url(group.id), params={"days": 366}, headers=coordinator.headers)
        assert r.status_code == 200
    with count_queries(engine) as kept:
        r = client.get(group_forecast_url(group.id), params={"days": 366}, headers=coordinator.headers)
        assert r.status_code == 200
    # A group's report also loads its latest roster's entries, to name each discrepancy; the forecast
    # judges the roster by its counts, as the organisation report does; and it loads the policy versions
    # coming into force in the window (one statement), to evaluate and cite each day under its version.
    assert [s for s in report if "FROM roster_entry" in s and "JOIN" in s], report
    # The report also reads the facts versions its cache checks (api/compliance/cache.py), and the group's
    # history that dates its findings, with its load (api/compliance/history_runs.py).
    assert len([s for s in report if "FROM facts_version" in s]) == 1
    assert len([s for s in report if "LEFT OUTER JOIN compliance_history" in s]) == 1
    assert len(ahead) == len(report) - 2
    # From the cache, the first forecast reads the facts versions too (api/compliance/forecast_cache.py), and
    # takes the thresholds and the policy in force that the report's load kept under the organisation's.
    assert len([s for s in kept if "FROM facts_version" in s]) == 1
    assert len(kept) == len(ahead) + 1 - 2
    admins = (make_staff(session), make_staff(session))
    counts = []
    for n in (5, 195):
        compliance_bulk_groups(session, n, admins)
        # Cold each time: what is kept under the organisation's counter (the thresholds, the policies ahead)
        # depends on which writes moved it, not on the groups' number, which is what is compared here.
        cache.clear()
        with count_queries(engine) as statements:
            r = client.get(FORECAST, params={"days": 366}, headers=coordinator.headers)
        assert r.status_code == 200
        counts.append(len(statements))
    assert len(r.json()["groups"]) == 201
    assert counts[0] == counts[1]


def test_a_membership_that_starts_in_the_window_is_forecast(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    # A departed member of staff recorded as joining the group next week: the group fails from that day.
    group = _group_with(session, coordinator, 3)
    today = fixed_clock.today
    gone = make_staff(session, left_on=today - timedelta(days=10))
    starts = today + timedelta(days=7)
    session.add(Membership(group_id=group.id, staff_id=gone.id, role=MemberRole.member, started_on=starts))
    session.commit()
    r = client.get(group_forecast_url(group.id), params={"days": 30}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_change_on"] == starts.isoformat()
    assert "GRP-NO-DEPARTED-STAFF" in {c["finding"]["rule_id"] for c in body["days"][0]["changes"]}


def _birthdays(session: Session, group: Group, start: date, end: date) -> set[date]:
    """Every birthday, in (start, end], of a young person with a membership of `group`, worked out here."""
    out = set()
    for m in session.exec(select(Membership).where(Membership.group_id == group.id)).all():
        if m.participant_id is None:
            continue
        child = session.get(Participant, m.participant_id)
        assert child is not None
        for year in range(start.year, end.year + 1):
            on = _reaching(child.date_of_birth, year - child.date_of_birth.year)
            if start < on <= end:
                out.add(on)
    return out


@pytest.mark.parametrize("path", ["api", "group api", "dashboard", "group dashboard"])
def test_a_trustee_cannot_read_a_childs_birthday_off_the_forecast(
    demo: date, fixed_clock: FixedClock, session: Session, client: TestClient, path: str
) -> None:
    """Issue 17 breaker finding 1: the day a child passes the group's maximum age is their birthday. For a
    caller who may not see the child, every surface showing forecast days gives that month only, with no
    exact date of it in the words either."""
    # The demo's child who passes a group's maximum age does so within the year: the dashboard shows 90 days,
    # so it looks from a little before.
    fixed_clock.advance(days=forecast.DEFAULT_DAYS)
    today = fixed_clock.today
    until = today + timedelta(days=forecast.DEFAULT_DAYS)
    trustee = signed_in_as(session, Role.trustee)
    coordinator = signed_in_as(session, Role.coordinator)
    whole = client.get(FORECAST, headers=coordinator).json()["groups"]
    crossing = [
        (g, d)
        for g in whole
        for d in g["days"]
        for c in d["changes"]
        if c["finding"]["rule_id"] == "GRP-AGE-RANGE"
    ]
    # The demo has a child passing a group's maximum age in the window: the coordinator sees the day.
    assert crossing
    for g, d in crossing:
        assert d.get("precision", "day") == "day"
        group = session.get(Group, uuid.UUID(g["group_id"]))
        assert group is not None
        assert date.fromisoformat(d["on"]) in _birthdays(session, group, today, until)
    months = 0
    for g in whole:
        group = session.get(Group, uuid.UUID(g["group_id"]))
        assert group is not None
        private = _birthdays(session, group, today, until)
        if path.startswith("group"):
            r = client.get(group_forecast_url(group.id), headers=trustee)
            if path == "group dashboard":
                r = client.get(f"/dashboard/groups/{group.id}", headers=trustee)
        elif path == "api":
            r = client.get(FORECAST, headers=trustee)
        else:
            r = client.get("/dashboard", headers=trustee)
        assert r.status_code == 200, r.text
        if path.endswith("dashboard"):
            # The page's forecast table: no birthday of the group's children as a day.
            table = r.text.split('id="forecast"', 1)[1].split("</table>", 1)[0]
            rows = [row for row in table.split("<tr>") if group.name in row or path == "group dashboard"]
            assert not [b for b in private if any(b.isoformat() in row for row in rows)]
            continue
        [shown] = [x for x in r.json().get("groups", [r.json()]) if x["group_id"] == g["group_id"]]
        for day in shown["days"]:
            on = date.fromisoformat(day["on"])
            # Every day of a group with a child the trustee may not see is a month, birthday or not.
            assert day["precision"] == "month"
            months += 1
            assert on.day == 1
        text = str(shown)
        assert not [b for b in private if b.isoformat() in text]
        if shown["days"]:
            assert (shown["next_change_on"], shown["next_change_precision"]) == (
                shown["days"][0]["on"],
                shown["days"][0]["precision"],
            )
    if not path.endswith("dashboard"):
        assert months


def test_staff_get_the_month_of_a_birthday_of_a_child_they_may_not_see_yet(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    """Staff see the children of their groups today; a child who joins next week is not theirs to see yet, so
    the day that child passes the group's maximum age is given to them by its month only (to the
    coordinator, by its day)."""
    today = fixed_clock.today
    staff = make_actor(session, Role.staff)
    assert staff.staff is not None
    group = compliance_group(session, max_age=15)
    compliance_member(session, group, staff=staff.staff, role=MemberRole.admin)
    turns_16 = today + timedelta(days=20)
    child = compliance_participant(session, date_of_birth=turns_16.replace(year=turns_16.year - 16))
    compliance_member(session, group, participant=child, started_on=today + timedelta(days=7))

    def crossing(headers: dict[str, str]) -> dict[str, Any]:
        r = client.get(group_forecast_url(group.id), params={"days": 60}, headers=headers)
        assert r.status_code == 200, r.text
        days: list[dict[str, Any]] = r.json()["days"]
        [day] = [d for d in days if "GRP-AGE-RANGE" in {c["finding"]["rule_id"] for c in d["changes"]}]
        return day

    seen = crossing(coordinator.headers)
    assert (seen["on"], seen.get("precision", "day")) == (turns_16.isoformat(), "day")
    hidden = crossing(staff.headers)
    assert (hidden["on"], hidden["precision"]) == (turns_16.replace(day=1).isoformat(), "month")
    assert turns_16.isoformat() not in str(hidden)
    assert child.full_name not in str(hidden)


def test_a_trustee_cannot_tell_a_month_holding_a_hidden_birthday_from_one_without(
    demo: date, session: Session, client: TestClient
) -> None:
    """Issue 17 pass 2, F2: folding only the months that hold a hidden child's birthday gave the birthday
    away (the coordinator's "GRP-PERIODIC-REVIEW falls due" on 2027-01-10, the trustee's in January 2027
    alone, and the message's "91 days ago" pins the day). For a caller who may not see every child of the
    group, every day is a month, and no message holds a day in the window or a count of days back."""
    trustee = signed_in_as(session, Role.trustee)
    coordinator = signed_in_as(session, Role.coordinator)
    params = {"days": 366}
    whole = {
        g["group_id"]: g for g in client.get(FORECAST, params=params, headers=coordinator).json()["groups"]
    }
    shown = client.get(FORECAST, params=params, headers=trustee).json()
    until = date.fromisoformat(shown["until"])
    with_birthday = without_birthday = 0
    for g in shown["groups"]:
        group = session.get(Group, uuid.UUID(g["group_id"]))
        assert group is not None
        private = _birthdays(session, group, demo, until)
        exact = {date.fromisoformat(d["on"]) for d in whole[g["group_id"]]["days"]}
        for day in g["days"]:
            on = date.fromisoformat(day["on"])
            assert (day["precision"], on.day) == ("month", 1)
            held = any((b.year, b.month) == (on.year, on.month) for b in private)
            with_birthday += held
            without_birthday += not held
            text = str(day["changes"])
            assert " days ago" not in text
            assert " days old" not in text
            pinned = [d for d in exact if (d.year, d.month) == (on.year, on.month)]
            assert not [d for d in pinned if d.isoformat() in text]
        assert g["next_change_precision"] in (None, "month")
    # Both kinds of month are in the demo's year ahead, and they look alike.
    assert with_birthday
    assert without_birthday


def test_coarsen_takes_out_later_days_and_counts_of_days_back() -> None:
    f = "Last reviewed on 2026-10-11 (91 days ago); the next review was due by 2027-01-09."
    changed = forecast._blur(f, date(2026, 11, 30))
    assert changed == "Last reviewed on 2026-10-11; the next review was due by January 2027."
    assert forecast._blur("Aged 19 on 2026-12-14, 3 days ago.", date(2026, 11, 30)) == (
        "Aged 19 in December 2026."
    )
    assert forecast._blur("The latest risk assessment is 400 days old.", date(2026, 11, 30)) == (
        "The latest risk assessment is too old."
    )
