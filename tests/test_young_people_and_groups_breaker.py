"""Issue 15's breaker findings 11 and 12: the young people's code of conduct is agreed by the young person
themself (a carer's is refused, on every write route), and a group's messages_seen_by_all is known only where
the platform decides it; elsewhere it is unknown until recorded, and the rule warns meanwhile."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.compliance.rules import grp_messages_seen_by_all as seen_by_all
from api.compliance.rules.base import Outcome
from tests.compliance import builders as b
from tests.kit.auth import Actor
from tests.kit.compliance import make_compliant_group
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field

GROUPS = "/api/v1/groups"


def _consent(person_id: object, **overrides: Any) -> dict[str, Any]:
    return {
        "participant_id": str(person_id),
        "kind": "code_of_conduct",
        "given_by": "participant",
        "given_by_name": "Sam Young",
        "given_on": str(clock.today() - timedelta(days=3)),
    } | overrides


def test_a_carer_cannot_agree_the_young_peoples_code_of_conduct(
    client: TestClient, session: Session, coordinator: Actor, integration: Actor
) -> None:
    person = make_participant(session, external_id="crm-p-9")
    carer = _consent(person.id, given_by="parent_carer", given_by_name="A Carer")
    r = client.post("/api/v1/consents", json=carer, headers=coordinator.headers)
    assert refused_field(r) == "given_by"
    # The CRM's upsert and the bulk sync refuse it too.
    upsert = {k: v for k, v in carer.items() if k != "participant_id"} | {
        "participant_external_id": "crm-p-9"
    }
    r = client.put("/api/v1/consents/by-external-id/crm-c-9", json=upsert, headers=integration.headers)
    assert refused_field(r) == "given_by"
    # Their own agreement is recorded; a carer's consent of another kind still is.
    assert (
        client.post("/api/v1/consents", json=_consent(person.id), headers=coordinator.headers).status_code
        == 201
    )
    image = _consent(person.id, kind="image_use", purposes=["website"], given_by="parent_carer")
    assert client.post("/api/v1/consents", json=image, headers=coordinator.headers).status_code == 201


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("facebook_group", True),
        ("email_list", True),
        ("whatsapp", None),
        ("discord", None),
        ("instagram", None),
        ("other", None),
    ],
)
def test_messages_seen_by_all_defaults_only_where_the_platform_decides_it(
    client: TestClient, coordinator: Actor, platform: str, expected: bool | None
) -> None:
    body = {
        "name": f"Group on {platform}",
        "platform": platform,
        "visibility": "closed",
        "join_approval": "admins_only",
        "started_on": "2026-01-05",
    }
    r = client.post(GROUPS, json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["messages_seen_by_all"] is expected
    said = client.post(
        GROUPS, json=body | {"name": "said", "messages_seen_by_all": False}, headers=coordinator.headers
    )
    assert said.json()["messages_seen_by_all"] is False


def test_changing_platform_asks_the_question_again_and_null_may_be_recorded(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)  # a Facebook group: seen by all
    url = f"{GROUPS}/{group.id}"
    r = client.patch(url, json={"platform": "whatsapp"}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["messages_seen_by_all"] is None
    findings = client.get(f"{url}/compliance", headers=coordinator.headers).json()["findings"]
    [f] = [f for f in findings if f["rule_id"] == "GRP-MESSAGES-SEEN-BY-ALL"]
    assert f["outcome"] == "warn"
    assert f["evidence"][0]["detail"] == "whatsapp: messages_seen_by_all not recorded"
    r = client.patch(url, json={"messages_seen_by_all": True}, headers=coordinator.headers)
    assert r.json()["messages_seen_by_all"] is True
    r = client.patch(
        url, json={"platform": "discord", "messages_seen_by_all": True}, headers=coordinator.headers
    )
    assert r.json()["messages_seen_by_all"] is True
    r = client.patch(url, json={"messages_seen_by_all": None}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["messages_seen_by_all"] is None


def test_the_rule_warns_while_unknown_for_a_group_with_young_people() -> None:
    unknown = b.with_group(b.group_snapshot(), messages_seen_by_all=None, platform="whatsapp")
    result = seen_by_all.check(unknown)
    assert result.outcome is Outcome.warn
    assert "nobody has recorded" in result.message
    staff_only = b.group_snapshot(members=(b.member(b.COORDINATOR, "admin"), b.member(b.ADMIN_B, "admin")))
    empty = b.with_group(staff_only, messages_seen_by_all=None, platform="whatsapp")
    assert seen_by_all.check(empty).outcome is Outcome.not_applicable
