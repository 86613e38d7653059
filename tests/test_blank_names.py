"""A name a record needs cannot be blanked: only spaces or invisible format characters (a zero-width space)
in `full_name`, `carer_name`, `given_by_name`, a group's or an API key's `name`, `informed_name` is a 422
naming the field in a create, a PUT, a PATCH, and a rejected record in bulk sync (issue 18 breaker finding
2); api.common.NOT_BLANK, as for a reason."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

import api.main  # noqa: F401  (every domain's models are imported with the app)
from tests.kit.auth import Actor
from tests.kit.requests import refused_field
from tests.test_blank_text import _input_models
from tests.test_partial_upsert import child

BLANKS = ["   ", "\u200b", " \u200b\ufeff "]
PATH = "/api/v1/participants/by-external-id/CRM-P0027"


def refuses(model: type[BaseModel], name: str, value: str, error_type: str) -> bool:
    """Whether `model` refuses `value` in field `name` with an error of `error_type` naming that field."""
    try:
        model.model_validate({name: value})
    except ValidationError as e:
        return any(err["loc"] == (name,) and err["type"] == error_type for err in e.errors())
    return False


def test_every_name_a_client_sends_must_not_be_blank() -> None:
    names = {
        f"{model.__name__}.{name}": refuses(model, name, " \u200b ", "blank")
        for model in set(_input_models())
        for name in model.model_fields
        if name == "name" or name.endswith("_name")
    }
    assert {"ParticipantCreate.full_name", "ConsentMerge.given_by_name", "GroupCreate.name"} <= names.keys()
    # A roster entry's display_name is what the platform showed, which may be nothing.
    assert sorted(name for name, refused in names.items() if not refused) == [
        n for n in sorted(names) if n.endswith(".display_name")
    ]


@pytest.mark.parametrize("blank", BLANKS)
def test_a_blank_full_name_is_422_in_post_put_and_patch(
    client: TestClient, integration: Actor, coordinator: Actor, blank: str
) -> None:
    assert client.put(PATH, json=child(), headers=integration.headers).status_code == 201
    r = client.patch(PATH, json={"full_name": blank}, headers=integration.headers)
    assert refused_field(r) == "full_name"
    assert (
        refused_field(client.put(PATH, json=child(full_name=blank), headers=integration.headers))
        == "full_name"
    )
    r = client.post("/api/v1/participants", json=child(full_name=blank), headers=coordinator.headers)
    assert refused_field(r) == "full_name"
    r = client.patch(PATH, json={"carer_name": blank}, headers=integration.headers)
    assert refused_field(r) == "carer_name"
    assert (
        client.get(PATH.replace("/by-external-id/", "?external_id="), headers=coordinator.headers).json()[
            "items"
        ][0]["full_name"]
        == "Maya Okafor"
    )


@pytest.mark.parametrize("mode", ["replace", "merge"])
def test_a_blank_full_name_in_sync_is_rejected_naming_it(
    client: TestClient, integration: Actor, session: Session, mode: str
) -> None:
    assert client.put(PATH, json=child(), headers=integration.headers).status_code == 201
    r = client.post(
        "/api/v1/sync/participants",
        json={"mode": mode, "records": [{**child(), "external_id": "CRM-P0027", "full_name": "\u200b"}]},
        headers=integration.headers,
    )
    [result] = r.json()["results"]
    assert result["status"] == "rejected", result
    assert [e["field"] for e in result["errors"]] == ["full_name"]


def test_a_name_keeps_its_text_without_surrounding_spaces(client: TestClient, integration: Actor) -> None:
    r = client.put(PATH, json=child(full_name="  Maya Okafor "), headers=integration.headers)
    assert r.json()["full_name"] == "Maya Okafor"
