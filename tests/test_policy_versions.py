"""The policy as versioned text: version 1 from the migration, publishing, differences, findings quoting the
version in force on `as_of`, and the coverage map."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.compliance.coverage import ASPIRATIONS
from api.groups.models import Group
from api.policy import text as policy_text
from api.policy.clauses import CLAUSES
from api.webhooks.models import WebhookDelivery, WebhookEvent
from tests.clock import FixedClock
from tests.kit.auth import Actor, token_headers
from tests.kit.webhooks import subscribe
from tests.policy_publish import publish_confirmed

V1 = Path(__file__).resolve().parent.parent / "api" / "policy" / "esafety-policy-v1.txt"
VERSIONS = "/api/v1/policy/versions"
COVERAGE = "/api/v1/policy/coverage"
OLD = "All More Music Facebook groups must have at least two current members of staff as admin officers"
NEW = "Every More Music group must have at least two current members of staff as its admins"


def test_version_one_is_the_catalog_sentence_by_sentence() -> None:
    read = policy_text.sentences(V1.read_text())
    assert [s.text for s in read] == [c.text for c in CLAUSES.values()]
    assert read[0].section == "E-safety Policy"
    assert read[-1].section == "Recommendations"


def test_a_bullet_broken_across_two_is_one_sentence() -> None:
    image = CLAUSES["PROMOTE-IMAGE-PERMISSION"].text
    assert "only after their Permission has been obtained" in image


def test_matching_keeps_ids_for_kept_and_reworded_sentences_and_gives_new_ones() -> None:
    previous = {"A": "Groups are closed.", "B": OLD, "C": "Staff are trained."}
    new = [
        policy_text.Sentence("", "Groups are closed."),
        policy_text.Sentence("", NEW),
        policy_text.Sentence("", "Every group keeps a log of its admins."),
    ]
    matched = policy_text.match(previous, new, "V2")
    assert [m.clause_id for m in matched] == ["A", "B", "V2-03"]
    assert matched[1].previous_text == OLD
    assert matched[2].previous_text is None


def test_version_one_is_listed_and_in_force(client: TestClient, coordinator: Actor) -> None:
    r = client.get(VERSIONS, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    [v1] = r.json()["items"]
    assert r.json()["total"] == 1
    assert v1["number"] == 1
    assert v1["in_force"] is True
    assert v1["clause_count"] == len(CLAUSES)
    one = client.get(f"{VERSIONS}/1", headers=coordinator.headers).json()
    assert one["text"] == V1.read_text()
    assert [c["clause_id"] for c in one["clauses"]] == list(CLAUSES)
    assert client.get(f"{VERSIONS}/2", headers=coordinator.headers).status_code == 404


def _publish(client: TestClient, actor: Actor, effective_on: str, text: str | None = None) -> dict[str, Any]:
    body = {
        "text": text or V1.read_text().replace(OLD, NEW),
        "effective_on": effective_on,
        "summary": "Reworded.",
    }
    r = publish_confirmed(client, actor.headers, body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_reworded_clause_keeps_its_id_and_findings_quote_the_version_in_force(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, compliant_group: Group
) -> None:
    today = fixed_clock.today
    published = _publish(client, coordinator, str(today + timedelta(days=1)))
    assert published["version"]["number"] == 2
    assert published["diff"]["changes"] == [
        {"clause_id": "REC-FB-TWO-ADMINS", "change": "reworded", "before": OLD, "after": NEW}
    ]
    assert published["diff"]["unchanged"] == len(CLAUSES) - 1

    fixed_clock.advance(days=2)
    assert coordinator.user is not None
    headers = token_headers(coordinator.user)  # the first token has expired

    def quoted(as_of: object) -> str:
        r = client.get(f"/api/v1/groups/{compliant_group.id}/compliance?as_of={as_of}", headers=headers)
        assert r.status_code == 200, r.text
        [f] = [f for f in r.json()["findings"] if f["rule_id"] == "GRP-TWO-STAFF-ADMINS"]
        assert f["clause"]["id"] == "REC-FB-TWO-ADMINS"
        return str(f["clause"]["text"])

    assert quoted(today) == OLD  # the day before it took effect
    assert quoted(today + timedelta(days=2)) == NEW  # the day after
    versions = client.get(VERSIONS, headers=headers).json()["items"]
    assert [(v["number"], v["in_force"]) for v in versions] == [(2, True), (1, False)]
    diff = client.get(f"{VERSIONS}/2/diff?against=1", headers=headers).json()
    assert [c["clause_id"] for c in diff["changes"]] == ["REC-FB-TWO-ADMINS"]


def test_publishing_is_audited_and_announced_without_the_text(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    subscribe(session, WebhookEvent.policy_version_published)
    _publish(client, coordinator, str(fixed_clock.today))
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "policy_version.publish")).all()
    assert event.changes == {
        "number": 2,
        "effective_on": str(fixed_clock.today),
        "added": 0,
        "removed": 0,
        "reworded": 1,
        # What the coordinator confirmed, by id: the rules turned off and the enforced clauses reworded.
        "rules_stopped": [],
        "reworded_confirmed": ["REC-FB-TWO-ADMINS"],
        "removed_confirmed": [],
    }
    [delivery] = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.event_type == WebhookEvent.policy_version_published)
    ).all()
    assert '"number":2' in delivery.body
    assert "Facebook" not in delivery.body


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"effective_on": "2020-01-01"}, 422, "effective_on"),
        ({"text": "Recommendations\n"}, 422, "text"),
        ({"text": None}, 409, None),  # version 1's words, unchanged
    ],
)
def test_a_publish_that_would_rewrite_history_or_change_nothing_is_refused(
    fixed_clock: FixedClock,
    client: TestClient,
    coordinator: Actor,
    change: dict[str, str | None],
    status: int,
    field: str | None,
) -> None:
    body = {"text": V1.read_text(), "effective_on": str(fixed_clock.today)} | {
        k: v for k, v in change.items() if v is not None
    }
    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == status, r.text
    if field:
        assert r.json()["errors"][0]["field"] == field


def test_a_removed_sentence_leaves_the_version_and_a_new_one_gets_a_new_id(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    gone = CLAUSES["REC-MAY-LIKE-BANDS"].text
    text = V1.read_text().replace(
        gone, "Staff must report any contact from a young person on a personal account."
    )
    published = _publish(client, coordinator, str(fixed_clock.today), text)
    changes = {c["clause_id"]: c["change"] for c in published["diff"]["changes"]}
    assert changes == {"V2-40": "added", "REC-MAY-LIKE-BANDS": "removed"}


def test_the_coverage_map_keeps_every_checkable_sentence(client: TestClient, trustee: Actor) -> None:
    r = client.get(COVERAGE, headers=trustee.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    sentences = body["sentences"]
    assert [s["clause_id"] for s in sentences] == list(CLAUSES)
    assert {s["clause_id"] for s in sentences if not s["checkable"]} == set(ASPIRATIONS)
    for s in sentences:
        assert (s["aspiration"] is None) == s["checkable"], s
    unkept = {s["clause_id"] for s in sentences if s["checkable"] and not s["enforced"]}
    assert unkept == set(), "a checkable sentence of the policy is kept by nothing"
    counts = body["counts"]
    assert counts["sentences"] == len(CLAUSES)
    assert counts["checkable"] == len(CLAUSES) - len(ASPIRATIONS)
    assert counts["enforced"] + counts["not_enforced"] == counts["checkable"]
    assert counts["not_enforced"] == 0
    assert (counts["checkable"], counts["enforced"]) == (25, 25)
    [two_admins] = [s for s in sentences if s["clause_id"] == "REC-FB-TWO-ADMINS"]
    assert "GRP-TWO-STAFF-ADMINS" in {r["id"] for r in two_admins["rules"]}
    [review] = [s for s in sentences if s["clause_id"] == "PROMOTE-SECURITY-REVIEW"]
    assert review["controls"] == [
        {"id": "CTL-SECURITY-REVIEW", "name": "Information systems security review"}
    ]
    assert [r["id"] for r in review["rules"]] == ["ORG-SECURITY-REVIEW"]
    [parents] = [s for s in sentences if s["clause_id"] == "PROMOTE-INFORM-PARENTS"]
    assert parents["workflows"] == ["POST /api/v1/incidents/{incident_id}/notifications"]


def test_every_workflow_named_in_the_coverage_map_is_served() -> None:
    from api.compliance.coverage import WORKFLOWS
    from api.main import create_app

    paths = create_app().openapi()["paths"]
    for routes in WORKFLOWS.values():
        for route in routes:
            method, path = route.split(" ", 1)
            assert method.lower() in paths.get(path, {}), route
