"""One consent per form: the same paper form recorded twice is refused while the first record is in force,
and a withdrawal that leaves a use allowed by another consent says so (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from api.auth.roles import ApiKeyScope
from api.consents.models import Consent
from api.participants.models import Participant
from tests.kit.auth import Actor, make_api_key
from tests.kit.clock import TODAY
from tests.kit.compliance import group_fields
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import created_body

CONSENTS = "/api/v1/consents"
PUSH = "/api/v1/consents/by-external-id"
SYNC = "/api/v1/sync/consents"


def form(person: Participant, **overrides: Any) -> dict[str, Any]:
    """Joanne's paper form: image use for the website and social media."""
    data: dict[str, Any] = {
        "participant_id": str(person.id),
        "kind": "image_use",
        "purposes": ["website", "social_media"],
        "given_by": "parent_carer",
        "given_by_name": "Joanne Fairbrook",
        "given_on": "2025-09-06",
        "evidence_ref": "IMG-2025-0412",
    }
    data.update(overrides)
    return data


def record(client: TestClient, actor: Actor, person: Participant, **overrides: Any) -> Response:
    """`actor`'s POST of Joanne's form for `person` (`overrides` as for `form`); the answer, unchecked."""
    r: Response = client.post(CONSENTS, json=form(person, **overrides), headers=actor.headers)
    return r


def withdrawn_today(client: TestClient, actor: Actor, consent_id: str) -> dict[str, Any]:
    """The body of `actor`'s withdrawal of the consent as of today; fails unless it answers 200."""
    r = client.post(
        f"{CONSENTS}/{consent_id}/withdraw", json={"withdrawn_on": str(TODAY)}, headers=actor.headers
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def social_media_allowed(client: TestClient, actor: Actor, person: Participant) -> dict[str, Any]:
    r = client.get(
        f"/api/v1/participants/{person.id}/consent-check",
        params={"kind": "image_use", "purpose": "social_media"},
        headers=actor.headers,
    )
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def image_finding(client: TestClient, actor: Actor, group_id: Any) -> str:
    r = client.get(f"/api/v1/groups/{group_id}/compliance", headers=actor.headers)
    assert r.status_code == 200, r.text
    [finding] = [f for f in r.json()["findings"] if f["rule_id"] == "GRP-IMAGE-CONSENT"]
    return str(finding["outcome"])


def test_the_issues_scenario_a_withdrawal_by_the_crm_stops_the_use(
    client: TestClient, session: Session, coordinator: Actor, integration: Actor
) -> None:
    person = make_participant(session)
    group = make_group(session, **group_fields(shares_images=True))
    make_membership(session, group, participant=person)
    # The CRM pushes the parent's image consent.
    pushed = client.put(f"{PUSH}/CRM-C0918", json=form(person), headers=integration.headers)
    assert pushed.status_code == 201, pushed.text
    crm_id = pushed.json()["id"]
    # The coordinator types in the same paper form (fewer purposes, a differently typed reference).
    typed = client.post(
        CONSENTS,
        json=form(person, purposes=["social_media"], evidence_ref=" img-2025-0412 "),
        headers=coordinator.headers,
    )
    assert typed.status_code == 409, typed.text
    assert typed.headers["content-type"] == "application/problem+json"
    problem = typed.json()
    assert problem["code"] == "consent_already_recorded"
    assert crm_id in problem["detail"]
    assert problem["existing_id"] == crm_id
    assert problem["errors"][0]["field"] == "evidence_ref"
    # The CRM later withdraws its copy: nothing else allows the use any more, and everyone agrees.
    withdrawn = client.put(
        f"{PUSH}/CRM-C0918",
        json=form(person, withdrawn_on=str(TODAY), withdrawal_reason="The parent asked"),
        headers=integration.headers,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["still_allowed_by"] == []
    assert social_media_allowed(client, coordinator, person)["allowed"] is False
    assert image_finding(client, coordinator, group.id) == "fail"
    assert len(session.exec(select(Consent).where(Consent.participant_id == person.id)).all()) == 1


def test_the_same_form_without_a_reference_is_known_by_its_date_and_signatory(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    person = make_participant(session)
    first = created_body(record(client, coordinator, person, evidence_ref=None))
    again = record(
        client, coordinator, person, evidence_ref=None, given_by_name="joanne fairbrook", purposes=["website"]
    )
    assert again.status_code == 409
    assert again.json()["existing_id"] == first["id"]
    assert again.json()["errors"][0]["field"] == "given_on"


@pytest.mark.parametrize(
    "other",
    [
        {"evidence_ref": "IMG-2026-0007", "given_on": "2026-01-10"},  # a new form
        {"purposes": ["press"]},  # the same form, but no purpose in common
        {"kind": "communication", "purposes": []},  # another kind
    ],
)
def test_a_different_consent_is_recorded(
    client: TestClient, session: Session, coordinator: Actor, other: dict[str, Any]
) -> None:
    person = make_participant(session)
    created_body(record(client, coordinator, person))
    created_body(record(client, coordinator, person, **other))


def test_the_same_form_may_be_recorded_again_once_the_first_no_longer_holds(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    person = make_participant(session)
    first = created_body(record(client, coordinator, person))
    withdrawn_today(client, coordinator, first["id"])
    created_body(record(client, coordinator, person))


def test_a_withdrawal_lists_the_uses_another_consent_still_allows(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    person = make_participant(session)
    older = created_body(record(client, coordinator, person))
    newer = created_body(
        record(
            client,
            coordinator,
            person,
            purposes=["social_media", "press"],
            evidence_ref="IMG-2026-0007",
            given_on="2026-01-10",
        )
    )
    withdrawal = withdrawn_today(client, coordinator, older["id"])
    # The website use has stopped; social media is still allowed, by the newer form.
    assert withdrawal["still_allowed_by"] == [{"purpose": "social_media", "consent_id": newer["id"]}]
    assert social_media_allowed(client, coordinator, person)["consent_id"] == newer["id"]
    # Reading the withdrawn consent later says the same; the consent in force lists nothing.
    assert client.get(f"{CONSENTS}/{older['id']}", headers=coordinator.headers).json()[
        "still_allowed_by"
    ] == [{"purpose": "social_media", "consent_id": newer["id"]}]
    assert (
        client.get(f"{CONSENTS}/{newer['id']}", headers=coordinator.headers).json()["still_allowed_by"] == []
    )


def test_a_batch_rejects_the_second_record_of_a_form_and_lists_what_a_withdrawal_left_allowed(
    client: TestClient, session: Session, integration: Actor
) -> None:
    person = make_participant(session, external_id="CRM-P0412")

    def record(external_id: str, **overrides: Any) -> dict[str, Any]:
        data = form(person, external_id=external_id, participant_external_id="CRM-P0412", **overrides)
        del data["participant_id"]
        return data

    first = client.post(
        SYNC,
        json={
            "records": [
                record("CRM-C1"),
                record("CRM-C2"),  # the same form under a second id
                record(
                    "CRM-C3", evidence_ref="IMG-2026-0007", given_on="2026-01-10", purposes=["social_media"]
                ),
            ]
        },
        headers=integration.headers,
    ).json()
    assert [r["status"] for r in first["results"]] == ["created", "rejected", "created"]
    c1, rejected, c3 = first["results"]
    assert rejected["code"] == "consent_already_recorded"
    assert c1["id"] in rejected["detail"]
    withdrawn = client.post(
        SYNC, json={"records": [record("CRM-C1", withdrawn_on=str(TODAY))]}, headers=integration.headers
    ).json()["results"][0]
    assert withdrawn["status"] == "updated"
    assert withdrawn["still_allowed_by"] == [{"purpose": "social_media", "consent_id": c3["id"]}]
    assert c3["still_allowed_by"] is None
    stored = session.exec(select(Consent.external_id).where(col(Consent.participant_id) == person.id)).all()
    assert sorted(str(e) for e in stored) == ["CRM-C1", "CRM-C3"]


def test_a_write_only_key_is_not_told_about_other_consents(
    client: TestClient, session: Session, integration: Actor
) -> None:
    person = make_participant(session, external_id="CRM-P0413")
    writer = make_api_key(session, scopes=(ApiKeyScope.sync_write,))

    def record(external_id: str, **overrides: Any) -> dict[str, Any]:
        data = form(person, external_id=external_id, participant_external_id="CRM-P0413", **overrides)
        del data["participant_id"]
        return data

    client.post(
        SYNC,
        json={
            "records": [
                record("CRM-C1"),
                record("CRM-C3", evidence_ref="IMG-2026-0007", given_on="2026-01-10"),
            ]
        },
        headers=integration.headers,
    )
    [withdrawn] = client.post(
        SYNC, json={"records": [record("CRM-C1", withdrawn_on=str(TODAY))]}, headers=writer.headers
    ).json()["results"]
    assert withdrawn["status"] == "updated"
    assert withdrawn["still_allowed_by"] is None
