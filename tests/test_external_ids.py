"""An external id (the CRM's id for a record) is one type wherever a client sends it: a path parameter of
`PUT`/`PATCH …/by-external-id/{external_id}`, a list's `external_id` filter, a body's `external_id` or
`participant_external_id`, a sync record's `external_id` (api.external_ids). No control or format character,
no U+FFFD (an undecodable byte in the URL), not blank, no space at either end, at most 100 characters: a 422
naming the field or parameter, the same on SQLite and PostgreSQL, and nothing stored (issue 18 breaker
finding 1)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, func, select

import api.main  # noqa: F401  (every domain's models are imported with the app)
from api.external_ids import ExternalId
from api.participants.models import Participant
from tests.kit.auth import Actor
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field
from tests.test_blank_names import refuses
from tests.test_blank_text import _input_models
from tests.test_consents import body as consent_body
from tests.test_partial_upsert import child, staff_record

# As the breaker sent them, percent-encoded in the path: NUL, line feed, tab, U+202E (a format character),
# only spaces, an invalid UTF-8 byte (read as U+FFFD), a zero-width space, a space at the end, 101 characters.
IN_THE_PATH = [
    "a%00b",
    "a%0Ab",
    "%09tab",
    "%E2%80%AEabc",
    "%20%20",
    "a%FFb",
    "a%E2%80%8Bb",
    "abc%20",
    "x" * 101,
]
# The same, as text in a JSON body.
IN_A_BODY = ["a\x00b", "a\nb", "\ttab", "\u202eabc", "  ", "a\ufffdb", "a\u200bb", "abc ", "x" * 101]


def _participants(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Participant)).one()


@pytest.mark.parametrize(
    ("method", "kind"),
    [
        ("PUT", "participants"),
        ("PATCH", "participants"),
        ("PUT", "staff"),
        ("PATCH", "staff"),
        ("PUT", "consents"),
    ],
)
@pytest.mark.parametrize("wrong", IN_THE_PATH)
def test_a_path_external_id_with_an_invisible_or_undecodable_character_is_422(
    client: TestClient, integration: Actor, session: Session, method: str, kind: str, wrong: str
) -> None:
    body = {
        "participants": child(),
        "staff": staff_record(),
        "consents": consent_body(make_participant(session)),
    }[kind]
    before = _participants(session)
    r = client.request(
        method, f"/api/v1/{kind}/by-external-id/{wrong}", json=body, headers=integration.headers
    )
    assert refused_field(r) == "external_id", r.text
    assert _participants(session) == before


def test_a_visible_external_id_with_inner_spaces_and_accents_is_still_taken(
    client: TestClient, integration: Actor
) -> None:
    r = client.put(
        "/api/v1/participants/by-external-id/CRM P-Zoë 7", json=child(), headers=integration.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["external_id"] == "CRM P-Zoë 7"


@pytest.mark.parametrize("kind", ["participants", "staff"])
@pytest.mark.parametrize("wrong", IN_THE_PATH)
def test_a_list_filter_by_external_id_refuses_the_same(
    client: TestClient, coordinator: Actor, kind: str, wrong: str
) -> None:
    r = client.get(f"/api/v1/{kind}?external_id={wrong}", headers=coordinator.headers)
    assert refused_field(r) == "external_id", r.text


@pytest.mark.parametrize("wrong", IN_A_BODY)
def test_a_body_external_id_refuses_the_same(client: TestClient, coordinator: Actor, wrong: str) -> None:
    r = client.post("/api/v1/participants", json=child(external_id=wrong), headers=coordinator.headers)
    assert refused_field(r) == "external_id", r.text


@pytest.mark.parametrize("wrong", [w for w in IN_A_BODY if "\x00" not in w])
@pytest.mark.parametrize("mode", ["replace", "merge"])
def test_a_sync_record_with_such_an_external_id_is_rejected_naming_it(
    client: TestClient, integration: Actor, session: Session, wrong: str, mode: str
) -> None:
    before = _participants(session)
    r = client.post(
        "/api/v1/sync/participants",
        json={"mode": mode, "records": [{**child(), "external_id": wrong}]},
        headers=integration.headers,
    )
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert result["status"] == "rejected"
    assert [e["field"] for e in result["errors"]] == ["external_id"]
    assert _participants(session) == before


def test_a_nul_in_a_sync_record_is_refused_with_the_request(client: TestClient, integration: Actor) -> None:
    r = client.post(
        "/api/v1/sync/participants",
        json={"records": [{**child(), "external_id": "a\x00b"}]},
        headers=integration.headers,
    )
    assert refused_field(r) == "records.0.external_id"


def test_every_external_id_a_client_sends_is_of_the_one_type(app: FastAPI) -> None:
    bodies = {
        f"{model.__name__}.{name}": refuses(model, name, "a\u202eb", "external_id")
        for model in set(_input_models())
        for name in model.model_fields
        if name.endswith("external_id")
    }
    assert len(bodies) >= 8, bodies  # create, update and sync shapes of three kinds of record
    assert [name for name, typed in bodies.items() if not typed] == []
    spec = app.openapi()
    parameters = [
        (path, p["in"])
        for path, item in spec["paths"].items()
        for op in item.values()
        for p in op.get("parameters", [])
        if p["name"].endswith("external_id")
    ]
    assert {where for _, where in parameters} == {"path", "query"}
    for path, item in spec["paths"].items():
        for op in item.values():
            for p in op.get("parameters", []):
                if p["name"].endswith("external_id"):
                    schema: dict[str, Any] = next(
                        (b for b in p["schema"].get("anyOf", [p["schema"]]) if "maxLength" in b), {}
                    )
                    assert (schema.get("minLength"), schema.get("maxLength")) == (1, 100), (path, p)


class _Holder(BaseModel):
    external_id: ExternalId


@pytest.mark.parametrize("wrong", IN_A_BODY[:-1])
def test_the_type_names_what_is_wrong(wrong: str) -> None:
    with pytest.raises(ValidationError) as raised:
        _Holder.model_validate({"external_id": wrong})
    [error] = raised.value.errors()
    assert error["type"] in {"blank", "external_id"}
    assert error["loc"] == ("external_id",)
