"""Reach: which records each caller reaches, from the table in api/auth/reach_table.py, on every route.

One small world: two groups (A, B), a member of staff in A only, a child in each, a trustee, a read key and
a write-only key. Every route with a record id in its path is called for a record inside and outside each
caller's reach: outside answers exactly as an unknown id (404), and no answer carries a personal detail of
a child the caller may not see. A route whose path names an id with no entry below fails the test.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.auth.reach import Extent, Record
from api.auth.reach_table import READ_REACH, WRITE_REACH
from api.auth.roles import ApiKeyScope, Role
from api.groups.models import Group
from api.incidents.models import IncidentStatus, Severity
from api.participants.models import Participant
from api.rosters.models import Match
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.clock import TODAY
from tests.kit.compliance import make_waiver
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.incidents import make_incident
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field
from tests.kit.rosters import make_roster, make_roster_entry
from tests.kit.staff import make_staff
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
    "roster_id": "roster",
    "roster_entry_id": "roster_entry",
}
NOT_REACH = {
    "rest:path": "any other address under /dashboard: a 404 page, no record",
    "entry_id": "an entry inside an incident: the incident's reach decides",
    "user_id": "sign-in accounts: coordinators only (user:admin), by permission",
    "key_id": "API keys: coordinators only (api_key:admin), by permission",
    "webhook_id": "webhook subscriptions: coordinators only (webhook:admin), by permission",
    "delivery_id": "a webhook's delivery: found within its webhook (coordinators only, by permission)",
    "identity_id": "a platform identity: the person's write reach decides (tested in test_identities)",
    "control_id": "the organisation's controls: every user reads them; checks are signed as oneself",
    "technology_id": "the technology register: every user reads it; assessments are signed as oneself",
    "version_number": "the policy's versions: the same text for every caller who may read compliance",
    "external_id": "the CRM's upserts: matched within the caller's write reach, tested in test_reach",
    "code": "a problem type (api/problem_types.py): public, the same for every caller",
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


def _incident(session: Session, group: Group, reporter: Staff, child: Participant) -> uuid.UUID:
    """A newly reported, low-severity incident in the group naming the child."""
    incident = make_incident(
        session, group, reporter, participants=[child], severity=Severity.low, status=IncidentStatus.reported
    )
    return incident.id


def _roster(session: Session, group: Group, child: Participant) -> tuple[uuid.UUID, uuid.UUID]:
    """A roster of the group whose one entry is the child, as the platform shows them (their name): the
    roster's id and the entry's."""
    roster = make_roster(session, group)
    entry = make_roster_entry(
        session, roster, display_name=child.full_name, match=Match.probable, participant_id=child.id
    )
    return roster.id, entry.id


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
                make_consent(session, child_a).id,
                make_consent(session, child_b).id,
            ),
            "incident": (
                _incident(session, group_a, staff.staff, child_a),
                _incident(session, group_b, coordinator.staff, child_b),
            ),
            # Staff records are a directory every staff reader sees; a staff compliance report is one's own.
            "staff": (staff.staff.id, other_staff.id),
            "waiver": (make_waiver(session, group_a).id, make_waiver(session, group_b).id),
            **dict(
                zip(
                    ("roster", "roster_entry"),
                    zip(_roster(session, group_a, child_a), _roster(session, group_b, child_b), strict=True),
                    strict=True,
                )
            ),
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
        # The directory is every staff's; a compliance report and declarations are one's own (a POST with
        # the test's empty body is refused as a body before reach is asked).
        return "compliance" in path or (method == "GET" and path.endswith("/declarations"))
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
        if path.startswith("/dashboard"):  # pages: the same page, but for the id asked for
            ids = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
            assert ids.sub("ID", outside.text) == ids.sub("ID", unknown.text)
        else:
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
        "/api/v1/compliance/forecast?days=366",
        "/api/v1/groups/{group_id}/compliance/forecast?days=366",
        "/api/v1/compliance/history",
        "/api/v1/groups/{group_id}/compliance/history",
        "/api/v1/groups/{group_id}/rosters",
        "/api/v1/groups/{group_id}/rosters/{roster_id}",
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
        "occurred_at": (clock.now() - timedelta(hours=2)).isoformat(),
        "summary": "Unkind messages",
        "participant_ids": [str(child_b)],
    }
    r = client.post("/api/v1/incidents", json=report, headers=staff.headers)
    assert refused_field(r) == "participant_ids.0", r.text
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
    assert r.status_code == 403, r.text  # as for an incident reported "by" someone else
    assert "reviewed_by_id" in r.json()["detail"]
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
    assert refused_field(r) == "assessed_by_id", r.text
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
    # A partial push (merged with what is stored, which the key may not read) is refused: whole records only
    # (tests/test_write_only_oracles.py).
    if method == "PUT":
        partial = client.patch(path, json=data, headers=world.write_key.headers)
        assert (partial.status_code, partial.json()["code"]) == (403, "whole_records_only")


def _pushed_participant(external_id: str, full_name: str, joined_on: date) -> dict[str, Any]:
    """A young person as a CRM pushes one (born 6 May 2011, not a vulnerable adult)."""
    return {
        "external_id": external_id,
        "full_name": full_name,
        "date_of_birth": "2011-05-06",
        "is_vulnerable_adult": False,
        "joined_on": str(joined_on),
    }


def test_bulk_sync_results_carry_id_version_and_status_only(client: TestClient, world: World) -> None:
    record = _pushed_participant("crm-bulk-1", "Dee Bulk", TODAY)
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
        # api/accounts gives users their roles (and keeps a coordinator): it was part of api/auth.
        if not {"auth", "accounts"} & set(path.relative_to(API).parts)
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


# --- what a break-in attempt found (each a test of the whole kind) ---------------------------------------


def test_a_write_only_key_learns_no_stored_value_from_an_error(client: TestClient, world: World) -> None:
    w = world.write_key.headers
    child = world.ids["participant"][0]
    stored_birth = str(TODAY - timedelta(days=15 * 365))
    for url, body in (
        (f"/api/v1/participants/{child}", {"joined_on": "1900-01-01"}),
        (f"/api/v1/participants/{child}", {"left_on": "1900-01-02"}),
        (f"/api/v1/participants/{child}/leave", {"left_on": "1900-01-02"}),
    ):
        r = client.request("PATCH" if url.endswith(str(child)) else "POST", url, json=body, headers=w)
        assert r.status_code == 422, r.text
        assert stored_birth not in r.text
        assert "joined_on (" not in r.text
        assert r.json()["errors"][0]["field"] in body  # the field sent is still named
    # If-Match: the same 412 whether or not the guessed value is the stored one.
    guess_right = {"full_name": "Ada Inreach"}
    guess_wrong = {"full_name": "Someone Else"}
    answers = [
        client.patch(f"/api/v1/participants/{child}", json=b, headers={**w, "If-Match": '"999"'})
        for b in (guess_right, guess_wrong)
    ]
    assert [a.status_code for a in answers] == [412, 412]
    assert answers[0].json() == answers[1].json()


def test_a_consent_cannot_be_used_to_find_a_date_of_birth(client: TestClient, world: World) -> None:
    child = world.ids["participant"][0]
    before_birth = str(TODAY - timedelta(days=16 * 365))
    body = {
        "participant_id": str(child),
        "kind": "image_use",
        "purposes": ["website"],
        "given_by": "parent_carer",
        "given_by_name": "x",
        "given_on": before_birth,
        "expires_on": before_birth,
    }
    # The body's own error is found before the comparison with the stored date of birth, whatever the date.
    r = client.post("/api/v1/consents", json=body, headers=world.write_key.headers)
    assert refused_field(r) == "expires_on"


def test_an_append_only_clash_names_no_stored_field_to_a_write_only_key(
    client: TestClient, session: Session, world: World
) -> None:
    push = {
        "participant_id": str(world.ids["participant"][0]),
        "kind": "image_use",
        "purposes": ["website"],
        "given_by": "parent_carer",
        "given_by_name": "Real Name",
        "given_on": str(TODAY - timedelta(days=3)),
    }
    url = "/api/v1/consents/by-external-id/crm-c-blind"
    assert client.put(url, json=push, headers=world.write_key.headers).status_code == 201
    guess = client.put(url, json={**push, "given_by_name": "Guess Name"}, headers=world.write_key.headers)
    assert guess.status_code == 409
    assert "given_by_name" not in guess.text
    assert guess.json()["code"] == "consent_is_append_only"
    # A key that reads consents still gets the fields, to fix its push.
    both = make_api_key(session).headers
    told = client.put(url, json={**push, "given_by_name": "Guess Name"}, headers=both)
    assert "given_by_name" in told.text


def test_a_write_only_batch_says_nothing_of_groups(client: TestClient, world: World) -> None:
    record = _pushed_participant("crm-gc-1", "Eve Grouped", TODAY - timedelta(days=30))
    url = "/api/v1/sync/participants"
    assert client.post(url, json={"records": [record]}, headers=world.write_key.headers).status_code == 200
    left = {**record, "left_on": str(TODAY)}
    r = client.post(url, json={"records": [left]}, headers=world.write_key.headers)
    assert r.json()["groups_changed"] == []


def test_an_admin_cannot_copy_children_into_a_group_of_their_own(client: TestClient, world: World) -> None:
    created = client.post(
        "/api/v1/groups",
        json={
            "name": "Private copy",
            "platform": "whatsapp",
            "visibility": "closed",
            "join_approval": "admins_only",
            "shares_images": False,
            "started_on": str(TODAY),
        },
        headers=world.staff.headers,
    )
    child_in_reach = world.ids["participant"][0]
    body = {"group_id": created.json()["id"], "participant_id": str(child_in_reach), "started_on": str(TODAY)}
    r = client.post("/api/v1/memberships", json=body, headers=world.staff.headers)
    assert r.status_code == 403, r.text


def test_staff_cannot_probe_the_crms_consent_ids(client: TestClient, world: World) -> None:
    push = {
        "participant_id": str(world.ids["participant"][0]),
        "kind": "esafety_agreement",
        "given_by": "parent_carer",
        "given_by_name": "x",
        "given_on": str(TODAY - timedelta(days=1)),
    }
    r = client.put("/api/v1/consents/by-external-id/C-ANY", json=push, headers=world.staff.headers)
    assert r.status_code == 403
    r = client.post("/api/v1/consents", json={**push, "external_id": "C-ANY"}, headers=world.staff.headers)
    assert refused_field(r) == "external_id"


def test_records_are_signed_only_by_current_staff_everywhere(
    client: TestClient, session: Session, world: World
) -> None:
    departed = make_staff(session, left_on=TODAY - timedelta(days=40))
    report = {
        "category": "cyberbullying",
        "severity": "low",
        "occurred_at": (clock.now() - timedelta(days=2)).isoformat(),
        "summary": "Unkind messages",
        "reported_by_id": str(departed.id),
    }
    r = client.post("/api/v1/incidents", json=report, headers=world.coordinator.headers)
    assert refused_field(r) == "reported_by_id"
    # A member of staff records a parent notification as themselves, never as a colleague.
    incident = world.ids["incident"][0]
    colleague = make_staff(session)
    told = {
        "participant_id": str(world.ids["participant"][0]),
        "informed_name": "Dad",
        "method": "in_person",
        "informed_at": (clock.now() - timedelta(hours=1)).isoformat(),
        "informed_by_id": str(colleague.id),
    }
    r = client.post(f"/api/v1/incidents/{incident}/notifications", json=told, headers=world.staff.headers)
    assert r.status_code == 403, r.text


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", "/api/v1/incidents?occurred_to=9999-12-31", None),
        ("GET", "/api/v1/changes?since=99999999999999999999", None),
        (
            "POST",
            "/api/v1/incidents",
            {
                "category": "cyberbullying",
                "severity": "low",
                "summary": "x",
                "occurred_at": "0001-01-01T00:00:00+14:00",
            },
        ),
    ],
)
def test_out_of_range_input_is_a_422_not_a_500(
    client: TestClient, world: World, method: str, url: str, body: dict[str, Any] | None
) -> None:
    r = client.request(method, url, json=body, headers=world.coordinator.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"


SPEC = __import__("api.main", fromlist=["create_app"]).create_app().openapi()
LISTS = [
    (path, [p["name"] for p in op.get("parameters", []) if p["in"] == "query" and p["name"].endswith("_id")])
    for path, ops in SPEC["paths"].items()
    for method, op in ops.items()
    if method == "get" and "{" not in path and path.startswith("/api/v1/")
]
FILTER_KIND = {"group_id": "group", "participant_id": "participant", "staff_id": "staff"}
NOT_REACH_FILTERS = {
    "rule_id": "a compliance rule, not a record",
    "external_id": "the CRM's id: matched only among the records the list already holds in reach",
    "entity_id": "the audit log: coordinators only (audit:read)",
    "actor_id": "the audit log: coordinators only (audit:read)",
}


@pytest.mark.parametrize(("path", "filters"), LISTS, ids=[p for p, _ in LISTS])
def test_lists_and_their_filters_stay_within_reach(
    client: TestClient, world: World, path: str, filters: list[str]
) -> None:
    """Every list, as every caller the matrix lets through, unfiltered and with each id filter set to a
    record outside the member of staff's reach: no child's details reach a caller who may not see them."""
    unknown = {f for f in filters if f not in FILTER_KIND and f not in NOT_REACH_FILTERS}
    filters = [f for f in filters if f in FILTER_KIND]
    assert not unknown, f"id filters with no reach entry in tests/test_reach.py: {unknown}"
    hidden_from = {
        Caller.staff: _personal(world.child_out),
        Caller.trustee: ["Ada Inreach", "Bex Outofreach", "07700 900"],
    }
    actors = {Caller.coordinator: world.coordinator, Caller.staff: world.staff, Caller.trustee: world.trustee}
    for caller, actor in actors.items():
        if caller not in EXPECTED[("GET", path)]:
            continue
        queries: list[dict[str, str]] = [{}]
        queries += [{f: str(world.ids[FILTER_KIND[f]][1])} for f in filters]
        for query in queries:
            r = client.get(path, params=query, headers=actor.headers)
            assert r.status_code in (200, 422), (caller, query, r.text)
            for text in hidden_from.get(caller, []):
                assert text not in r.text, (caller, query)
            # Filtered on a group or child out of reach: nothing, as for an unknown id.
            narrowed = set(query) & {"group_id", "participant_id"}
            if caller is Caller.staff and narrowed and r.status_code == 200 and "total" in r.json():
                assert r.json()["total"] == 0, (path, query, r.text)
