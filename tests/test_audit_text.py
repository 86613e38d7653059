"""The audit log never holds what people wrote (issue 11): every free-text or personal field of every model is
recorded as changed, by the one writer, whichever way a caller hands it the change."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel, col, select

from api.audit import service as audit
from api.audit.models import AuditEvent
from api.incidents.models import IncidentStatus
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.consents import make_consent
from tests.kit.participants import make_participant
from tests.test_incidents import URL as INCIDENTS
from tests.test_incidents import incident_body, move


def _models() -> list[type[SQLModel]]:
    """Every table model, found from the models themselves (a new one is walked without being listed)."""
    found = {m.class_ for m in SQLModel._sa_registry.mappers if hasattr(m.class_, "__table__")}
    return sorted(found, key=lambda m: str(m.__tablename__))


def _sentinel(model: type[SQLModel], field: str, tag: str) -> str | date | dict[str, str]:
    """A value no other record holds, of the column's kind: a date (a date of birth), text inside JSON, or
    a string."""
    column = model.__table__.columns[field]  # type: ignore[attr-defined]
    if isinstance(column.type, sa.Date):
        return date(1999, 1, 2) if tag == "old" else date(2011, 3, 14)
    text = f"{tag}-{model.__name__}-{field}-secret"
    return {"text": text} if isinstance(column.type, sa.JSON) else text


def _needle(value: str | date | dict[str, str]) -> str:
    return value["text"] if isinstance(value, dict) else str(value)


def _events_text(session: Session) -> str:
    rows = session.exec(select(AuditEvent)).all()
    return json.dumps([[e.actor_label, e.action, e.entity_type, e.changes] for e in rows], default=str)


def test_verbatim_names_only_real_string_columns() -> None:
    tables = {t.name: t for t in SQLModel.metadata.sorted_tables}
    for table, names in audit.VERBATIM.items():
        assert table in tables, table
        for name in names:
            column = tables[table].columns.get(name)
            assert column is not None, f"{table}.{name}"
            assert name not in audit.free_text_fields(audit.model_for(table))


def test_the_fields_issue_11_names_are_free_text() -> None:
    # Derived from the models, not listed: a check that the derivation finds what it must.
    from api.consents.models import Consent
    from api.incidents.models import Incident, IncidentEntry, IncidentTransition

    assert {"summary", "details", "outcome_summary"} <= audit.free_text_fields(Incident)
    assert "withdrawal_reason" in audit.free_text_fields(Consent)
    assert "text" in audit.free_text_fields(IncidentEntry)
    assert "reason" in audit.free_text_fields(IncidentTransition)


@pytest.mark.parametrize(
    "model", [m for m in _models() if audit.free_text_fields(m)], ids=lambda m: m.__name__
)
def test_no_free_text_value_reaches_an_audit_event(session: Session, model: type[SQLModel]) -> None:
    """For each free-text field of the model: a record created, one updated, and an explicit change naming
    the field all leave the value out of every audit event."""
    fields = sorted(audit.free_text_fields(model))
    old = {f: _sentinel(model, f, "old") for f in fields}
    new = {f: _sentinel(model, f, "new") for f in fields}
    created = model.model_construct(**new)  # type: ignore[arg-type]
    audit.record(session, actor=None, action="test.create", entity=created)
    audit.record(session, actor=None, action="test.update", entity=created, before=old)
    audit.record(
        session,
        actor=None,
        action="test.explicit",
        entity=created,
        changes={f: {"before": old[f], "after": new[f]} for f in fields},
    )
    audit.record(
        session,
        actor=None,
        action="test.by_type",
        entity_type=str(model.__tablename__),
        changes={f: new[f] for f in fields},
    )
    session.flush()
    stored = _events_text(session)
    for value in [*old.values(), *new.values()]:
        assert _needle(value) not in stored
    events = session.exec(select(AuditEvent).where(col(AuditEvent.action).like("test.%"))).all()
    for event in events:
        for field in fields:
            # Recorded as changed, or (secrets' hashes, from a snapshot) left out altogether.
            assert event.changes.get(field, audit.REDACTED) == audit.REDACTED
            if event.action != "test.create" or field not in audit.IGNORED_FIELDS:
                assert field in event.changes


def test_a_structured_field_is_still_recorded(session: Session) -> None:
    from api.incidents.models import Incident, Severity

    incident = Incident.model_construct(severity=Severity.high, summary="a summary")
    audit.record(
        session, actor=None, action="test.update", entity=incident, before={"severity": "low", "summary": "x"}
    )
    session.flush()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "test.update")).one()
    assert event.changes["severity"] == {"before": "low", "after": "high"}
    assert event.changes["summary"] == audit.REDACTED


def test_a_whole_incident_and_a_withdrawal_leave_no_text_in_the_audit_log(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    """Through the API: every free-text field an incident's record and a consent's withdrawal take."""
    child = make_participant(session)
    texts: dict[str, str] = {
        "summary": "Adult contacted Maya Fairbrook privately",
        "details": "Details naming Maya Fairbrook",
        "entry": "Rang Maya's mum at 4pm",
        "informed_name": "Joanne Fairbrook",
        "not_informed_reason": "LADO advised not to tell the stepfather",
        "referral": "Referred about the leader who messaged Maya",
        "reason": "Triage reason naming Maya",
        "outcome_summary": "Maya's messages removed",
        "withdrawal": "Maya's mother withdrew after the incident",
        "corrected": "Adult contacted Maya Fairbrook and her brother privately",
        "correction_reason": "Maya's brother was contacted too",
    }
    body = incident_body(summary=texts["summary"], details=texts["details"], participant_ids=[str(child.id)])
    r = client.post(INCIDENTS, json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    url = f"{INCIDENTS}/{iid}"
    entry = {"kind": "note", "text": texts["entry"]}
    assert client.post(f"{url}/entries", json=entry, headers=coordinator.headers).status_code == 201
    informed = {
        "participant_id": str(child.id),
        "informed_name": texts["informed_name"],
        "method": "phone",
        "informed_at": incident_body()["occurred_at"],
    }
    assert client.post(f"{url}/notifications", json=informed, headers=coordinator.headers).status_code == 201
    not_informed = {"participant_id": str(child.id), "not_informed_reason": texts["not_informed_reason"]}
    assert (
        client.post(f"{url}/notifications", json=not_informed, headers=coordinator.headers).status_code == 201
    )
    referral = {"agency": "lado", "referred_on": str(TODAY), "notes": texts["referral"]}
    assert client.post(f"{url}/referrals", json=referral, headers=coordinator.headers).status_code == 201
    triage = {"to_status": "triaged", "reason": texts["reason"]}
    assert client.post(f"{url}/transitions", json=triage, headers=coordinator.headers).status_code == 200
    correct = {"summary": texts["corrected"], "reason": texts["correction_reason"]}
    assert client.patch(url, json=correct, headers=coordinator.headers).status_code == 200
    for step in (IncidentStatus.investigating, IncidentStatus.action_taken):
        assert move(client, coordinator, iid, step).status_code == 200
    close = {
        "to_status": "closed",
        "reason": "closing",
        "outcome": "resolved_internally",
        "outcome_summary": texts["outcome_summary"],
    }
    assert client.post(f"{url}/transitions", json=close, headers=coordinator.headers).status_code == 200
    consent = make_consent(session, child, given_on=TODAY - timedelta(days=30))
    withdraw = {"withdrawn_on": str(TODAY), "reason": texts["withdrawal"]}
    r = client.post(f"/api/v1/consents/{consent.id}/withdraw", json=withdraw, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    stored = _events_text(session)
    for name, text in texts.items():
        assert text not in stored, name
    assert "Maya" not in stored
    actions = {e.action for e in session.exec(select(AuditEvent)).all()}
    assert {"incident.create", "incident.transition", "consent.withdraw"} <= actions
    withdrawal = session.exec(select(AuditEvent).where(AuditEvent.action == "consent.withdraw")).one()
    assert withdrawal.changes["withdrawal_reason"] == audit.REDACTED
