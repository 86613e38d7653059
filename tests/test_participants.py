from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit import service as audit
from api.audit.models import AuditEvent
from api.memberships.models import Membership
from tests.kit.audit import patched_and_audited
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import created_body, paged, refused_field, request_body, unknown_record_not_found

URL = "/api/v1/participants"


body = request_body(
    {
        "full_name": "Maya Okafor",
        "date_of_birth": "2011-03-14",
        "carer_name": "Grace Okafor",
        "carer_email": "grace.okafor@example.org",
        "carer_phone": "+44 7700 900123",
        "joined_on": "2024-09-01",
        "external_id": "crm-p-1",
    }
)


def test_create_read_and_audit_without_the_name(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    created = created_body(client.post(URL, json=body(), headers=coordinator.headers))
    assert created["full_name"] == "Maya Okafor"
    assert created["is_current"] is True
    assert created["is_vulnerable_adult"] is False
    assert created["version"] == 1
    assert client.get(f"{URL}/{created['id']}", headers=coordinator.headers).json() == created
    events = session.exec(select(AuditEvent).where(AuditEvent.entity_id == uuid.UUID(created["id"]))).all()
    assert [e.action for e in events] == ["participant.create"]
    # The audit log is kept for ever: it records that personal fields were set, never their values.
    assert "Maya" not in str(events[0].changes)
    assert "grace.okafor" not in str(events[0].changes)
    # The CRM's id too: people type it, often from the child's name (tests/test_crm_identifiers.py).
    assert events[0].changes["external_id"] == audit.REDACTED


def test_the_crm_key_creates_updates_and_reads(client: TestClient, integration: Actor) -> None:
    r = client.post(URL, json=body(), headers=integration.headers)
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = client.patch(f"{URL}/{pid}", json={"carer_phone": "01632 960001"}, headers=integration.headers)
    assert r.status_code == 200, r.text
    listed = client.get(URL, params={"external_id": "crm-p-1"}, headers=integration.headers).json()
    # Stored, and so read back, in E.164 (region GB), whoever typed it and however.
    assert [p["carer_phone"] for p in listed["items"]] == ["+441632960001"]


def test_duplicate_external_id_is_409_naming_it(client: TestClient, coordinator: Actor) -> None:
    assert client.post(URL, json=body(), headers=coordinator.headers).status_code == 201
    r = client.post(URL, json=body(full_name="Someone Else"), headers=coordinator.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    assert r.json()["field"] == "external_id"
    other = client.post(URL, json=body(external_id="crm-p-2"), headers=coordinator.headers).json()
    r = client.patch(f"{URL}/{other['id']}", json={"external_id": "crm-p-1"}, headers=coordinator.headers)
    assert r.status_code == 409
    assert r.json()["field"] == "external_id"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_of_birth": str(TODAY + timedelta(days=1))}, "date_of_birth"),
        ({"joined_on": "2011-03-13"}, "joined_on"),
        ({"left_on": "2024-08-31"}, "left_on"),
        ({"carer_email": "not-an-email"}, "carer_email"),
        ({"carer_phone": "call me"}, "carer_phone"),
        ({"full_name": ""}, "full_name"),
        ({"nickname": "M"}, "nickname"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, coordinator: Actor, session: Session, overrides: dict[str, Any], field: str
) -> None:
    r = client.post(URL, json=body(**overrides), headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert client.get(URL, headers=coordinator.headers).json()["total"] == 0  # nothing written


def test_joined_on_the_day_of_birth_and_left_on_the_day_joined_are_allowed(
    client: TestClient, coordinator: Actor
) -> None:
    r = client.post(
        URL,
        json=body(date_of_birth="2010-01-01", joined_on="2010-01-01", left_on="2010-01-01"),
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["is_current"] is False


def test_update_bumps_version_and_audits(client: TestClient, coordinator: Actor, session: Session) -> None:
    p = make_participant(session, is_vulnerable_adult=False)
    patched_and_audited(
        client, session, coordinator, f"{URL}/{p.id}", "participant.update", is_vulnerable_adult=(False, True)
    )


@pytest.mark.parametrize("field", ["full_name", "date_of_birth", "is_vulnerable_adult", "joined_on"])
def test_null_for_a_required_field_is_422(
    client: TestClient, coordinator: Actor, session: Session, field: str
) -> None:
    p = make_participant(session)
    r = client.patch(f"{URL}/{p.id}", json={field: None}, headers=coordinator.headers)
    assert refused_field(r) == field


def test_a_refused_update_writes_nothing(client: TestClient, coordinator: Actor, session: Session) -> None:
    p = make_participant(session, joined_on=TODAY - timedelta(days=30))
    r = client.patch(
        f"{URL}/{p.id}",
        json={"full_name": "Changed", "joined_on": str(p.date_of_birth - timedelta(days=1))},
        headers=coordinator.headers,
    )
    assert refused_field(r) == "joined_on"
    got = client.get(f"{URL}/{p.id}", headers=coordinator.headers).json()
    assert got["full_name"] == p.full_name
    assert got["version"] == 1
    assert session.exec(select(AuditEvent).where(AuditEvent.entity_id == p.id)).first() is None


def test_unknown_id_is_404(client: TestClient, coordinator: Actor) -> None:
    unknown_record_not_found(
        client, coordinator.headers, URL, patch={"full_name": "X"}, action=("leave", {"left_on": str(TODAY)})
    )
    assert client.get(f"{URL}/not-a-uuid", headers=coordinator.headers).status_code == 422


def test_leaving_keeps_the_record_and_the_memberships(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    p = make_participant(session)
    group = make_group(session)
    membership = make_membership(session, group, participant=p)
    r = client.post(f"{URL}/{p.id}/leave", json={"left_on": str(TODAY)}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["left_on"] == str(TODAY)
    assert r.json()["is_current"] is False
    assert client.get(f"{URL}/{p.id}", headers=coordinator.headers).status_code == 200
    # Still in the online group until someone removes them: GRP-NO-FORMER-PARTICIPANTS must see it.
    session.refresh(membership)
    assert membership.ended_on is None
    members = client.get(URL, params={"group_id": str(group.id)}, headers=coordinator.headers).json()
    assert [m["id"] for m in members["items"]] == [str(p.id)]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "participant.leave")).one()
    assert event.changes == {"left_on": {"before": None, "after": str(TODAY)}}


def test_leaving_before_joining_is_422(client: TestClient, coordinator: Actor, session: Session) -> None:
    p = make_participant(session)
    r = client.post(
        f"{URL}/{p.id}/leave",
        json={"left_on": str(p.joined_on - timedelta(days=1))},
        headers=coordinator.headers,
    )
    assert refused_field(r) == "left_on"
    assert client.post(f"{URL}/{p.id}/leave", json={}, headers=coordinator.headers).status_code == 422


def test_list_filters_order_and_paging(client: TestClient, coordinator: Actor, session: Session) -> None:
    names = ["Zara Ali", "Ben Cole", "Amir Shah", "Cara 100% Jones", "Dan Evans"]
    people = {n: make_participant(session, full_name=n) for n in names}
    gone = make_participant(
        session, full_name="Eve Gone", joined_on=TODAY - timedelta(days=90), left_on=TODAY - timedelta(days=1)
    )
    make_participant(session, full_name="Fay Future", joined_on=TODAY + timedelta(days=7))
    make_participant(session, full_name="Gus Crm", external_id="crm-77")
    group = make_group(session)
    make_membership(session, group, participant=people["Ben Cole"])
    make_membership(session, group, participant=people["Zara Ali"])
    make_membership(session, group, participant=people["Dan Evans"], ended_on=TODAY)
    make_membership(session, group, participant=gone)

    def names_of(**params: Any) -> list[str]:
        r = client.get(URL, params=params, headers=coordinator.headers)
        assert r.status_code == 200, r.text
        return [p["full_name"] for p in r.json()["items"]]

    assert names_of() == sorted([*names, "Eve Gone", "Fay Future", "Gus Crm"])
    assert names_of(current=False) == ["Eve Gone", "Fay Future"]
    assert "Eve Gone" not in names_of(current=True)
    assert names_of(external_id="crm-77") == ["Gus Crm"]
    assert names_of(q="AMIR") == ["Amir Shah"]
    assert names_of(q="%") == ["Cara 100% Jones"]  # the wildcard is matched literally
    # Current members only: Dan's membership ended today; Eve left but is still in the group.
    assert names_of(group_id=str(group.id)) == ["Ben Cole", "Eve Gone", "Zara Ali"]
    assert names_of(group_id=str(group.id), current=True) == ["Ben Cole", "Zara Ali"]

    page = paged(client, URL, coordinator.headers, limit=2, offset=2)
    assert page["total"] == 8
    assert [p["full_name"] for p in page["items"]] == ["Cara 100% Jones", "Dan Evans"]
    assert client.get(URL, params={"group_id": "nope"}, headers=coordinator.headers).status_code == 422


def test_same_names_are_ordered_by_id(client: TestClient, coordinator: Actor, session: Session) -> None:
    ids = sorted(str(make_participant(session, full_name="Sam Lee").id) for _ in range(3))
    items = client.get(URL, params={"q": "Sam Lee"}, headers=coordinator.headers).json()["items"]
    assert [p["id"] for p in items] == ids


def test_staff_see_only_participants_in_their_current_groups(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    assert staff_actor.staff is not None
    mine, theirs, old_group = make_group(session), make_group(session), make_group(session)
    make_membership(session, mine, staff=staff_actor.staff)
    make_membership(session, old_group, staff=staff_actor.staff, ended_on=TODAY - timedelta(days=1))
    visible = make_participant(session, full_name="Visible Child")
    hidden = make_participant(session, full_name="Hidden Child")
    removed = make_participant(session, full_name="Removed Child")
    in_old_group = make_participant(session, full_name="Old Group Child")
    make_membership(session, mine, participant=visible)
    make_membership(session, theirs, participant=hidden)
    make_membership(session, mine, participant=removed, ended_on=TODAY)
    make_membership(session, old_group, participant=in_old_group)

    page = client.get(URL, headers=staff_actor.headers).json()
    assert page["total"] == 1
    assert [p["full_name"] for p in page["items"]] == ["Visible Child"]
    assert client.get(f"{URL}/{visible.id}", headers=staff_actor.headers).status_code == 200
    for other in (hidden, removed, in_old_group):
        r = client.get(f"{URL}/{other.id}", headers=staff_actor.headers)
        assert r.status_code == 404  # the same answer as for an id that does not exist
        assert other.full_name not in r.text
    assert (
        client.get(URL, params={"group_id": str(theirs.id)}, headers=staff_actor.headers).json()["total"] == 0
    )
    assert client.get(URL, params={"q": "Hidden"}, headers=staff_actor.headers).json()["total"] == 0


def test_staff_cannot_write_participants(client: TestClient, staff_actor: Actor, session: Session) -> None:
    assert staff_actor.staff is not None
    group = make_group(session)
    make_membership(session, group, staff=staff_actor.staff)
    p = make_participant(session)
    make_membership(session, group, participant=p)
    assert client.post(URL, json=body(), headers=staff_actor.headers).status_code == 403
    assert (
        client.patch(f"{URL}/{p.id}", json={"full_name": "X"}, headers=staff_actor.headers).status_code == 403
    )
    leave = client.post(f"{URL}/{p.id}/leave", json={"left_on": str(TODAY)}, headers=staff_actor.headers)
    assert leave.status_code == 403


def test_no_trustee_response_contains_a_participant_name(
    client: TestClient, trustee: Actor, session: Session
) -> None:
    p = make_participant(session, full_name="Tallulah Trusteeproof", carer_name="Carer Trusteeproof")
    group = make_group(session)
    membership = make_membership(session, group, participant=p)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", URL, None),
        ("GET", f"{URL}?q=Tallulah", None),
        ("GET", f"{URL}?group_id={group.id}", None),
        ("POST", URL, body(full_name="Tallulah Trusteeproof")),
        ("GET", f"{URL}/{p.id}", None),
        ("PATCH", f"{URL}/{p.id}", {"carer_name": "Carer Trusteeproof"}),
        ("POST", f"{URL}/{p.id}/leave", {"left_on": str(TODAY)}),
        ("GET", "/api/v1/memberships", None),
        ("GET", f"/api/v1/memberships?participant_id={p.id}", None),
        ("GET", f"/api/v1/memberships/{membership.id}", None),
        ("POST", "/api/v1/memberships", {"group_id": str(group.id), "participant_id": str(p.id)}),
        ("PATCH", f"/api/v1/memberships/{membership.id}", {"role": "admin"}),
        ("POST", f"/api/v1/memberships/{membership.id}/end", {"ended_on": str(TODAY)}),
    ]
    for method, path, json in calls:
        r = client.request(method, path, json=json, headers=trustee.headers)
        assert r.status_code == 403, (method, path, r.text)
        assert "Trusteeproof" not in r.text
        assert "Tallulah" not in r.text
    session.refresh(membership)
    assert membership.ended_on is None
    assert session.exec(select(Membership).where(Membership.participant_id == p.id)).all() == [membership]


def test_unauthenticated_is_401(client: TestClient) -> None:
    r = client.get(URL)
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 (0)7700 900123", "+447700900123"),
        ("0044 7700-900-123", "+447700900123"),
        ("+33 1 23 45 67 89", "+33123456789"),
    ],
)
def test_phones_are_stored_in_e164(client: TestClient, coordinator: Actor, sent: str, stored: str) -> None:
    r = client.post(URL, json=body(carer_phone=sent, personal_phone=sent), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert (r.json()["carer_phone"], r.json()["personal_phone"]) == (stored, stored)
