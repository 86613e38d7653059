"""Trying to break the organisation report's first evaluation (api/compliance/answered.py, engine.verdicts,
rules.base's outcomes-only paths) from the outside: groups of odd consents, memberships and participants, and
for every caller, `as_of` and filter, each group's line in the organisation report must say what that group's
own report (the full evaluation) says; no `NOT_LOADED` placeholder may reach any response."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.compliance import cache, service
from api.compliance.forecast import birthday
from api.consents.models import ConsentKind, GivenBy, Purpose
from api.groups.models import Group, Platform, Visibility
from api.memberships.models import MemberRole
from tests.kit.auth import Actor
from tests.kit.compliance import make_compliant_group, make_waiver
from tests.kit.consents import make_consent
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff

REPORT = "/api/v1/compliance"


@pytest.fixture(autouse=True)
def _empty_cache() -> Any:
    cache.clear()
    yield
    cache.clear()


def _day(rng: random.Random, as_of: date) -> date:
    """A day near `as_of` (on it, either side of it) or far in the past."""
    return rng.choice(
        [as_of, as_of - timedelta(days=1), as_of + timedelta(days=1), as_of - timedelta(days=400)]
    )


def _odd_consents(session: Session, rng: random.Random, child: Any, as_of: date) -> None:
    for _ in range(rng.randrange(0, 7)):
        kind = rng.choice(list(ConsentKind))
        purposes = rng.sample(list(Purpose), rng.randrange(0, 4)) if kind is ConsentKind.image_use else []
        if kind is ConsentKind.image_use and rng.random() < 0.2:
            purposes = [Purpose.website, Purpose.website]  # duplicates
        given_on = (
            _day(rng, as_of)
            if rng.random() < 0.4
            # On a birthday the self-consent age is compared with (13 to 25), or the day either side.
            else birthday(child.date_of_birth, rng.choice([11, 13, 15, 16, 17, 18, 19]))
            + timedelta(days=rng.choice([-1, 0, 0, 1]))
        )
        if kind is ConsentKind.image_use and rng.random() < 0.4:
            purposes = [Purpose.social_media]  # the purpose a rule asks about, alone
        extra: dict[str, Any] = {}
        if rng.random() < 0.3:
            extra["withdrawn_on"] = rng.choice([as_of, as_of + timedelta(days=1), given_on])
        if rng.random() < 0.3:
            extra["expires_on"] = rng.choice([as_of, as_of + timedelta(days=1)])
        if rng.random() < 0.15:
            extra["created_at"] = clock.now()  # recorded after a past `as_of`
            extra["updated_at"] = extra["created_at"]
        make_consent(
            session,
            child,
            kind,
            purposes=purposes,
            given_by=rng.choice(list(GivenBy)),
            given_on=given_on,
            **extra,
        )


def _odd_group(session: Session, rng: random.Random, coordinator: Actor, staff: Actor, as_of: date) -> Group:
    assert coordinator.staff is not None
    assert staff.staff is not None
    group = make_compliant_group(
        session, coordinator.staff, platform=rng.choice([Platform.facebook_group, Platform.whatsapp])
    )
    if rng.random() < 0.5:
        make_membership(session, group, staff=staff.staff, role=rng.choice(list(MemberRole)))
    if rng.random() < 0.3:
        other = make_staff(session, left_on=rng.choice([as_of, as_of - timedelta(days=3)]))
        make_membership(session, group, staff=other, role=rng.choice(list(MemberRole)))
    today = clock.today()
    for _ in range(rng.randrange(0, 5)):
        born = today - timedelta(days=365 * rng.choice([9, 12, 15, 17, 18, 19, 26]) + rng.choice([-1, 0, 1]))
        child = make_participant(
            session,
            date_of_birth=born,
            joined_on=rng.choice([as_of, as_of + timedelta(days=1), as_of - timedelta(days=300)]),
            left_on=rng.choice([None, None, as_of, as_of + timedelta(days=1), as_of - timedelta(days=2)]),
        )
        make_membership(
            session,
            group,
            participant=child,
            role=rng.choice(list(MemberRole)),
            started_on=rng.choice([group.started_on, as_of, as_of + timedelta(days=1)]),
            ended_on=rng.choice([None, None, as_of, as_of + timedelta(days=1)]),
        )
        _odd_consents(session, rng, child, as_of)
    return group


def _line(report: dict[str, Any]) -> tuple[Any, ...]:
    """A group's own report as its organisation line says it: a waived rule is neither failing nor warning
    but waived (whatever GroupSummaryPublic.failing_rules' description says)."""
    findings = report["findings"]
    counted = [f for f in findings if f["waiver"] is None]
    failing = sorted(f["rule_id"] for f in counted if f["outcome"] == "fail")
    warning = sorted(f["rule_id"] for f in counted if f["outcome"] == "warn")
    waived = sorted(f["rule_id"] for f in findings if f["waiver"] is not None and f["outcome"] != "pass")
    return report["status"], report["counts"], failing, warning, waived


def _org_line(summary: dict[str, Any]) -> tuple[Any, ...]:
    return (
        summary["status"],
        summary["counts"],
        sorted(summary["failing_rules"]),
        sorted(summary["warning_rules"]),
        sorted(summary["waived_rules"]),
    )


def _agree(client: TestClient, callers: list[Actor], params: dict[str, str]) -> int:
    compared = 0
    for caller in callers:
        r = client.get(REPORT, params=params, headers=caller.headers)
        assert r.status_code == 200, r.text
        assert "NOT_LOADED" not in r.text
        csv = client.get(REPORT, params=params, headers=caller.headers | {"Accept": "text/csv"})
        assert csv.status_code == 200, csv.text
        assert "NOT_LOADED" not in csv.text
        for summary in r.json()["groups"]:
            own = client.get(
                f"/api/v1/groups/{summary['group_id']}/compliance",
                params={k: v for k, v in params.items() if k == "as_of"},
                headers=caller.headers,
            )
            assert own.status_code == 200, own.text
            assert "NOT_LOADED" not in own.text
            assert _org_line(summary) == _line(own.json()), (caller.role, params, summary["group_id"])
            compared += 1
    return compared


@pytest.mark.parametrize("seed", range(4))
def test_each_group_line_says_what_its_own_report_says(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor, seed: int
) -> None:
    rng = random.Random(seed)
    today = clock.today()
    for as_of in (today, today - timedelta(days=2)):
        for _ in range(4):
            _odd_group(session, rng, coordinator, staff_actor, as_of)
    compared = 0
    for params in (
        {},
        {"as_of": str(today - timedelta(days=2))},
        {"as_of": str(today - timedelta(days=1))},
        {"platform": "whatsapp"},
    ):
        cache.clear()
        compared += _agree(client, [coordinator, trustee, staff_actor], params)
    assert compared > 0


def _text(r: Any) -> str:
    """A response's text, an .xlsx workbook's XML parts unzipped."""
    if r.content[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(r.content)) as book:
            return "".join(book.read(name).decode() for name in book.namelist())
    return str(r.text)


def test_no_placeholder_in_any_compliance_route(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    rng = random.Random(99)
    today = clock.today()
    groups = [_odd_group(session, rng, coordinator, staff_actor, today) for _ in range(3)]
    paths = ["/api/v1/compliance", "/api/v1/compliance/export", "/api/v1/compliance/forecast"]
    paths += ["/api/v1/compliance/history", "/dashboard", "/dashboard/report.xlsx"]
    for g in groups:
        paths += [
            f"/api/v1/groups/{g.id}/compliance{tail}" for tail in ("", "/forecast", "/export", "/history")
        ]
        paths += [f"/dashboard/groups/{g.id}", f"/dashboard/groups/{g.id}/findings.csv"]
    for caller in (coordinator, trustee, staff_actor):
        for as_of in ("", f"?as_of={today - timedelta(days=1)}"):
            cache.clear()
            for path in paths:
                for accept in ("application/json", "text/csv"):
                    url = path + (as_of if "dashboard" not in path else "")
                    r = client.get(url, headers=caller.headers | {"Accept": accept})
                    assert r.status_code < 500, (url, r.text)
                    assert "NOT_LOADED" not in _text(r), url


def _self_consent_age(client: TestClient, coordinator: Actor, age: int) -> None:
    settings = client.get("/api/v1/policy-settings", headers=coordinator.headers).json()
    settings = {k: v for k, v in settings.items() if k not in ("updated_at", "version")}
    settings["self_consent_min_age"] = age
    r = client.put("/api/v1/policy-settings", json=settings, headers=coordinator.headers)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("seed", range(4, 7))
def test_lines_agree_with_waivers_other_self_consent_ages_and_after_writes(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor, seed: int
) -> None:
    rng = random.Random(seed)
    today = clock.today()
    groups = [_odd_group(session, rng, coordinator, staff_actor, today) for _ in range(5)]
    for g in groups:
        for rule_id in rng.sample(
            [
                "GRP-IMAGE-CONSENT",
                "GRP-ESAFETY-AGREEMENT",
                "GRP-REVIEWED",
                "GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT",
                "GRP-AGE-RANGE",
            ],
            2,
        ):
            make_waiver(
                session,
                g,
                rule_id=rule_id,
                expires_on=rng.choice([today, today + timedelta(days=1), today + timedelta(days=9)]),
            )
    callers = [coordinator, trustee, staff_actor]
    for age in (18, 13, 16, 25):
        _self_consent_age(client, coordinator, age)
        assert _agree(client, callers, {}) > 0  # cached after the first caller's load
        cache.clear()
        assert _agree(client, callers, {"as_of": str(today - timedelta(days=1))}) > 0
    # Writes through the API, each followed by the (warm) report against the groups' own.
    child = make_participant(session, date_of_birth=today - timedelta(days=365 * 18))
    make_membership(session, groups[0], participant=child)
    _agree(client, callers, {})
    body = {
        "participant_id": str(child.id),
        "kind": "image_use",
        "purposes": ["social_media"],
        "given_by": "participant",
        "given_by_name": "Themself",
        "given_on": str(today),
    }
    r = client.post("/api/v1/consents", json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    _agree(client, callers, {})
    r = client.post(
        f"/api/v1/consents/{r.json()['id']}/withdraw",
        json={"withdrawn_on": str(today)},
        headers=coordinator.headers | {"If-Match": r.headers.get("etag", "*")},
    )
    assert r.status_code == 200, r.text
    _agree(client, callers, {})


def test_own_consent_on_the_self_consent_birthday_and_either_side(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor
) -> None:
    """One group a case, its only young person's consents given by themself around the birthday the
    self-consent age falls on: every rule the consents decide turns on that one day."""
    assert coordinator.staff is not None
    today = clock.today()
    for age in (18, 16):
        _self_consent_age(client, coordinator, age)
        for offset in (-1, 0, 1):
            group = make_compliant_group(session, coordinator.staff)
            born = birthday(today - timedelta(days=3), -19)  # nineteen three days ago
            child = make_participant(session, date_of_birth=born)
            make_membership(session, group, participant=child)
            on = birthday(born, age) + timedelta(days=offset)
            for kind, purposes in (
                (ConsentKind.image_use, [Purpose.social_media]),
                (ConsentKind.esafety_agreement, []),
                (ConsentKind.code_of_conduct, []),
            ):
                make_consent(
                    session, child, kind, purposes=purposes, given_by=GivenBy.participant, given_on=on
                )
        cache.clear()
        assert _agree(client, [coordinator, trustee], {}) > 0


def test_a_waived_failure_is_in_waived_rules_alone_and_counts_in_no_total(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """What the spec now says of `failing_rules`, `waived_rules`, `failing_by_rule` and the `rule` filter."""
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff, visibility=Visibility.public)
    make_waiver(session, group, rule_id="GRP-VISIBILITY-CLOSED")
    body = client.get(REPORT, headers=coordinator.headers).json()
    line = next(g for g in body["groups"] if g["group_id"] == str(group.id))
    assert (line["failing_rules"], line["waived_rules"]) == ([], ["GRP-VISIBILITY-CLOSED"])
    assert "GRP-VISIBILITY-CLOSED" not in body["totals"]["failing_by_rule"]
    ids = client.get(REPORT, params={"rule": "GRP-VISIBILITY-CLOSED"}, headers=coordinator.headers).json()
    assert [g["group_id"] for g in ids["groups"]] == []


@pytest.mark.parametrize("seed", range(7, 10))
def test_the_sync_statuses_say_what_each_groups_evaluation_says(
    session: Session, coordinator: Actor, staff_actor: Actor, seed: int
) -> None:
    """`service.group_statuses` (the answered load a CRM sync compares before and after, its consents only
    of the groups' members) against `service.group_evaluations` (the full one), some groups named, all."""
    rng = random.Random(seed)
    today = clock.today()
    groups = [_odd_group(session, rng, coordinator, staff_actor, today) for _ in range(6)]
    for as_of in (today, today - timedelta(days=1)):
        for ids in ([g.id for g in groups[:2]], [g.id for g in groups], None):
            full = service.group_evaluations(session=session, as_of=as_of, group_ids=ids)
            statuses = service.group_statuses(session=session, as_of=as_of, group_ids=ids)
            assert statuses == {k: e.status for k, e in full.items()}, (as_of, ids)
