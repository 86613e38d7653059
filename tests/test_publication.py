from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.factories import Actor, consents_make_participant, make_staff

# --- the route --------------------------------------------------------------------------------------------

URL = "/api/v1/publication-checks"


def test_finds_participants_and_staff_without_revealing_who(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    child = consents_make_participant(
        session, full_name="Élodie Brennan", carer_email="k.brennan@example.org", carer_phone="07700 900456"
    )
    leader = make_staff(session, full_name="Tomás Reyes", email="tomas.reyes@moremusic.org.uk")
    text = (
        "Great gig!\nELODIE\n brennan on bass, Tomas Reyes leading. "
        "Call +44 7700 900456 or k.Brennan@example.org"
    )
    r = client.post(URL, json={"text": text}, headers=staff_actor.headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["clean"] is False
    assert [(text[m["start"] : m["end"]], m["kind"], m["person"]) for m in result["matches"]] == [
        ("ELODIE\n brennan", "name", "participant"),
        ("Tomas Reyes", "name", "staff"),
        ("+44 7700 900456", "phone", "participant"),
        ("k.Brennan@example.org", "email", "participant"),
    ]
    assert set(result["matches"][0]) == {"start", "end", "kind", "person"}
    for secret in (str(child.id), str(leader.id), "2010", "tomas.reyes@"):
        assert secret not in r.text


def test_a_clean_text(client: TestClient, coordinator: Actor, session: Session) -> None:
    consents_make_participant(session, full_name="Sam Lee")
    r = client.post(
        URL, json={"text": "Sam Leeds Youth Orchestra played on Saturday."}, headers=coordinator.headers
    )
    assert r.json() == {"clean": True, "matches": []}


@pytest.mark.parametrize("text", ["", "x" * 100_001])
def test_text_length_is_bounded(client: TestClient, coordinator: Actor, text: str) -> None:
    r = client.post(URL, json={"text": text}, headers=coordinator.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "text"


def test_trustees_and_other_systems_may_not_check(
    client: TestClient, trustee: Actor, integration: Actor
) -> None:
    for caller in (trustee, integration):
        assert client.post(URL, json={"text": "hello"}, headers=caller.headers).status_code == 403


def test_unknown_fields_are_rejected(client: TestClient, coordinator: Actor) -> None:
    r = client.post(
        URL, json={"text": "hi", "participant_id": str(uuid.uuid4())}, headers=coordinator.headers
    )
    assert r.status_code == 422
