"""The CRM's view of consents: append-only pushes by external id, one at a time or in bulk."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text as sa_text
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.consents.models import Consent, ConsentKind
from api.groups.models import Group
from api.memberships.models import Membership
from api.participants.models import Participant
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field, request_body
from tests.kit.sync import assert_push_breaks_group

URL = "/api/v1/consents/by-external-id"
SYNC = "/api/v1/sync/consents"


consent = request_body(
    {
        "participant_external_id": "crm-p-1",
        "kind": "image_use",
        "purposes": ["website", "social_media"],
        "given_by": "parent_carer",
        "given_by_name": "Priya Shah",
        "given_on": "2024-09-01",
        "evidence_ref": "FORM-2024-117",
    }
)


def child(session: Session, external_id: str = "crm-p-1") -> Participant:
    return make_participant(session, external_id=external_id)


def actions(session: Session) -> list[str]:
    return sorted(
        session.exec(select(AuditEvent.action).where(col(AuditEvent.action).like("consent.%"))).all()
    )


def test_a_push_records_then_an_identical_push_changes_nothing(
    client: TestClient, integration: Actor, session: Session
) -> None:
    person = child(session)
    created = client.put(f"{URL}/crm-c-1", json=consent(), headers=integration.headers)
    assert created.status_code == 201, created.text
    assert created.json()["participant_id"] == str(person.id)
    assert created.json()["external_id"] == "crm-c-1"
    assert created.headers["etag"] == '"1"'
    # Purposes in another order are the same consent.
    again = client.put(
        f"{URL}/crm-c-1", json=consent(purposes=["social_media", "website"]), headers=integration.headers
    )
    assert again.status_code == 200
    assert again.json()["version"] == 1
    by_id = consent(participant_id=str(person.id))
    del by_id["participant_external_id"]
    assert client.put(f"{URL}/crm-c-1", json=by_id, headers=integration.headers).json()["version"] == 1
    assert actions(session) == ["consent.create"]


def test_a_push_that_adds_withdrawn_on_withdraws(
    client: TestClient, integration: Actor, session: Session
) -> None:
    child(session)
    client.put(f"{URL}/crm-c-2", json=consent(), headers=integration.headers)
    withdrawal = consent(withdrawn_on=str(TODAY), withdrawal_reason="Family moved away")
    withdrawn = client.put(f"{URL}/crm-c-2", json=withdrawal, headers=integration.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["withdrawn_on"] == str(TODAY)
    assert withdrawn.json()["withdrawal_reason"] == "Family moved away"
    assert withdrawn.json()["in_force"] is False
    assert withdrawn.headers["etag"] == '"2"'
    again = client.put(f"{URL}/crm-c-2", json=withdrawal, headers=integration.headers)
    assert again.status_code == 200
    assert again.json()["version"] == 2
    assert actions(session) == ["consent.create", "consent.withdraw"]


def test_the_withdraw_checks_apply(client: TestClient, integration: Actor, session: Session) -> None:
    child(session)
    client.put(f"{URL}/crm-c-3", json=consent(), headers=integration.headers)
    early = client.put(f"{URL}/crm-c-3", json=consent(withdrawn_on="2024-08-01"), headers=integration.headers)
    assert refused_field(early) == "withdrawn_on"
    later = str(TODAY + timedelta(days=3))
    future = client.put(f"{URL}/crm-c-3", json=consent(withdrawn_on=later), headers=integration.headers)
    assert future.status_code == 422
    assert actions(session) == ["consent.create"]


def test_any_other_change_is_refused_as_append_only(
    client: TestClient, integration: Actor, session: Session
) -> None:
    child(session)
    child(session, "crm-p-2")
    client.put(f"{URL}/crm-c-4", json=consent(), headers=integration.headers)
    changes: list[tuple[dict[str, Any], list[str]]] = [
        ({"purposes": ["website"]}, ["purposes"]),
        ({"given_on": "2024-09-02", "evidence_ref": None}, ["given_on", "evidence_ref"]),
        ({"participant_external_id": "crm-p-2"}, ["participant_id"]),
    ]
    for change, fields in changes:
        r = client.put(f"{URL}/crm-c-4", json=consent(**change), headers=integration.headers)
        assert r.status_code == 409, r.text
        problem = r.json()
        assert problem["code"] == "consent_is_append_only"
        assert [e["field"] for e in problem["errors"]] == fields
        assert "new external id" in problem["detail"]
    client.put(f"{URL}/crm-c-4", json=consent(withdrawn_on=str(TODAY)), headers=integration.headers)
    undo = client.put(f"{URL}/crm-c-4", json=consent(), headers=integration.headers)
    assert undo.status_code == 409
    assert [e["field"] for e in undo.json()["errors"]] == ["withdrawn_on"]
    stored = session.exec(select(Consent).where(Consent.external_id == "crm-c-4")).one()
    session.refresh(stored)
    assert stored.withdrawn_on == TODAY
    assert stored.given_on.isoformat() == "2024-09-01"
    assert actions(session) == ["consent.create", "consent.withdraw"]


def test_the_participant_is_named_by_exactly_one_known_id(
    client: TestClient, integration: Actor, session: Session
) -> None:
    person = child(session)
    both = client.put(
        f"{URL}/crm-c-5", json=consent(participant_id=str(person.id)), headers=integration.headers
    )
    assert refused_field(both) == "participant_external_id"
    neither = consent()
    del neither["participant_external_id"]
    r = client.put(f"{URL}/crm-c-5", json=neither, headers=integration.headers)
    assert refused_field(r) == "participant_id"
    unknown = client.put(
        f"{URL}/crm-c-5", json=consent(participant_external_id="crm-nobody"), headers=integration.headers
    )
    assert refused_field(unknown) == "participant_external_id"
    unknown_id = consent(participant_id=str(uuid.uuid4()))
    del unknown_id["participant_external_id"]
    r = client.put(f"{URL}/crm-c-5", json=unknown_id, headers=integration.headers)
    assert refused_field(r) == "participant_id"
    assert session.exec(select(Consent).where(Consent.external_id == "crm-c-5")).first() is None


def test_a_consent_pushed_already_withdrawn_is_recorded_then_withdrawn(
    client: TestClient, integration: Actor, session: Session
) -> None:
    child(session)
    body = consent(withdrawn_on="2025-01-10")
    r = client.put(f"{URL}/crm-c-6", json=body, headers=integration.headers)
    assert r.status_code == 201, r.text
    assert r.json()["withdrawn_on"] == "2025-01-10"
    assert actions(session) == ["consent.create", "consent.withdraw"]
    bad = client.put(f"{URL}/crm-c-7", json=consent(withdrawn_on="2020-01-01"), headers=integration.headers)
    assert bad.status_code == 422
    assert session.exec(select(Consent).where(Consent.external_id == "crm-c-7")).first() is None
    reason_alone = client.put(
        f"{URL}/crm-c-8", json=consent(withdrawal_reason="x"), headers=integration.headers
    )
    assert refused_field(reason_alone) == "withdrawal_reason"


def test_upsert_honours_if_match(client: TestClient, integration: Actor, session: Session) -> None:
    child(session)
    url = f"{URL}/crm-c-9"
    assert (
        client.put(url, json=consent(), headers={**integration.headers, "If-Match": '"1"'}).status_code == 412
    )
    client.put(url, json=consent(), headers=integration.headers)
    withdrawal = consent(withdrawn_on=str(TODAY))
    stale = client.put(url, json=withdrawal, headers={**integration.headers, "If-Match": '"4"'})
    assert stale.status_code == 412
    fresh = client.put(url, json=withdrawal, headers={**integration.headers, "If-Match": '"1"'})
    assert fresh.status_code == 200
    assert fresh.json()["withdrawn_on"] == str(TODAY)


def test_staff_do_not_push_by_the_crms_id(client: TestClient, staff_actor: Actor, session: Session) -> None:
    # The CRM's ids are unique across the organisation: a push by staff would tell them whether an id is
    # taken by a consent out of their reach. Staff record consents with POST /consents instead.
    assert staff_actor.staff is not None
    group = make_group(session)
    mine = child(session, "crm-p-mine")
    make_membership(session, group, staff=staff_actor.staff)
    make_membership(session, group, participant=mine)
    child(session, "crm-p-other")
    for external in ("crm-p-mine", "crm-p-other"):
        r = client.put(
            f"{URL}/crm-c-10", json=consent(participant_external_id=external), headers=staff_actor.headers
        )
        assert r.status_code == 403, r.text


# --- bulk -------------------------------------------------------------------------------------------------


def test_a_batch_answers_each_record_in_order(
    client: TestClient, integration: Actor, session: Session
) -> None:
    child(session)

    def form(n: int) -> dict[str, str]:
        # Three paper forms: one form is recorded once (see test_consent_twins.py).
        return {"evidence_ref": f"FORM-{n}", "given_on": f"2024-09-{n}"}

    client.put(f"{URL}/crm-c-20", json=consent(**form(20)), headers=integration.headers)
    client.put(f"{URL}/crm-c-21", json=consent(**form(21)), headers=integration.headers)
    records = [
        consent(external_id="crm-c-22", **form(22)),
        consent(external_id="crm-c-20", **form(20)),
        consent(external_id="crm-c-21", withdrawn_on=str(TODAY), **form(21)),
        consent(external_id="crm-c-20", kind="esafety_agreement"),
        consent(external_id="crm-c-23", participant_external_id="crm-nobody"),
    ]
    body = client.post(SYNC, json={"records": records}, headers=integration.headers).json()
    assert [r["status"] for r in body["results"]] == [
        "created",
        "unchanged",
        "updated",
        "rejected",
        "rejected",
    ]
    assert body["results"][3]["detail"] == "external_id: appears earlier in this batch"
    assert body["results"][4]["errors"][0]["field"] == "participant_external_id"
    changed = client.post(
        SYNC,
        json={"records": [consent(external_id="crm-c-22", purposes=["press"], **form(22))]},
        headers=integration.headers,
    ).json()["results"][0]
    assert changed["status"] == "rejected"
    assert changed["code"] == "consent_is_append_only"
    assert "new external id" in changed["detail"]
    again = client.post(SYNC, json={"records": records[:3]}, headers=integration.headers).json()
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "rejected": 0}


def test_withdrawing_an_image_consent_is_reported_as_a_group_change(
    client: TestClient, integration: Actor, coordinator: Actor, session: Session, compliant_group: Group
) -> None:
    member_id = session.exec(
        select(Membership.participant_id).where(
            Membership.group_id == compliant_group.id, col(Membership.participant_id).is_not(None)
        )
    ).one()
    image = session.exec(
        select(Consent).where(Consent.participant_id == member_id, Consent.kind == ConsentKind.image_use)
    ).one()
    # Test set-up only: a consent row is append-only on PostgreSQL (a trigger refuses every change but a
    # withdrawal), so the trigger is set aside for this one transaction, as a migration's owner could.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa_text("SET LOCAL session_replication_role = replica"))
    image.external_id = "crm-c-30"
    session.add(image)
    session.commit()
    record = {
        "external_id": "crm-c-30",
        "participant_id": str(member_id),
        "kind": "image_use",
        "purposes": [str(p) for p in image.purposes],
        "given_by": str(image.given_by),
        "given_by_name": image.given_by_name,
        "given_on": str(image.given_on),
    }
    assert_push_breaks_group(client, integration, SYNC, record, {"withdrawn_on": str(TODAY)}, compliant_group)
