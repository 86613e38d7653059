"""The CRM's view of participants: create-or-replace by external id, one at a time or in bulk."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.groups.models import Group
from api.memberships.models import Membership
from api.participants.models import Participant
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.compliance import make_compliant_group
from tests.kit.memberships import make_membership
from tests.kit.requests import refused_field
from tests.kit.sync import assert_push_breaks_group

URL = "/api/v1/participants/by-external-id"
SYNC = "/api/v1/sync/participants"


def child(n: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "full_name": f"Child {n}",
        "date_of_birth": "2011-04-02",
        "carer_name": "Sam Carer",
        "carer_email": "sam.carer@example.org",
        "carer_phone": "+44 7700 900123",
        "joined_on": "2024-09-01",
    }
    data.update(overrides)
    return data


def test_upsert_creates_then_updates_then_changes_nothing(
    client: TestClient, integration: Actor, session: Session
) -> None:
    created = client.put(f"{URL}/crm-p-1", json=child(), headers=integration.headers)
    assert created.status_code == 201, created.text
    assert created.json()["external_id"] == "crm-p-1"
    assert created.headers["etag"] == '"1"'
    updated = client.put(f"{URL}/crm-p-1", json=child(full_name="Child One"), headers=integration.headers)
    assert updated.status_code == 200
    assert updated.json()["id"] == created.json()["id"]
    assert updated.headers["etag"] == '"2"'
    again = client.put(f"{URL}/crm-p-1", json=child(full_name="Child One"), headers=integration.headers)
    assert again.status_code == 200
    assert again.json()["version"] == 2  # an identical push writes nothing
    actions = session.exec(
        select(AuditEvent.action).where(col(AuditEvent.action).like("participant.%"))
    ).all()
    assert sorted(actions) == ["participant.create", "participant.update"]


def test_upsert_is_a_full_replacement(client: TestClient, integration: Actor) -> None:
    client.put(f"{URL}/crm-p-2", json=child(), headers=integration.headers)
    without_phone = child()
    del without_phone["carer_phone"]
    replaced = client.put(f"{URL}/crm-p-2", json=without_phone, headers=integration.headers)
    assert replaced.status_code == 200
    assert replaced.json()["carer_phone"] is None


def test_a_leaving_date_is_an_ordinary_edit_and_memberships_stay(
    client: TestClient, integration: Actor, coordinator: Actor, session: Session
) -> None:
    created = client.put(f"{URL}/crm-p-3", json=child(), headers=integration.headers).json()
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    make_membership(session, group, participant_id=uuid.UUID(created["id"]), started_on=TODAY)
    left = client.put(f"{URL}/crm-p-3", json=child(left_on=str(TODAY)), headers=integration.headers)
    assert left.status_code == 200
    assert left.json()["is_current"] is False
    still = session.exec(
        select(Membership).where(Membership.participant_id == uuid.UUID(created["id"]))
    ).one()
    assert still.ended_on is None


def test_upsert_refuses_bad_input_and_writes_nothing(
    client: TestClient, integration: Actor, session: Session
) -> None:
    mismatch = client.put(f"{URL}/crm-p-4", json=child(external_id="crm-p-5"), headers=integration.headers)
    assert refused_field(mismatch) == "external_id"
    out_of_order = client.put(f"{URL}/crm-p-4", json=child(left_on="2024-01-01"), headers=integration.headers)
    assert refused_field(out_of_order) == "left_on"
    stored = session.exec(select(Participant).where(Participant.external_id == "crm-p-4")).first()
    assert stored is None


def test_upsert_honours_if_match(client: TestClient, integration: Actor) -> None:
    url = f"{URL}/crm-p-6"
    none_yet = client.put(url, json=child(), headers={**integration.headers, "If-Match": '"1"'})
    assert none_yet.status_code == 412
    client.put(url, json=child(), headers=integration.headers)
    stale = client.put(url, json=child(full_name="X"), headers={**integration.headers, "If-Match": '"7"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    fresh = client.put(url, json=child(full_name="X"), headers={**integration.headers, "If-Match": '"1"'})
    assert fresh.status_code == 200
    assert fresh.json()["full_name"] == "X"


def test_staff_and_trustees_may_not_push(client: TestClient, staff_actor: Actor, trustee: Actor) -> None:
    for actor in (staff_actor, trustee):
        assert client.put(f"{URL}/crm-p-7", json=child(), headers=actor.headers).status_code == 403


def record(n: int, **overrides: Any) -> dict[str, Any]:
    return child(n, external_id=f"crm-p-{n}", **overrides)


def test_the_same_batch_twice_is_unchanged_the_second_time(client: TestClient, integration: Actor) -> None:
    batch = {"records": [record(i) for i in range(10, 14)]}
    first = client.post(SYNC, json=batch, headers=integration.headers).json()
    assert [r["status"] for r in first["results"]] == ["created"] * 4
    second = client.post(SYNC, json=batch, headers=integration.headers).json()
    assert second["counts"] == {"created": 0, "updated": 0, "unchanged": 4, "rejected": 0}
    assert [r["id"] for r in second["results"]] == [r["id"] for r in first["results"]]


def test_one_invalid_record_is_explained_and_the_rest_are_stored(
    client: TestClient, integration: Actor, session: Session
) -> None:
    records = [record(20), record(21, date_of_birth="2999-01-01"), record(22, carer_email="nope")]
    body = client.post(SYNC, json={"records": records}, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == ["created", "rejected", "rejected"]
    assert body["results"][1]["errors"][0]["field"] == "date_of_birth"
    assert body["results"][2]["errors"][0]["field"] == "carer_email"
    stored = session.exec(
        select(Participant.external_id).where(col(Participant.external_id).like("crm-p-2%"))
    )
    assert set(stored.all()) == {"crm-p-20"}


def test_a_participant_who_left_but_is_still_in_a_group_is_reported(
    client: TestClient, integration: Actor, coordinator: Actor, session: Session, compliant_group: Group
) -> None:
    member = session.exec(
        select(Participant)
        .join(Membership, col(Membership.participant_id) == col(Participant.id))
        .where(Membership.group_id == compliant_group.id)
    ).one()
    member.external_id = "crm-p-30"
    session.add(member)
    session.commit()
    same = {
        "external_id": "crm-p-30",
        "full_name": member.full_name,
        "date_of_birth": str(member.date_of_birth),
        "carer_name": member.carer_name,
        "carer_email": member.carer_email,
        "joined_on": str(member.joined_on),
    }
    assert_push_breaks_group(client, integration, SYNC, same, {"left_on": str(TODAY)}, compliant_group)
