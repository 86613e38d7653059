"""A bulk sync the database fails part way through: the answer says what was saved, and the same batch sent
again with the same Idempotency-Key finishes it, at once after a failure and within a minute after a crash.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, func, select

from api.config import Settings, get_settings
from api.db import utcnow
from api.participants import service as participants
from api.participants.models import Participant
from tests.kit.auth import Actor
from tests.test_idempotency import _row, keyed
from tests.test_sync_participants import SYNC, child

BATCH = [child(n, external_id=f"crm-fail-{n}") for n in range(10)]


def _fail_at(monkeypatch: pytest.MonkeyPatch, failing_call: int) -> None:
    """The database goes away when the batch reaches its `failing_call`-th record."""
    real = participants.upsert_by_external_id
    calls = 0

    def upsert(**kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == failing_call:
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        return real(**kwargs)

    monkeypatch.setattr(participants, "upsert_by_external_id", upsert)


def _stored(session: Session) -> int:
    query = select(func.count()).where(col(Participant.external_id).like("crm-fail-%"))
    return int(session.exec(query).one())


def test_a_batch_that_fails_part_way_says_what_was_saved_and_its_retry_finishes_it(
    client: TestClient, integration: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's reproduction: the 503 said "nothing was changed" when the records before the failure
    were saved."""
    _fail_at(monkeypatch, 5)
    failed = client.post(SYNC, json={"records": BATCH}, headers=keyed(integration, "batch-1"))
    assert failed.status_code == 503, failed.text
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.headers["retry-after"] == "1"
    problem = failed.json()
    assert problem["code"] == "sync_interrupted"
    assert problem["records_saved"] == 4
    assert problem["failed_at"] == 4
    assert [r["status"] for r in problem["results"]] == ["created"] * 4
    assert "nothing was changed" not in problem["detail"]
    assert "record 4 was not saved" in problem["detail"]
    assert _stored(session) == 4
    # The failure released the key: the retry runs at once rather than getting 409 "still being processed".
    assert _row(session, integration, "batch-1") is None

    monkeypatch.undo()
    retried = client.post(SYNC, json={"records": BATCH}, headers=keyed(integration, "batch-1"))
    assert retried.status_code == 200, retried.text
    assert [r["status"] for r in retried.json()["results"]] == ["unchanged"] * 4 + ["created"] * 6
    assert _stored(session) == 10


def test_a_batch_whose_worker_died_is_finished_by_a_retry_once_its_claim_lapses(
    client: TestClient, integration: Actor, session: Session
) -> None:
    """A worker killed mid-batch renews nothing: its claim lapses after IDEMPOTENCY_LOCK_SECONDS (by
    default well within a minute, rather than the 300 s it was) and the retry completes the batch."""
    assert Settings.model_fields["idempotency_lock_seconds"].default <= 60
    half = BATCH[:5]
    assert client.post(SYNC, json={"records": half}, headers=integration.headers).status_code == 200
    first = client.post(SYNC, json={"records": BATCH}, headers=keyed(integration, "batch-2"))
    assert first.status_code == 200
    # As the crashed worker left it: the key claimed, no answer stored, five records saved.
    row = _row(session, integration, "batch-2")
    assert row is not None
    row.response_status, row.response_body, row.locked_at = None, None, utcnow()
    session.add(row)
    session.commit()
    assert (
        client.post(SYNC, json={"records": BATCH}, headers=keyed(integration, "batch-2")).status_code == 409
    )

    row.locked_at = utcnow() - timedelta(seconds=get_settings().idempotency_lock_seconds + 1)
    session.add(row)
    session.commit()
    retried = client.post(SYNC, json={"records": BATCH}, headers=keyed(integration, "batch-2"))
    assert retried.status_code == 200, retried.text
    assert retried.json()["counts"]["unchanged"] == 10  # the dead worker had saved them all
    assert _stored(session) == 10
