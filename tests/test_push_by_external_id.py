"""The CRM's push by external id (api/pushes.py) answers alike for staff and participants, by PUT and by
PATCH: the preconditions (412 with no record yet, on a stale If-Match whether or not the push changes
anything, and on If-None-Match: * with a record), an identical push writing nothing, a changed one writing
one version and one audit event, and the 422 on another external id in the body."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from tests.kit.auth import Actor
from tests.kit.staff import STAFF_BODY

API = "/api/v1"
CHILD = {"full_name": "Nia Push", "date_of_birth": "2010-02-03", "joined_on": "2024-09-01"}
# (path, audit entity, the whole record, a change to it)
DOMAINS = {
    "staff": ("staff", "staff", STAFF_BODY, {"job_title": "Lead"}),
    "participants": ("participants", "participant", CHILD, {"carer_name": "Ade Push"}),
}
CASES = [(domain, method) for domain in DOMAINS for method in ("PUT", "PATCH")]


def _push(
    client: TestClient, actor: Actor, method: str, url: str, body: dict[str, Any], **headers: str
) -> Any:
    return client.request(method, url, json=body, headers={**actor.headers, **headers})


@pytest.mark.parametrize(("domain", "method"), CASES)
def test_the_preconditions_and_outcomes_answer_alike(
    client: TestClient, integration: Actor, session: Session, domain: str, method: str
) -> None:
    path, entity, whole, change = DOMAINS[domain]
    url = f"{API}/{path}/by-external-id/CRM-PUSH-{method}"
    changed = {**whole, **change} if method == "PUT" else change

    none_yet = _push(client, integration, method, url, whole, **{"If-Match": '"1"'})
    assert (none_yet.status_code, none_yet.json()["code"]) == (412, "precondition_failed")
    created = _push(client, integration, method, url, whole)
    assert (created.status_code, created.headers["etag"]) == (201, '"1"'), created.text

    for sent in (whole, changed):  # the same record again, and a change: both refused on a stale If-Match
        stale = _push(client, integration, method, url, sent, **{"If-Match": '"7"'})
        assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed"), stale.text
    create_only = _push(client, integration, method, url, whole, **{"If-None-Match": "*"})
    assert (create_only.status_code, create_only.json()["code"]) == (412, "precondition_failed")

    same = _push(client, integration, method, url, whole, **{"If-Match": '"1"'})
    assert (same.status_code, same.json()["version"]) == (200, 1), same.text
    updated = _push(client, integration, method, url, changed, **{"If-Match": '"1"'})
    assert (updated.status_code, updated.headers["etag"]) == (200, '"2"'), updated.text
    assert all(updated.json()[field] == value for field, value in change.items())

    actions = session.exec(
        select(AuditEvent.action).where(col(AuditEvent.entity_id) == uuid.UUID(created.json()["id"]))
    ).all()
    assert sorted(actions) == [f"{entity}.create", f"{entity}.update"]


@pytest.mark.parametrize(("domain", "method"), CASES)
def test_another_external_id_in_the_body_is_refused(
    client: TestClient, integration: Actor, domain: str, method: str
) -> None:
    path, _, whole, _ = DOMAINS[domain]
    url = f"{API}/{path}/by-external-id/CRM-PUSH-ID"
    r = _push(client, integration, method, url, {**whole, "external_id": "CRM-PUSH-OTHER"})
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "external_id"), r.text
    listed = client.get(f"{API}/{path}", params={"external_id": "CRM-PUSH-ID"}, headers=integration.headers)
    assert listed.json()["total"] == 0
