"""The safeguarding records are append-only in the database too (issue 11): on PostgreSQL a raw UPDATE or
DELETE on each of them fails, whoever sends it; of a consent, only the withdrawal may be written, once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from tests.conftest import BACKEND
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.consents import make_consent
from tests.kit.participants import make_participant
from tests.test_incidents import URL, incident_body

pytestmark = pytest.mark.skipif(
    BACKEND != "postgresql",
    reason="the triggers are PostgreSQL's; on SQLite the migration adds none (a SQLite file can be rewritten "
    "by anyone who can write it)",
)

APPEND_ONLY = (
    "audit_event",
    "incident_entry",
    "incident_transition",
    "incident_correction",
    "incident_notification",
    "incident_referral",
    "incident_view",
    "consent",
)


def _one_of_each(client: TestClient, coordinator: Actor, session: Session) -> dict[str, uuid.UUID]:
    """A row in every append-only table, written through the API; the id of one row per table."""
    child = make_participant(session)
    consent = make_consent(session, child, given_on=TODAY - timedelta(days=30))
    body = incident_body(participant_ids=[str(child.id)])
    iid = client.post(URL, json=body, headers=coordinator.headers).json()["id"]
    h = coordinator.headers
    writes = [
        ("entries", {"kind": "note", "text": "A note"}),
        ("notifications", {"participant_id": str(child.id), "not_informed_reason": "Advised not to"}),
        ("referrals", {"agency": "lado", "referred_on": str(TODAY)}),
        ("transitions", {"to_status": "triaged", "reason": "Read"}),
    ]
    for path, data in writes:
        assert client.post(f"{URL}/{iid}/{path}", json=data, headers=h).status_code in (200, 201)
    assert (
        client.patch(f"{URL}/{iid}", json={"severity": "high", "reason": "Worse"}, headers=h).status_code
        == 200
    )
    assert client.get(f"{URL}/{iid}", headers=h).status_code == 200  # a view
    ids = {}
    for table in APPEND_ONLY:
        ids[table] = session.execute(text(f"SELECT id FROM {table} LIMIT 1")).scalar_one()
    assert ids["consent"] == consent.id
    return ids


@pytest.mark.parametrize("table", APPEND_ONLY)
def test_an_update_or_delete_is_refused(
    client: TestClient, coordinator: Actor, session: Session, table: str
) -> None:
    ids = _one_of_each(client, coordinator, session)
    # Table names from the list above, never from input.
    for statement in (
        f"UPDATE {table} SET id = id WHERE id = :id",
        f"DELETE FROM {table} WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="refused"), session.begin_nested():
            session.execute(text(statement), {"id": ids[table]})
    with pytest.raises(DBAPIError, match="refused"), session.begin_nested():
        session.execute(text(f"TRUNCATE {table} CASCADE"))
    assert (
        session.execute(text(f"SELECT count(*) FROM {table} WHERE id = :id"), {"id": ids[table]}).scalar()
        == 1
    )


def test_a_consent_may_be_withdrawn_once_and_nothing_else_changed(session: Session) -> None:
    consent = make_consent(session, make_participant(session), given_on=TODAY)
    withdraw = (
        "UPDATE consent SET withdrawn_on = :day, withdrawal_reason = :why, version = version + 1 "
        "WHERE id = :id"
    )
    with pytest.raises(DBAPIError, match="nothing else"), session.begin_nested():
        session.execute(
            text("UPDATE consent SET withdrawn_on = :day, given_by_name = 'Someone else' WHERE id = :id"),
            {"day": TODAY, "id": consent.id},
        )
    with pytest.raises(DBAPIError, match="only a withdrawal"), session.begin_nested():
        session.execute(text("UPDATE consent SET evidence_ref = 'X' WHERE id = :id"), {"id": consent.id})
    with session.begin_nested():
        session.execute(text(withdraw), {"day": TODAY, "why": "Parent asked", "id": consent.id})
    with pytest.raises(DBAPIError, match="only a withdrawal"), session.begin_nested():
        session.execute(text(withdraw), {"day": TODAY, "why": "Changed my mind", "id": consent.id})
    row = session.execute(
        text("SELECT withdrawal_reason FROM consent WHERE id = :id"), {"id": consent.id}
    ).scalar_one()
    assert row == "Parent asked"


def test_an_incident_keeps_its_details_and_reporter_and_only_its_headline_and_status_change(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session
) -> None:
    iid = client.post(URL, json=incident_body(), headers=coordinator.headers).json()["id"]
    refused = {
        "details": "UPDATE incident SET details = 'Rewritten', version = version + 1 WHERE id = :id",
        "reporter": "UPDATE incident SET reported_by_id = :other, version = version + 1 WHERE id = :id",
        "occurred_at": "UPDATE incident SET occurred_at = occurred_at - interval '1 day', "
        "version = version + 1 WHERE id = :id",
        "created_at": "UPDATE incident SET created_at = now(), version = version + 1 WHERE id = :id",
    }
    assert staff_actor.staff is not None
    for statement in refused.values():
        with pytest.raises(DBAPIError, match="only its headline and status"), session.begin_nested():
            session.execute(text(statement), {"id": iid, "other": staff_actor.staff.id})
    with pytest.raises(DBAPIError, match="never deleted"), session.begin_nested():
        session.execute(text("DELETE FROM incident WHERE id = :id"), {"id": iid})
    with pytest.raises(DBAPIError, match="refused"), session.begin_nested():
        session.execute(text("TRUNCATE incident CASCADE"))
    # What the application itself does still works: a correction and a transition.
    h = coordinator.headers
    assert (
        client.patch(f"{URL}/{iid}", json={"summary": "Corrected", "reason": "Triage"}, headers=h).status_code
        == 200
    )
    r = client.post(f"{URL}/{iid}/transitions", json={"to_status": "triaged", "reason": "Read"}, headers=h)
    assert r.status_code in (200, 201), r.text
    got = client.get(f"{URL}/{iid}", headers=h).json()
    assert (got["summary"], got["status"], got["details"], got["version"]) == (
        "Corrected",
        "triaged",
        incident_body()["details"],
        3,
    )
