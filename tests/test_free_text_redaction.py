"""Free text naming a child, answered to a caller who may not read that child: the child's and their carer's
details replaced by labels, in any spelling the publication guard knows; stored as written (issue 15's
breaker). The guard itself is tested in test_publication*.py; here, each surface that answers free text."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlmodel import Session, select

from api import clock
from api.auth.roles import Role
from api.consents.publication import find
from api.consents.publication_keys import Entry
from api.consents.redaction import CARER, CHILD, CONTACT
from api.controls.models import ControlCheck, TechnologyAssessment
from api.groups.models import Group, GroupReview, RiskAssessment
from api.memberships.models import MemberRole
from api.participants.models import Participant
from api.policy.versions import PolicyVersion
from tests.kit.auth import Actor, make_actor
from tests.kit.groups import make_group, make_review, make_risk_assessment
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.statements import count_statements

AS_WRITTEN = "Ollie Carrow logged in on laptop 3 with his mum Jo Carrow 07700 900123, jo.carrow@example.org"
# The same details as the guard also finds them: upper case, a soft hyphen (a format character) inside a
# name, a surname first, the number written internationally, the address with "[at]".
RESPELT = "OL\u00adLIE CARROW; Carrow, Jo on +44 7700 900 123 or JO.CARROW [at] EXAMPLE.ORG"
WORDS = ("ollie", "carrow", "900123", "900 123", "jo.carrow")


@dataclass
class World:
    child: Participant
    group: Group  # the child's group; `inside` is its admin
    other: Group  # a group without the child; `outside` is its admin
    inside: Actor
    outside: Actor


@pytest.fixture
def world(session: Session) -> World:
    child = make_participant(
        session,
        full_name="Ollie Carrow",
        carer_name="Jo Carrow",
        carer_phone="07700 900123",
        carer_email="jo.carrow@example.org",
    )
    group, other = make_group(session), make_group(session)
    inside, outside = make_actor(session, Role.staff), make_actor(session, Role.staff)
    assert inside.staff is not None
    assert outside.staff is not None
    make_membership(session, group, staff=inside.staff, role=MemberRole.admin)
    make_membership(session, group, participant=child)
    make_membership(session, other, staff=outside.staff, role=MemberRole.admin)
    return World(child, group, other, inside, outside)


def _entries(child: Participant) -> list[Entry]:
    return [
        Entry("name", child.full_name, "child"),
        Entry("name", child.carer_name or "", "carer"),
        Entry("phone", child.carer_phone or "", "carer"),
        Entry("email", child.carer_email or "", "carer"),
    ]


def assert_redacted(answered: str, child: Participant) -> None:
    """Nothing of the child's or the carer's the guard could find, in any spelling; every label there."""
    assert find(answered, _entries(child)) == [], answered
    assert not any(word in answered.lower() for word in WORDS), answered
    for label in (CHILD, CARER, CONTACT):
        assert label in answered, answered


def _text(i: int = 0) -> str:
    return f"{AS_WRITTEN}. Also: {RESPELT}. #{i}"


def _control_url(client: TestClient, actor: Actor) -> str:
    controls = client.get("/api/v1/controls", headers=actor.headers).json()["items"]
    return f"/api/v1/controls/{controls[0]['id']}"


def _get(client: TestClient, actor: Actor, url: str) -> Any:
    r = client.get(url, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()


# --- each surface: who writes, who reads -----------------------------------------------------------------


def test_control_checks_name_the_child_only_to_those_who_reach_them(
    client: TestClient, session: Session, world: World, coordinator: Actor, trustee: Actor
) -> None:
    url = _control_url(client, coordinator)
    today = clock.today().isoformat()
    body = {"performed_on": today, "result": "issues_found", "follow_up": _text()}
    r = client.post(f"{url}/checks", json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["follow_up"] == _text()  # the coordinator reads every participant

    for reader in (trustee, world.outside):
        [check] = _get(client, reader, f"{url}/checks")["items"]
        assert_redacted(check["follow_up"], world.child)
        assert check["follow_up"].startswith(f"{CHILD} logged in on laptop 3 with his mum {CARER} {CONTACT}")
    for reader in (coordinator, world.inside):
        [check] = _get(client, reader, f"{url}/checks")["items"]
        assert check["follow_up"] == _text()

    # The single check answered to its recorder, a member of staff outside the child's group who owns it.
    assert world.outside.staff is not None
    owner = {"owner_id": str(world.outside.staff.id)}
    assert client.patch(url, json=owner, headers=coordinator.headers).status_code == 200
    r = client.post(f"{url}/checks", json=body, headers=world.outside.headers)
    assert r.status_code == 201, r.text
    assert_redacted(r.json()["follow_up"], world.child)

    session.expire_all()
    assert {c.follow_up for c in session.exec(select(ControlCheck)).all()} == {_text()}


def test_technology_assessments_and_purposes_are_redacted_alike(
    client: TestClient, session: Session, world: World, coordinator: Actor, trustee: Actor
) -> None:
    r = client.post(
        "/api/v1/technologies",
        json={"name": "Laptops", "purpose": _text(), "first_used_on": None},
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    url = f"/api/v1/technologies/{r.json()['id']}"
    body = {"assessed_on": clock.today().isoformat(), "risks": _text(1), "mitigations": _text(2)}
    r = client.post(f"{url}/assessments", json=body | {"decision": "approved"}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["risks"] == _text(1)

    for reader in (trustee, world.outside):
        [assessment] = _get(client, reader, f"{url}/assessments")["items"]
        assert_redacted(assessment["risks"], world.child)
        assert_redacted(assessment["mitigations"], world.child)
        assert_redacted(_get(client, reader, url)["purpose"], world.child)
        [technology] = _get(client, reader, "/api/v1/technologies")["items"]
        assert_redacted(technology["purpose"], world.child)
    [assessment] = _get(client, world.inside, f"{url}/assessments")["items"]
    assert (assessment["risks"], assessment["mitigations"]) == (_text(1), _text(2))
    assert _get(client, coordinator, url)["purpose"] == _text()

    session.expire_all()
    [stored] = session.exec(select(TechnologyAssessment)).all()
    assert (stored.risks, stored.mitigations) == (_text(1), _text(2))


def test_a_policy_version_s_summary_is_redacted(
    client: TestClient, session: Session, world: World, coordinator: Actor, trustee: Actor
) -> None:
    version = session.exec(select(PolicyVersion).where(PolicyVersion.number == 1)).one()
    version.summary = _text()
    session.add(version)
    session.commit()

    for reader in (trustee, world.outside):
        [listed] = _get(client, reader, "/api/v1/policy/versions")["items"]
        assert_redacted(listed["summary"], world.child)
        assert_redacted(_get(client, reader, "/api/v1/policy/versions/1")["summary"], world.child)
    assert _get(client, coordinator, "/api/v1/policy/versions")["items"][0]["summary"] == _text()
    assert _get(client, coordinator, "/api/v1/policy/versions/1")["summary"] == _text()

    session.expire_all()
    assert session.get(PolicyVersion, version.id).summary == _text()  # type: ignore[union-attr]


def test_a_group_s_risk_assessments_and_reviews_name_only_children_the_reader_reaches(
    client: TestClient, session: Session, world: World, coordinator: Actor, trustee: Actor
) -> None:
    assert world.outside.staff is not None
    # Written in the group the child is not in: its admin reads it, and does not reach the child.
    make_risk_assessment(session, world.other, world.outside.staff, risks=_text(1), mitigations=_text(2))
    review = make_review(session, world.other, world.outside.staff, clock.today() - timedelta(days=1))
    review.notes = _text(3)
    session.add(review)
    session.commit()
    base = f"/api/v1/groups/{world.other.id}"

    for reader in (trustee, world.outside):
        [assessment] = _get(client, reader, f"{base}/risk-assessments")["items"]
        assert_redacted(assessment["risks"], world.child)
        assert_redacted(assessment["mitigations"], world.child)
        [listed] = _get(client, reader, f"{base}/reviews")["items"]
        assert_redacted(listed["notes"], world.child)
    [assessment] = _get(client, coordinator, f"{base}/risk-assessments")["items"]
    assert (assessment["risks"], assessment["mitigations"]) == (_text(1), _text(2))
    assert _get(client, coordinator, f"{base}/reviews")["items"][0]["notes"] == _text(3)

    # The single assessment answered to the admin who records it.
    body = {"assessed_on": clock.today().isoformat(), "risks": _text(4), "mitigations": "Closed group."}
    r = client.post(f"{base}/risk-assessments", json=body, headers=world.outside.headers)
    assert r.status_code == 201, r.text
    assert_redacted(r.json()["risks"], world.child)

    session.expire_all()
    assert {a.risks for a in session.exec(select(RiskAssessment)).all()} == {_text(1), _text(4)}
    assert session.get(GroupReview, review.id).notes == _text(3)  # type: ignore[union-attr]


# --- cost ------------------------------------------------------------------------------------------------


def test_a_redacted_list_costs_the_same_statements_for_1_or_20_rows(
    client: TestClient,
    session: Session,
    connection: Connection,
    world: World,
    coordinator: Actor,
    trustee: Actor,
) -> None:
    url = _control_url(client, coordinator)
    body: Callable[[int], dict[str, str]] = lambda i: {  # noqa: E731
        "performed_on": clock.today().isoformat(),
        "result": "issues_found",
        "follow_up": _text(i),
    }

    def statements() -> int:
        _get(client, trustee, f"{url}/checks")  # the directory cached, as after any first check
        with count_statements(connection, savepoints=True) as sent:
            answered = _get(client, trustee, f"{url}/checks?limit=100")["items"]
        assert all(CHILD in c["follow_up"] for c in answered)
        return len(sent)

    assert client.post(f"{url}/checks", json=body(0), headers=coordinator.headers).status_code == 201
    one = statements()
    for i in range(1, 20):
        assert client.post(f"{url}/checks", json=body(i), headers=coordinator.headers).status_code == 201
    assert one == statements()
