from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from api.compliance import service as compliance
from api.memberships.models import MemberRole
from api.staff.models import Staff
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.compliance import bulk_groups, make_compliant_group
from tests.kit.declarations import make_declaration
from tests.kit.memberships import make_membership
from tests.kit.requests import refused_field
from tests.kit.staff import make_staff
from tests.kit.statements import count_statements

URL = "/api/v1/sync/staff"


def person(n: int, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": f"crm-{n}",
        "full_name": f"Person {n}",
        "email": f"person{n}@moremusic.org.uk",
        "employment_type": "sessional",
        "started_on": "2025-03-01",
    }
    data.update(overrides)
    return data


def test_the_same_batch_twice_is_unchanged_the_second_time(client: TestClient, integration: Actor) -> None:
    batch = {"records": [person(i) for i in range(5)]}
    first = client.post(URL, json=batch, headers=integration.headers).json()
    assert [r["status"] for r in first["results"]] == ["created"] * 5
    second = client.post(URL, json=batch, headers=integration.headers).json()
    assert [r["status"] for r in second["results"]] == ["unchanged"] * 5
    assert second["counts"] == {"created": 0, "updated": 0, "unchanged": 5, "rejected": 0}
    assert [r["id"] for r in second["results"]] == [r["id"] for r in first["results"]]


def test_one_invalid_record_is_explained_and_the_rest_are_stored(
    client: TestClient, integration: Actor, session: Session
) -> None:
    records = [person(1), person(2, email="not-an-email", started_on="someday"), person(3)]
    body = client.post(URL, json={"records": records}, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == ["created", "rejected", "created"]
    rejected = body["results"][1]
    assert rejected["index"] == 1
    assert rejected["external_id"] == "crm-2"
    assert {e["field"] for e in rejected["errors"]} == {"email", "started_on"}
    stored = session.exec(select(Staff.external_id).order_by(Staff.external_id)).all()
    assert "crm-2" not in stored
    assert {"crm-1", "crm-3"} <= set(stored)


def test_a_clash_rejects_only_that_record(client: TestClient, integration: Actor, session: Session) -> None:
    client.post(URL, json={"records": [person(1)]}, headers=integration.headers)
    records = [person(2, email="person1@moremusic.org.uk"), person(3), person(4, left_on="2020-01-01")]
    body = client.post(URL, json={"records": records}, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == ["rejected", "created", "rejected"]
    assert body["results"][0]["code"] == "conflict"
    assert body["results"][2]["errors"][0]["field"] == "left_on"
    count = session.exec(select(func.count()).select_from(Staff).where(Staff.external_id == "crm-2")).one()
    assert count == 0


def test_updates_are_reported_in_input_order(client: TestClient, integration: Actor) -> None:
    client.post(URL, json={"records": [person(1), person(2)]}, headers=integration.headers)
    records = [person(3), person(2, job_title="Tutor"), person(1), person(2, full_name="dup")]
    body = client.post(URL, json={"records": records}, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == ["created", "updated", "unchanged", "rejected"]
    assert body["results"][3]["detail"] == "external_id: appears earlier in this batch"


def test_missing_external_id_and_oversized_batches(client: TestClient, integration: Actor) -> None:
    no_id = person(1)
    del no_id["external_id"]
    body = client.post(URL, json={"records": [no_id]}, headers=integration.headers).json()
    assert body["results"][0]["errors"][0]["field"] == "external_id"
    too_many = {"records": [person(i) for i in range(1001)]}
    r = client.post(URL, json=too_many, headers=integration.headers)
    assert refused_field(r) == "records"


def test_a_read_only_key_cannot_sync(client: TestClient, session: Session) -> None:
    from api.auth.roles import ApiKeyScope
    from tests.kit.auth import make_api_key

    reader = make_api_key(session, scopes=(ApiKeyScope.read,))
    assert client.post(URL, json={"records": [person(1)]}, headers=reader.headers).status_code == 403


# --- groups_changed -----------------------------------------------------------------------------------------


def test_a_departed_admin_turns_a_compliant_group_non_compliant(
    client: TestClient, integration: Actor, coordinator: Actor, session: Session
) -> None:

    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    admin = person(
        500,
        employment_type="employee",
        started_on="2024-01-08",
        uses_social_media_for_work=True,
        code_of_conduct_signed_on="2024-01-08",
        esafety_training_completed_on=str(TODAY),
    )
    created = client.post(URL, json={"records": [admin]}, headers=integration.headers).json()
    assert created["groups_changed"] == []  # new to the service: in no group yet
    staff = session.get(Staff, uuid.UUID(created["results"][0]["id"]))
    assert staff is not None
    make_declaration(session, staff)  # GRP-STAFF-DECLARATIONS: the CRM does not carry declarations
    make_membership(session, group, staff=staff, role=MemberRole.admin)
    report = f"/api/v1/groups/{group.id}/compliance"
    assert client.get(report, headers=coordinator.headers).json()["status"] == "compliant"

    departed = {"records": [admin | {"left_on": str(TODAY)}]}
    body = client.post(URL, json=departed, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == ["updated"]
    assert body["groups_changed"] == [
        {"group_id": str(group.id), "before": "compliant", "after": "non_compliant"}
    ]
    assert client.get(report, headers=coordinator.headers).json()["status"] == "non_compliant"

    again = client.post(URL, json=departed, headers=integration.headers).json()
    assert [r["status"] for r in again["results"]] == ["unchanged"]
    assert again["groups_changed"] == []


def test_an_edit_that_keeps_the_status_lists_no_group(
    client: TestClient, integration: Actor, coordinator: Actor, session: Session
) -> None:

    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    created = client.post(URL, json={"records": [person(501)]}, headers=integration.headers).json()
    staff = session.get(Staff, uuid.UUID(created["results"][0]["id"]))
    assert staff is not None
    make_membership(session, group, staff=staff)
    before = client.get(f"/api/v1/groups/{group.id}/compliance", headers=coordinator.headers).json()
    body = client.post(
        URL, json={"records": [person(501, job_title="Tutor")]}, headers=integration.headers
    ).json()
    assert [r["status"] for r in body["results"]] == ["updated"]
    assert body["groups_changed"] == []
    after = client.get(f"/api/v1/groups/{group.id}/compliance", headers=coordinator.headers).json()
    assert after["status"] == before["status"]


def test_group_statuses_take_the_same_queries_for_2_and_40_groups(engine: Engine, session: Session) -> None:

    admins = (make_staff(session), make_staff(session))
    counts = []
    for n in (2, 40):
        ids = bulk_groups(session, n, admins)
        with count_statements(engine) as statements:
            statuses = compliance.group_statuses(session=session, group_ids=ids, as_of=TODAY)
        assert set(statuses) == set(ids)
        counts.append(len(statements))
    assert counts[0] == counts[1]
