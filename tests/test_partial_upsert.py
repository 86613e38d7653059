"""The CRM's partial push (issue 18): `PATCH …/by-external-id/{id}` for staff and participants, and bulk
sync's `mode` (`replace`, the default, or `merge`). The issue's reproduction first: a CRM that sends only
the fields it knows must not erase a carer's phone recorded here."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.auth.roles import ApiKeyScope, Role
from api.participants.models import Participant
from api.staff.models import Staff
from api.webhooks.models import WebhookDelivery, WebhookEvent
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.clock import TODAY
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.requests import request_body
from tests.kit.servers import live_app
from tests.test_concurrency import together

PARTICIPANTS = "/api/v1/participants/by-external-id"
STAFF = "/api/v1/staff/by-external-id"
SYNC = "/api/v1/sync"
PHONE = "+447700900123"


child = request_body(
    {
        "full_name": "Maya Okafor",
        "date_of_birth": "2011-04-02",
        "carer_name": "Ngozi Okafor",
        "carer_email": "ngozi.okafor@example.org",
        "carer_phone": "07700 900123",
        "joined_on": "2024-09-01",
    }
)


staff_record = request_body(
    {
        "full_name": "Asha Patel",
        "email": "asha.patel@moremusic.org.uk",
        "employment_type": "sessional",
        "job_title": "Drum tutor",
        "started_on": "2024-09-01",
    }
)


def stored(session: Session, external_id: str) -> Participant | None:
    session.expire_all()
    return session.exec(select(Participant).where(Participant.external_id == external_id)).first()


def audit_actions(session: Session, prefix: str) -> list[str]:
    rows = session.exec(select(AuditEvent.action).where(col(AuditEvent.action).like(f"{prefix}.%"))).all()
    return sorted(rows)


# --- the issue's reproduction ---------------------------------------------------------------------------


def test_a_partial_patch_leaves_the_carers_phone_in_place(
    client: TestClient, integration: Actor, session: Session
) -> None:
    created = client.put(f"{PARTICIPANTS}/crm-p-1", json=child(), headers=integration.headers)
    assert created.status_code == 201, created.text
    # The CRM knows the carer's new email, and nothing of their phone.
    patched = client.patch(
        f"{PARTICIPANTS}/crm-p-1", json={"carer_email": "n.okafor@example.org"}, headers=integration.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["carer_phone"] == PHONE
    assert patched.json()["carer_email"] == "n.okafor@example.org"
    assert patched.json()["full_name"] == "Maya Okafor"
    assert patched.json()["version"] == 2
    assert patched.headers["etag"] == '"2"'
    assert "location" not in patched.headers  # a Location is for a record made, not changed
    record = stored(session, "crm-p-1")
    assert record is not None
    assert record.carer_phone == PHONE
    # Audited as the PUT's change is, with the child's details withheld from the trail.
    assert audit_actions(session, "participant") == ["participant.create", "participant.update"]
    update = session.exec(select(AuditEvent).where(AuditEvent.action == "participant.update")).one()
    assert "n.okafor" not in json.dumps(update.changes)
    # The same PUT would have emptied it: the full replacement the PATCH is there to avoid.
    without_phone = {k: v for k, v in child(carer_email="n.okafor@example.org").items() if k != "carer_phone"}
    replaced = client.put(f"{PARTICIPANTS}/crm-p-1", json=without_phone, headers=integration.headers)
    assert replaced.json()["carer_phone"] is None


def test_sync_replace_clears_the_phone_and_merge_keeps_it(
    client: TestClient, integration: Actor, session: Session
) -> None:
    for n in (1, 2):
        client.put(f"{PARTICIPANTS}/crm-p-{n}", json=child(), headers=integration.headers)
    known = {"full_name": "Maya Okafor", "date_of_birth": "2011-04-02", "joined_on": "2024-09-01"}
    replace = client.post(
        f"{SYNC}/participants",
        json={"mode": "replace", "records": [{"external_id": "crm-p-1", **known}]},
        headers=integration.headers,
    ).json()
    merge = client.post(
        f"{SYNC}/participants",
        json={"mode": "merge", "records": [{"external_id": "crm-p-2", **known}]},
        headers=integration.headers,
    ).json()
    assert (replace["mode"], [r["status"] for r in replace["results"]]) == ("replace", ["updated"])
    # Everything the merge sent was already so: nothing written, the carer's details kept.
    assert (merge["mode"], [r["status"] for r in merge["results"]]) == ("merge", ["unchanged"])
    emptied, kept = stored(session, "crm-p-1"), stored(session, "crm-p-2")
    assert emptied is not None
    assert kept is not None
    assert (emptied.carer_phone, emptied.carer_name) == (None, None)
    assert (kept.carer_phone, kept.carer_name, kept.version) == (PHONE, "Ngozi Okafor", 1)


def test_sync_without_a_mode_replaces_as_before(
    client: TestClient, integration: Actor, session: Session
) -> None:
    client.put(f"{PARTICIPANTS}/crm-p-3", json=child(), headers=integration.headers)
    record = {"external_id": "crm-p-3", **{k: v for k, v in child().items() if k != "carer_phone"}}
    answer = client.post(f"{SYNC}/participants", json={"records": [record]}, headers=integration.headers)
    assert answer.json()["mode"] == "replace"
    assert [r["status"] for r in answer.json()["results"]] == ["updated"]
    kept = stored(session, "crm-p-3")
    assert kept is not None
    assert kept.carer_phone is None


# --- PATCH by external id -------------------------------------------------------------------------------


def test_a_patch_creates_with_every_required_field_and_answers_location(
    client: TestClient, integration: Actor
) -> None:
    made = client.patch(f"{PARTICIPANTS}/crm-p-4", json=child(), headers=integration.headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["external_id"], body["version"], body["carer_phone"]) == ("crm-p-4", 1, PHONE)
    assert made.headers["location"] == f"/api/v1/participants/{body['id']}"
    assert made.headers["etag"] == '"1"'
    assert client.get(made.headers["location"], headers=integration.headers).json()["id"] == body["id"]
    again = client.patch(f"{PARTICIPANTS}/crm-p-4", json=child(), headers=integration.headers)
    assert (again.status_code, again.json()["version"]) == (200, 1)  # the same push writes nothing


def test_a_create_by_patch_without_the_required_fields_names_them_and_writes_nothing(
    client: TestClient, integration: Actor, session: Session
) -> None:
    r = client.patch(
        f"{PARTICIPANTS}/crm-p-5",
        json={"full_name": "Maya Okafor", "carer_phone": "07700 900123"},
        headers=integration.headers,
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "validation_error"
    assert {(e["field"], e["type"]) for e in r.json()["errors"]} == {
        ("date_of_birth", "missing"),
        ("joined_on", "missing"),
    }
    assert "date_of_birth" in r.json()["detail"]
    assert stored(session, "crm-p-5") is None
    assert audit_actions(session, "participant") == []
    staff = client.patch(f"{STAFF}/crm-s-5", json={"job_title": "Tutor"}, headers=integration.headers)
    assert staff.status_code == 422
    assert {e["field"] for e in staff.json()["errors"]} == {
        "full_name",
        "email",
        "employment_type",
        "started_on",
    }
    assert session.exec(select(Staff).where(Staff.external_id == "crm-s-5")).first() is None


def test_null_clears_a_nullable_field_and_is_refused_for_one_that_always_has_a_value(
    client: TestClient, integration: Actor
) -> None:
    client.patch(f"{PARTICIPANTS}/crm-p-6", json=child(), headers=integration.headers)
    cleared = client.patch(f"{PARTICIPANTS}/crm-p-6", json={"carer_phone": None}, headers=integration.headers)
    assert cleared.status_code == 200
    assert (cleared.json()["carer_phone"], cleared.json()["carer_name"]) == (None, "Ngozi Okafor")
    refused = client.patch(f"{PARTICIPANTS}/crm-p-6", json={"full_name": None}, headers=integration.headers)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "full_name"


@pytest.mark.parametrize("external_id", ["crm-p-8", None])
def test_the_body_may_not_name_another_external_id(
    client: TestClient, integration: Actor, external_id: str | None
) -> None:
    client.patch(f"{PARTICIPANTS}/crm-p-7", json=child(), headers=integration.headers)
    r = client.patch(
        f"{PARTICIPANTS}/crm-p-7", json={"external_id": external_id}, headers=integration.headers
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "external_id"
    same = client.patch(
        f"{PARTICIPANTS}/crm-p-7", json={"external_id": "crm-p-7"}, headers=integration.headers
    )
    assert (same.status_code, same.json()["version"]) == (200, 1)


def test_dates_stay_in_order_against_the_stored_record(client: TestClient, integration: Actor) -> None:
    client.patch(f"{PARTICIPANTS}/crm-p-9", json=child(), headers=integration.headers)
    r = client.patch(f"{PARTICIPANTS}/crm-p-9", json={"left_on": "2024-01-01"}, headers=integration.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "left_on"


def test_if_match_is_honoured(client: TestClient, integration: Actor) -> None:
    url = f"{PARTICIPANTS}/crm-p-10"
    none_yet = client.patch(url, json=child(), headers={**integration.headers, "If-Match": '"1"'})
    assert none_yet.status_code == 412
    client.patch(url, json=child(), headers=integration.headers)
    stale = client.patch(url, json={"carer_name": "X"}, headers={**integration.headers, "If-Match": '"7"'})
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed")
    fresh = client.patch(url, json={"carer_name": "X"}, headers={**integration.headers, "If-Match": '"1"'})
    assert (fresh.status_code, fresh.json()["carer_name"], fresh.json()["carer_phone"]) == (200, "X", PHONE)


def test_only_those_who_may_push_may_patch(
    client: TestClient, staff_actor: Actor, trustee: Actor, coordinator: Actor
) -> None:
    for actor in (staff_actor, trustee):
        assert (
            client.patch(f"{PARTICIPANTS}/crm-p-11", json=child(), headers=actor.headers).status_code == 403
        )
        assert (
            client.patch(f"{STAFF}/crm-s-11", json=staff_record(), headers=actor.headers).status_code == 403
        )
    assert (
        client.patch(f"{PARTICIPANTS}/crm-p-11", json=child(), headers=coordinator.headers).status_code == 201
    )


def test_a_write_only_key_pushes_whole_records_only(client: TestClient, session: Session) -> None:
    # A partial push is merged with what is stored, which such a key may not read: refused, whole records
    # get receipts (tests/test_write_only_oracles.py shows the oracle a merge would be).
    key = make_api_key(session, (ApiKeyScope.sync_write,))
    refused = client.patch(f"{PARTICIPANTS}/crm-p-12", json=child(), headers=key.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "whole_records_only"
    assert stored(session, "crm-p-12") is None
    made = client.put(f"{PARTICIPANTS}/crm-p-12", json=child(), headers=key.headers)
    assert made.status_code == 201
    assert made.json() == {"id": made.json()["id"], "version": 1, "status": "created"}
    changed = client.put(f"{PARTICIPANTS}/crm-p-12", json=child(carer_name="Ade"), headers=key.headers)
    assert changed.json() == {"id": made.json()["id"], "version": 2, "status": "updated"}


def test_staff_patch_keeps_the_job_title_and_announces_a_departure(
    client: TestClient, integration: Actor, coordinator: Actor, session: Session
) -> None:
    client.put(f"{STAFF}/crm-s-1", json=staff_record(), headers=integration.headers)
    subscribed = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "events": ["staff.left_with_access"]},
        headers=coordinator.headers,
    )
    assert subscribed.status_code == 201, subscribed.text
    staff = session.exec(select(Staff).where(Staff.external_id == "crm-s-1")).one()
    make_membership(session, make_group(session), staff=staff)
    left = client.patch(f"{STAFF}/crm-s-1", json={"left_on": str(TODAY)}, headers=integration.headers)
    assert left.status_code == 200, left.text
    assert (left.json()["job_title"], left.json()["is_current"]) == ("Drum tutor", False)
    (delivery,) = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.event_type == WebhookEvent.staff_left_with_access)
    ).all()
    assert json.loads(delivery.body)["data"]["staff_id"] == str(staff.id)
    assert audit_actions(session, "staff") == ["staff.create", "staff.update"]


def test_a_staff_patch_lowercases_the_email_and_clashes_as_the_put_does(
    client: TestClient, integration: Actor, session: Session
) -> None:
    make_actor(session, Role.staff, email="taken@moremusic.org.uk")
    client.put(f"{STAFF}/crm-s-2", json=staff_record(), headers=integration.headers)
    same = client.patch(
        f"{STAFF}/crm-s-2", json={"email": "Asha.Patel@MoreMusic.org.uk"}, headers=integration.headers
    )
    assert (same.status_code, same.json()["version"]) == (200, 1)
    taken = client.patch(
        f"{STAFF}/crm-s-2", json={"email": "taken@moremusic.org.uk"}, headers=integration.headers
    )
    assert taken.status_code == 409
    assert taken.json()["field"] == "email"


# --- bulk sync's modes ----------------------------------------------------------------------------------


def test_a_merge_batch_creates_changes_and_rejects_one_by_one(
    client: TestClient, integration: Actor, session: Session
) -> None:
    client.put(f"{STAFF}/crm-s-3", json=staff_record(), headers=integration.headers)
    records = [
        {"external_id": "crm-s-3", "job_title": "Lead drum tutor"},
        {"external_id": "crm-s-4", "job_title": "Singer"},  # new, and too little to create
        {"external_id": "crm-s-5", **staff_record(email="new.person@moremusic.org.uk")},
        {"external_id": "crm-s-6", "started_on": None},  # never null
    ]
    body = client.post(
        f"{SYNC}/staff", json={"mode": "merge", "records": records}, headers=integration.headers
    )
    assert body.status_code == 200, body.text
    results = body.json()["results"]
    assert [r["status"] for r in results] == ["updated", "rejected", "created", "rejected"]
    assert body.json()["counts"] == {"created": 1, "updated": 1, "unchanged": 0, "rejected": 2}
    assert {e["field"] for e in results[1]["errors"]} == {
        "full_name",
        "email",
        "employment_type",
        "started_on",
    }
    assert {e["type"] for e in results[1]["errors"]} == {"missing"}
    assert results[3]["errors"][0]["field"] == "started_on"
    session.expire_all()
    changed = session.exec(select(Staff).where(Staff.external_id == "crm-s-3")).one()
    assert (changed.job_title, changed.full_name, changed.started_on.isoformat()) == (
        "Lead drum tutor",
        "Asha Patel",
        "2024-09-01",
    )
    assert session.exec(select(Staff).where(col(Staff.external_id).in_(["crm-s-4", "crm-s-6"]))).all() == []


def test_a_replace_batch_still_needs_whole_records(client: TestClient, integration: Actor) -> None:
    client.put(f"{STAFF}/crm-s-7", json=staff_record(), headers=integration.headers)
    body = client.post(
        f"{SYNC}/staff",
        json={"mode": "replace", "records": [{"external_id": "crm-s-7", "job_title": "Lead"}]},
        headers=integration.headers,
    ).json()
    assert [r["status"] for r in body["results"]] == ["rejected"]
    assert {e["field"] for e in body["results"][0]["errors"]} >= {"full_name", "email"}


def test_an_unknown_mode_is_refused_whole(client: TestClient, integration: Actor) -> None:
    r = client.post(
        f"{SYNC}/staff",
        json={"mode": "upsert", "records": [{"external_id": "crm-s-8", **staff_record()}]},
        headers=integration.headers,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "mode"


def _consent(participant_external_id: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "participant_external_id": participant_external_id,
        "kind": "image_use",
        "purposes": ["website", "social_media"],
        "given_by": "parent_carer",
        "given_by_name": "Ngozi Okafor",
        "given_on": "2024-09-01",
        "evidence_ref": "FORM-2024-117",
    }
    data.update(overrides)
    return data


def test_a_consent_merge_withdraws_with_the_withdrawal_alone_and_changes_nothing_else(
    client: TestClient, integration: Actor
) -> None:
    client.put(f"{PARTICIPANTS}/crm-p-13", json=child(), headers=integration.headers)
    put = client.put(
        "/api/v1/consents/by-external-id/crm-c-1", json=_consent("crm-p-13"), headers=integration.headers
    )
    assert put.status_code == 201, put.text

    def batch(mode: str, *records: dict[str, Any]) -> list[dict[str, Any]]:
        r = client.post(
            f"{SYNC}/consents", json={"mode": mode, "records": list(records)}, headers=integration.headers
        )
        assert r.status_code == 200, r.text
        return list(r.json()["results"])

    withdrawal = {"external_id": "crm-c-1", "withdrawn_on": str(TODAY), "withdrawal_reason": "Asked to stop"}
    # Under replace the same push is a different consent (no kind, no giver): rejected, nothing changed.
    assert [r["status"] for r in batch("replace", withdrawal)] == ["rejected"]
    (merged,) = batch("merge", withdrawal)
    assert (merged["status"], merged["version"]) == ("updated", 2)
    assert [r["status"] for r in batch("merge", withdrawal)] == ["unchanged"]
    # A merge still never edits a consent, and a new one needs everything a consent needs.
    (edit,) = batch("merge", {"external_id": "crm-c-1", "given_on": "2024-09-02"})
    assert (edit["status"], edit["code"]) == ("rejected", "consent_is_append_only")
    (new,) = batch(
        "merge", {"external_id": "crm-c-2", "participant_external_id": "crm-p-13", "kind": "image_use"}
    )
    assert new["status"] == "rejected"
    assert {e["field"] for e in new["errors"]} == {"given_by", "given_by_name", "given_on"}
    got = client.get(f"/api/v1/consents/{put.json()['id']}", headers=integration.headers).json()
    assert (got["withdrawn_on"], got["given_on"], got["purposes"]) == (
        str(TODAY),
        "2024-09-01",
        ["website", "social_media"],
    )


def test_the_spec_types_each_record_and_result() -> None:
    from api.main import create_app

    spec = create_app().openapi()
    schemas = spec["components"]["schemas"]
    for resource, record in (
        ("Staff", "StaffSyncRecord"),
        ("Participant", "ParticipantSyncRecord"),
        ("Consent", "ConsentSyncRecord"),
    ):
        request = schemas[f"{resource}SyncRequest"]["properties"]
        assert request["records"]["items"] == {"$ref": f"#/components/schemas/{record}"}
        assert request["mode"]["default"] == "replace"
        assert schemas[record]["required"] == ["external_id"]
        assert schemas[record]["additionalProperties"] is False
    assert schemas["SyncMode"]["enum"] == ["replace", "merge"]
    result = schemas["SyncResult"]["properties"]
    assert result["status"]["$ref"] == "#/components/schemas/SyncStatus"
    assert schemas["SyncResponse"]["properties"]["counts"]["$ref"] == "#/components/schemas/SyncCounts"
    for name in ("SyncResult", "SyncCounts", "SyncResponse", "GroupChange", "StaffSyncRequest"):
        undescribed = [p for p, v in schemas[name]["properties"].items() if not v.get("description")]
        assert not undescribed, (name, undescribed)
    for enum in ("SyncMode", "SyncStatus"):
        doc = schemas[enum]["description"]
        assert all(f"- {value}:" in doc for value in schemas[enum]["enum"]), enum
    created = spec["paths"]["/api/v1/participants/by-external-id/{external_id}"]["patch"]["responses"]["201"]
    assert "Location" in created["headers"]


# --- two partial pushes at the same moment, against a live server ----------------------------------------


def test_two_patches_of_one_external_id_at_once_keep_both_changes() -> None:
    """Each round, two PATCHes of different fields sent at the same moment: both answer 200 and both
    changes stand (the one that lost the race re-reads and re-applies, never overwriting the other); on a
    new external id, one creates it (201) and the other changes it (200): one record, both changes."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            key = make_api_key(session)
        url = f"{base}{PARTICIPANTS}/crm-race"
        required = {k: v for k, v in child().items() if k in ("full_name", "date_of_birth", "joined_on")}

        def read() -> dict[str, Any]:
            page = httpx.get(f"{base}/api/v1/participants?external_id=crm-race", headers=key.headers).json()
            assert page["total"] == 1, page  # one record, however the pushes fell
            return dict(page["items"][0])

        def send(bodies: list[dict[str, Any]], headers: dict[str, str] | None = None) -> list[int]:
            def patch(i: int) -> int:
                r = httpx.patch(url, json=bodies[i], headers={**key.headers, **(headers or {})}, timeout=60)
                assert r.status_code < 500, r.text
                return r.status_code

            return together(2, patch)

        made = send([{**required, "carer_name": "Ngozi"}, {**required, "carer_email": "n@example.org"}])
        assert sorted(made) == [200, 201]
        first = read()
        assert (first["carer_name"], first["carer_email"], first["version"]) == ("Ngozi", "n@example.org", 2)
        for n in range(3):  # several rounds, so both orders of arrival are exercised
            statuses = send([{"carer_name": f"Carer {n}"}, {"carer_phone": f"07700 90010{n}"}])
            assert statuses == [200, 200]
            now = read()
            assert (now["carer_name"], now["carer_phone"]) == (f"Carer {n}", f"+44770090010{n}")
            assert now["version"] == 2 + 2 * (n + 1)  # two writes a round, neither lost
        # With the same ETag, the second is refused rather than applied to a record it did not read.
        etag = {"If-Match": f'"{read()["version"]}"'}
        assert sorted(send([{"carer_name": "A"}, {"carer_name": "B"}], etag)) == [200, 412]
