"""Reach: which records each caller reaches, from the table in api/auth/reach.py, on every route.

One small world: two groups (A, B), a member of staff in A only, a child in each, a trustee, a read key and
a write-only key. Every route with a record id in its path is called for a record inside and outside each
caller's reach: outside answers exactly as an unknown id (404), and no answer carries a personal detail of
a child the caller may not see. A route whose path names an id with no entry below fails the test.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.auth.reach import READ_REACH, WRITE_REACH, Extent, Record
from api.auth.roles import ApiKeyScope, Role
from api.compliance.models import Waiver
from api.incidents.models import Category, Incident, IncidentParticipant, Severity
from api.participants.models import Participant
from tests.factories import (
    TODAY,
    Actor,
    consents_make_consent,
    make_actor,
    make_api_key,
    make_group,
    make_membership,
    make_participant,
    make_staff,
)
from tests.matrix import EXPECTED
from tests.matrix.roles import Caller
from tests.test_permission_matrix import ROUTES

API = Path(__file__).resolve().parent.parent / "api"

# Path parameters that name a record reach decides for. Others are named with the reason they are not.
REACH_PARAMS = {
    "participant_id": "participant",
    "group_id": "group",
    "membership_id": "membership",
    "consent_id": "consent",
    "incident_id": "incident",
    "staff_id": "staff",
    "waiver_id": "waiver",
}
NOT_REACH = {
    "entry_id": "an entry inside an incident: the incident's reach decides",
    "user_id": "sign-in accounts: coordinators only (user:admin), by permission",
    "key_id": "API keys: coordinators only (api_key:admin), by permission",
    "webhook_id": "webhook subscriptions: coordinators only (webhook:admin), by permission",
    "external_id": "the CRM's upserts: matched within the caller's write reach, tested in test_reach",
}


@dataclass
class World:
    coordinator: Actor
    staff: Actor
    trustee: Actor
    read_key: Actor
    write_key: Actor
    # per record kind: (inside the staff member's reach, outside it)
    ids: dict[str, tuple[uuid.UUID, uuid.UUID]]
    child_out: Participant


def _incident(session: Session, reporter: uuid.UUID, child: Participant, group: uuid.UUID) -> uuid.UUID:
    incident = Incident(
        category=Category.cyberbullying,
        severity=Severity.low,
        occurred_at=datetime.now(UTC) - timedelta(days=1),
        summary="Unkind messages",
        reported_by_id=reporter,
        group_id=group,
    )
    session.add(incident)
    session.flush()
    session.add(IncidentParticipant(incident_id=incident.id, participant_id=child.id))
    session.commit()
    return incident.id


def _waiver(session: Session, group: uuid.UUID) -> uuid.UUID:
    waiver = Waiver(
        group_id=group,
        rule_id="GRP-REVIEWED",
        reason="Review booked",
        expires_on=TODAY + timedelta(days=30),
        granted_by_label="coordinator",
    )
    session.add(waiver)
    session.commit()
    return waiver.id


@pytest.fixture
def world(session: Session) -> World:
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    staff = make_actor(session, Role.staff)
    assert staff.staff is not None
    assert coordinator.staff is not None
    group_a, group_b = make_group(session), make_group(session)
    child_a = make_participant(session, full_name="Ada Inreach", carer_phone="07700 900111")
    child_b = make_participant(
        session,
        full_name="Bex Outofreach",
        carer_phone="07700 900222",
        date_of_birth=TODAY - timedelta(days=13 * 365 + 17),
    )
    make_membership(session, group_a, staff=staff.staff)
    member_a = make_membership(session, group_a, participant=child_a)
    member_b = make_membership(session, group_b, participant=child_b)
    other_staff = make_staff(session)
    return World(
        coordinator=coordinator,
        staff=staff,
        trustee=make_actor(session, Role.trustee),
        read_key=make_api_key(session, (ApiKeyScope.read,)),
        write_key=make_api_key(session, (ApiKeyScope.sync_write,)),
        ids={
            "participant": (child_a.id, child_b.id),
            "group": (group_a.id, group_b.id),
            "membership": (member_a.id, member_b.id),
            "consent": (
                consents_make_consent(session, child_a).id,
                consents_make_consent(session, child_b).id,
            ),
            "incident": (
                _incident(session, staff.staff.id, child_a, group_a.id),
                _incident(session, coordinator.staff.id, child_b, group_b.id),
            ),
            # Staff records are a directory every staff reader sees; a staff compliance report is one's own.
            "staff": (staff.staff.id, other_staff.id),
            "waiver": (_waiver(session, group_a.id), _waiver(session, group_b.id)),
        },
        child_out=child_b,
    )


def _personal(child: Participant) -> list[str]:
    return [child.full_name, str(child.date_of_birth), child.carer_name or "", child.carer_email or ""]


def _route_params(path: str) -> list[str]:
    return re.findall(r"\{([^}]+)\}", path)


def test_every_path_parameter_is_classified() -> None:
    unknown = {p for _, path in ROUTES for p in _route_params(path)} - set(REACH_PARAMS) - set(NOT_REACH)
    assert not unknown, f"path parameters with no reach entry in tests/test_reach.py: {unknown}"


REACH_ROUTES = [
    (m, p)
    for m, p in ROUTES
    if _route_params(p) and set(_route_params(p)) <= set(REACH_PARAMS) and Caller.staff in EXPECTED[(m, p)]
]


def _url(path: str, world: World, side: int) -> str:
    url = path
    for param in _route_params(path):
        url = url.replace("{" + param + "}", str(world.ids[REACH_PARAMS[param]][side]))
    return url


# What is outside the member of staff's reach, by record kind (from READ_REACH and WRITE_REACH for staff):
# the group they are not in and everything hanging off it; the staff directory is open to them, but a staff
# compliance report and a staff record's write are their own only.
def _staff_outside_is_404(method: str, path: str) -> bool:
    kinds = {REACH_PARAMS[p] for p in _route_params(path)}
    if kinds == {"staff"}:
        return "compliance" in path  # the directory is every staff's; a compliance report is one's own
    return True


@pytest.mark.parametrize(("method", "path"), REACH_ROUTES, ids=[f"{m} {p}" for m, p in REACH_ROUTES])
def test_staff_outside_reach_is_unknown_and_inside_is_not(
    client: TestClient, world: World, method: str, path: str
) -> None:
    headers = world.staff.headers
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    outside = client.request(method, _url(path, world, 1), json=body, headers=headers)
    unknown_url = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
    unknown = client.request(method, unknown_url, json=body, headers=headers)
    for text in _personal(world.child_out):
        assert text not in outside.text
    if _staff_outside_is_404(method, path):
        assert outside.status_code == unknown.status_code == 404, outside.text
        assert outside.json()["code"] == unknown.json()["code"]
    inside = client.request(method, _url(path, world, 0), json=body, headers=headers)
    assert inside.status_code != 404 or method != "GET", inside.text
    for text in _personal(world.child_out):
        assert text not in inside.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/groups/{group_id}",
        "/api/v1/groups/{group_id}/compliance",
        "/api/v1/staff/{staff_id}",
        "/api/v1/staff/{staff_id}/compliance",
        "/api/v1/compliance",
        "/api/v1/groups",
        "/api/v1/compliance/waivers",
    ],
)
def test_trustees_see_governance_never_a_child(client: TestClient, world: World, path: str) -> None:
    for side in (0, 1):
        r = client.get(_url(path, world, side), headers=world.trustee.headers)
        assert r.status_code == 200, r.text
        for child_id in world.ids["participant"]:
            assert str(child_id) not in r.text or "participant " in r.text
        for text in ("Ada Inreach", "Bex Outofreach", "07700"):
            assert text not in r.text


def test_the_reproductions_of_issue_10(client: TestClient, session: Session, world: World) -> None:
    """Each reproduction in the issue, on one world."""
    staff = world.staff
    assert staff.staff is not None
    child_b = world.ids["participant"][1]
    # A staff member creates a group (and so admins it), then tries to bring in a child from elsewhere.
    created = client.post(
        "/api/v1/groups",
        json={
            "name": "My new group",
            "platform": "facebook_group",
            "visibility": "closed",
            "join_approval": "admins_only",
            "shares_images": False,
            "started_on": str(TODAY),
        },
        headers=staff.headers,
    )
    assert created.status_code == 201, created.text
    mine = created.json()["id"]
    body = {"group_id": mine, "participant_id": str(child_b), "started_on": str(TODAY)}
    out_of_reach = client.post("/api/v1/memberships", json=body, headers=staff.headers)
    unknown = client.post(
        "/api/v1/memberships", json={**body, "participant_id": str(uuid.uuid4())}, headers=staff.headers
    )
    assert out_of_reach.status_code == unknown.status_code == 422
    assert [e["field"] for e in out_of_reach.json()["errors"]] == ["participant_id"]
    # Word for word the same answer: nothing says the child exists.
    unknown_id = unknown.json()["errors"][0]["message"].rsplit(" ", 1)[-1]
    assert out_of_reach.text.replace(str(child_b), "ID") == unknown.text.replace(unknown_id, "ID")
    assert client.get(f"/api/v1/participants/{child_b}", headers=staff.headers).status_code == 404
    # The same for an incident report naming the child.
    report = {
        "category": "cyberbullying",
        "severity": "low",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
        "summary": "Unkind messages",
        "participant_ids": [str(child_b)],
    }
    r = client.post("/api/v1/incidents", json=report, headers=staff.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "participant_ids.0", r.text
    assert client.get(f"/api/v1/participants/{child_b}", headers=staff.headers).status_code == 404

    # A filter on a group out of reach lists no one, even a child who is also in the caller's group.
    group_b = world.ids["group"][1]
    child_a = session.get(Participant, world.ids["participant"][0])
    assert child_a is not None
    make_membership(session, _group(session, group_b), participant=child_a)
    listed = client.get("/api/v1/participants", params={"group_id": str(group_b)}, headers=staff.headers)
    assert listed.json()["total"] == 0

    # A write-only key gets a receipt from any write, never the record's fields.
    w = world.write_key.headers
    child_a_id = world.ids["participant"][0]
    assert client.get(f"/api/v1/participants/{child_a_id}", headers=w).status_code == 403
    r = client.patch(f"/api/v1/participants/{child_a_id}", json={}, headers=w)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"id", "version", "status"}
    assert r.json()["status"] == "unchanged"
    r = client.patch(f"/api/v1/staff/{world.ids['staff'][1]}", json={"job_title": "Tutor"}, headers=w)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"id", "version", "status"}, r.text

    # Reviews and risk assessments are signed by their author.
    assert world.coordinator.staff is not None
    review = {"reviewed_on": str(TODAY), "reviewed_by_id": str(world.coordinator.staff.id)}
    admin_group = f"/api/v1/groups/{mine}"
    r = client.post(f"{admin_group}/reviews", json=review, headers=staff.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "reviewed_by_id", r.text
    r = client.post(f"{admin_group}/reviews", json={"reviewed_on": str(TODAY)}, headers=staff.headers)
    assert r.status_code == 201, r.text
    assert r.json()["reviewed_by_id"] == str(staff.staff.id), r.text
    departed = make_staff(session, left_on=TODAY - timedelta(days=20))
    assessment = {
        "assessed_on": str(TODAY),
        "assessed_by_id": str(departed.id),
        "risks": "Strangers",
        "mitigations": "Closed group",
    }
    r = client.post(f"{admin_group}/risk-assessments", json=assessment, headers=world.coordinator.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "assessed_by_id", r.text
    earlier = {**assessment, "assessed_on": str(TODAY - timedelta(days=30))}
    r = client.post(f"{admin_group}/risk-assessments", json=earlier, headers=world.coordinator.headers)
    assert r.status_code == 201, r.text  # in post on that day: a coordinator may record it for them


def _group(session: Session, group_id: uuid.UUID) -> Any:
    from api.groups.models import Group

    return session.get(Group, group_id)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/participants", "participant"),
        ("PUT", "/api/v1/participants/by-external-id/crm-1", "participant"),
        ("POST", "/api/v1/staff", "staff"),
        ("PUT", "/api/v1/staff/by-external-id/crm-s1", "staff"),
    ],
)
def test_a_write_only_key_gets_receipts(
    client: TestClient, world: World, method: str, path: str, body: str
) -> None:
    data: dict[str, Any] = (
        {
            "full_name": "Cat Receipt",
            "date_of_birth": "2012-03-04",
            "is_vulnerable_adult": False,
            "joined_on": str(TODAY),
            "carer_email": "cat.carer@example.org",
        }
        if body == "participant"
        else {
            "full_name": "Sam Receipt",
            "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "employment_type": "employee",
            "started_on": str(TODAY),
        }
    )
    r = client.request(method, path, json=data, headers=world.write_key.headers)
    assert r.status_code == 201, r.text
    assert r.json() == {"id": r.json()["id"], "version": 1, "status": "created"}
    for value in ("Receipt", "2012-03-04", "example.org"):
        assert value not in r.text
    # The same push again: unchanged, still a receipt.
    again = client.request(method, path, json=data, headers=world.write_key.headers)
    if method == "PUT":
        assert again.json() == {"id": r.json()["id"], "version": 1, "status": "unchanged"}


def test_bulk_sync_results_carry_id_version_and_status_only(client: TestClient, world: World) -> None:
    record = {
        "external_id": "crm-bulk-1",
        "full_name": "Dee Bulk",
        "date_of_birth": "2011-05-06",
        "is_vulnerable_adult": False,
        "joined_on": str(TODAY),
    }
    r = client.post("/api/v1/sync/participants", json={"records": [record]}, headers=world.write_key.headers)
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert result["status"] == "created"
    assert result["version"] == 1
    assert "Dee Bulk" not in r.text
    assert "2011-05-06" not in r.text


def test_no_role_is_compared_by_name_outside_the_auth_package() -> None:
    comparison = re.compile(
        r"\bRole\.\w+\s*(==|!=|\bis\b|\bin\b)|(==|!=|\bis\b|\bin\b)\s*\(?\s*Role\."
        r"|\b(caller|actor|principal)\.role\s*(==|!=|\bis\b|\bin\b)|is_coordinator"
    )
    offenders = [
        f"{path.relative_to(API.parent)}:{n}: {line.strip()}"
        for path in API.rglob("*.py")
        if "auth" not in path.relative_to(API).parts
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if comparison.search(line)
    ]
    assert offenders == []


def test_the_reach_table_is_whole_and_denies_by_default() -> None:
    for table in (READ_REACH, WRITE_REACH):
        assert set(table) == set(Role)
        for role, row in table.items():
            assert set(row) == set(Record), role
    # Only a coordinator writes every record or reads every incident.
    assert [r for r in Role if READ_REACH[r][Record.incident] is Extent.every] == [Role.coordinator]
    assert all(e is Extent.none for r, e in READ_REACH[Role.trustee].items() if r is Record.participant)


def test_the_readme_roles_table_matches_the_reach_table() -> None:
    readme = (API.parent / "README.md").read_text()
    section = readme[readme.index("### Reach: which records") :]
    lines = []
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            lines.append(line)
        elif lines:
            break
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["record", *[r.value for r in Role]]
    rows = {
        cells[0].strip("`"): cells[1:]
        for line in lines[2:]
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    assert set(rows) == {r.value for r in Record}
    for record in Record:
        expected = [f"{READ_REACH[role][record].value} / {WRITE_REACH[role][record].value}" for role in Role]
        assert rows[record.value] == expected, record
