"""An incident's headline may be corrected only with a reason, and each correction is on its timeline with
what changed (issue 11), the summary's wording only for those who manage incidents."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit import service as audit
from api.audit.models import AuditEvent
from api.incidents.models import IncidentCorrection
from tests.kit.auth import Actor
from tests.test_incidents import URL, report

FIRST = "A leader messaged a young person from a personal account"
SECOND = "A leader messaged two young people from a personal account"
WHY = "Triage found a second young person had been messaged"


def _corrections(client: TestClient, actor: Actor, iid: str) -> list[dict[str, Any]]:
    r = client.get(f"{URL}/{iid}/timeline", headers=actor.headers)
    assert r.status_code == 200, r.text
    return [i["correction"] for i in r.json()["items"] if i["kind"] == "correction"]


def test_a_correction_without_a_reason_is_refused_and_changes_nothing(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    iid = report(client, coordinator, summary=FIRST)["id"]
    for body in ({"severity": "high"}, {"summary": SECOND, "reason": None}):
        r = client.patch(f"{URL}/{iid}", json=body, headers=coordinator.headers)
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["reason"]
    got = client.get(f"{URL}/{iid}", headers=coordinator.headers).json()
    assert (got["severity"], got["summary"], got["version"]) == ("medium", FIRST, 1)
    assert session.exec(select(IncidentCorrection)).all() == []


def test_a_correction_is_on_the_timeline_with_what_changed(
    client: TestClient, coordinator: Actor, staff_actor: Actor
) -> None:
    iid = report(client, staff_actor, summary=FIRST)["id"]
    body = {"summary": SECOND, "severity": "high", "rule_ids": ["STF-OFFICIAL-EMAIL"], "reason": WHY}
    r = client.patch(f"{URL}/{iid}", json=body, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["summary"], r.json()["severity"]) == (SECOND, "high")
    [seen_by_coordinator] = _corrections(client, coordinator, iid)
    assert seen_by_coordinator["reason"] == WHY
    assert seen_by_coordinator["actor_id"] == str(coordinator.staff.id if coordinator.staff else None)
    assert seen_by_coordinator["changes"] == {
        "severity": {"before": "medium", "after": "high"},
        "rule_ids": {"before": [], "after": ["STF-OFFICIAL-EMAIL"]},
        "summary": {"before": FIRST, "after": SECOND},
    }
    # The reporter reads the timeline of their own incident: the structured changes, the summary as changed.
    [seen_by_reporter] = _corrections(client, staff_actor, iid)
    assert seen_by_reporter["changes"]["summary"] == "changed"
    assert seen_by_reporter["changes"]["severity"] == {"before": "medium", "after": "high"}
    assert FIRST not in json.dumps(seen_by_reporter)


def test_each_correction_is_kept_and_a_correction_that_changes_nothing_is_not(
    client: TestClient, coordinator: Actor
) -> None:
    iid = report(client, coordinator, summary=FIRST)["id"]
    for body in (
        {"severity": "high", "reason": "first"},
        {"severity": "high", "reason": "the same again"},
        {"category": "grooming", "reason": "second"},
    ):
        assert client.patch(f"{URL}/{iid}", json=body, headers=coordinator.headers).status_code == 200
    corrections = _corrections(client, coordinator, iid)
    assert [c["reason"] for c in corrections] == ["first", "second"]
    assert corrections[1]["changes"] == {"category": {"before": "cyberbullying", "after": "grooming"}}


def test_the_audit_log_records_the_correction_without_its_text(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    iid = report(client, coordinator, summary=FIRST)["id"]
    body = {"summary": SECOND, "reason": WHY}
    assert client.patch(f"{URL}/{iid}", json=body, headers=coordinator.headers).status_code == 200
    update = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.update")).one()
    assert update.changes["summary"] == audit.REDACTED
    created = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.correction.create")).one()
    assert created.changes["reason"] == audit.REDACTED
    assert created.changes["changes"] == audit.REDACTED
    stored = json.dumps([e.changes for e in session.exec(select(AuditEvent)).all()])
    for text in (FIRST, SECOND, WHY):
        assert text not in stored
