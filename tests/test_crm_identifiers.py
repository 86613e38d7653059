"""Identifier-like text the CRM pushes (a participant's and a consent's external id, a consent's evidence_ref)
and an incident referral's reference are typed by people, and often name the child or the carer ("Maya
Okafor consent form.pdf"): the audit trail records that they changed, never what they say; no webhook body,
log line or error quoting a stored record carries them either."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit import service as audit
from api.audit.models import AuditEvent
from api.consents.models import Consent
from api.incidents.follow_up_models import IncidentReferral
from api.participants.models import Participant
from api.webhooks.models import WebhookDelivery, WebhookEvent
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.test_incidents import URL as INCIDENTS
from tests.test_incidents import incident_body
from tests.test_operator_logs import logs as logs  # a fixture

API = "/api/v1"
NAMES = ("okafor", "maya")


def _said(session: Session) -> str:
    return json.dumps(
        [
            [e.model_dump(mode="json") for e in session.exec(select(AuditEvent)).all()],
            [d.body for d in session.exec(select(WebhookDelivery)).all()],
        ]
    ).lower()


def test_crm_identifiers_naming_a_child_reach_no_audit_event_webhook_or_log(
    logs: io.StringIO, client: TestClient, integration: Actor, coordinator: Actor, session: Session
) -> None:
    hook = {"url": "http://127.0.0.1:9/hooks", "events": [e.value for e in WebhookEvent]}
    assert client.post(f"{API}/webhooks", json=hook, headers=coordinator.headers).status_code == 201
    child = {
        "full_name": "Child Pseudonym",
        "date_of_birth": str(TODAY - timedelta(days=12 * 365)),
        "joined_on": str(TODAY - timedelta(days=100)),
    }
    pushed = client.put(
        f"{API}/participants/by-external-id/Maya-Okafor-2014", json=child, headers=integration.headers
    )
    assert pushed.status_code == 201, pushed.text
    consent: dict[str, Any] = {
        "participant_external_id": "Maya-Okafor-2014",
        "kind": "image_use",
        "purposes": ["website"],
        "given_by": "parent_carer",
        "given_by_name": "A Carer",
        "given_on": str(TODAY - timedelta(days=30)),
        "evidence_ref": "Maya Okafor consent form.pdf",
    }
    url = f"{API}/consents/by-external-id/maya-okafor-consent"
    created = client.put(url, json=consent, headers=integration.headers)
    assert created.status_code == 201, created.text
    # A second record of the same form: the 409 names the consent it repeats, not the stored reference.
    again = client.put(f"{API}/consents/by-external-id/other", json=consent, headers=integration.headers)
    assert again.status_code == 409, again.text
    assert [n for n in NAMES if n in json.dumps(again.json()).lower()] == []
    withdrawn = client.put(url, json={**consent, "withdrawn_on": str(TODAY)}, headers=integration.headers)
    assert withdrawn.status_code == 200, withdrawn.text
    incident = client.post(
        INCIDENTS, json=incident_body(participant_ids=[pushed.json()["id"]]), headers=coordinator.headers
    )
    assert incident.status_code == 201, incident.text
    referral = {"agency": "lado", "referred_on": str(TODAY), "reference": "MASH Maya Okafor 2026"}
    r = client.post(
        f"{INCIDENTS}/{incident.json()['id']}/referrals", json=referral, headers=coordinator.headers
    )
    assert r.status_code == 201, r.text

    session.expire_all()
    said = _said(session)
    assert "consent.withdraw" in said
    assert "participant.create" in said
    assert [n for n in NAMES if n in said] == []
    assert [n for n in NAMES if n in logs.getvalue().lower()] == []
    # The trail still says the fields were set.
    created_event = session.exec(select(AuditEvent).where(AuditEvent.action == "consent.create")).one()
    assert created_event.changes["evidence_ref"] == audit.REDACTED
    assert created_event.changes["external_id"] == audit.REDACTED


def test_identifier_text_of_child_records_is_withheld_whatever_the_column() -> None:
    """The kind, not the instance: no string column of a participant, a consent or an incident's referral
    is recorded verbatim, but a consent's purposes (a list of codes); a column added later is withheld
    without being listed."""
    for model in (Participant, Consent, IncidentReferral):
        table = model.__table__  # type: ignore[union-attr]
        # A consent's purposes are codes of the model's own vocabulary (`Purpose`), nothing anyone typed.
        assert audit.VERBATIM.get(table.name, frozenset()) <= {"purposes"}, table.name
        assert {"external_id", "evidence_ref", "reference"} & set(
            table.columns.keys()
        ) <= audit.free_text_fields(model)
