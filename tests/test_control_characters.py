"""Control characters in text: PostgreSQL refuses a NUL, SQLite kept it. Every text a client sends to /api, in
every record type's body, a form or a query string, is checked in one place (api.common,
`refuse_control_characters`): a 422 naming the field, nothing written (issue 17 breaker finding 5c)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api import common
from api.groups.models import Group
from tests.kit.auth import Actor
from tests.kit.requests import refused_field

WRITES = {"POST", "PUT", "PATCH"}


def _text_fields(app: FastAPI) -> list[tuple[str, str, str]]:
    """(method, path, field) for the first text field of every /api write route with a JSON body."""
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref")
            if method.upper() not in WRITES or ref is None:
                continue
            props = schemas[ref.rsplit("/", 1)[-1]].get("properties", {})
            text = [
                name
                for name, p in props.items()
                if (p.get("type") == "string" and "format" not in p and "enum" not in p)
                or any(b.get("type") == "string" and "format" not in b for b in p.get("anyOf", []))
            ]
            if text:
                out.append((method.upper(), path, text[0]))
    return out


def test_the_walk_finds_every_kind_of_record(app: FastAPI) -> None:
    paths = {p for _, p, _ in _text_fields(app)}
    for expected in ("/api/v1/groups", "/api/v1/participants", "/api/v1/staff", "/api/v1/incidents"):
        assert expected in paths, sorted(paths)


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x1f"])
def test_a_control_character_in_any_text_of_any_record_is_422_naming_the_field(
    app: FastAPI, client: TestClient, coordinator: Actor, session: Session, character: str
) -> None:
    before = session.exec(select(func.count()).select_from(Group)).one()
    fields = _text_fields(app)
    assert len(fields) > 20
    wrong = []
    for method, path, field in fields:
        url = path.replace("{", "").replace("}", "")  # any id: the text is refused before it is looked up
        url = "/".join(
            "00000000-0000-4000-8000-000000000000" if "_id" in s or s == "id" else s for s in url.split("/")
        )
        r = client.request(method, url, json={field: f"a{character}b"}, headers=coordinator.headers)
        body: dict[str, Any] = r.json() if r.headers.get("content-type", "").endswith("json") else {}
        if r.status_code != 422 or [e["field"] for e in body.get("errors", [])] != [field]:
            wrong.append((method, path, field, r.status_code, r.text[:200]))
    assert not wrong
    assert session.exec(select(func.count()).select_from(Group)).one() == before


def test_nested_texts_and_query_strings_are_checked(client: TestClient, coordinator: Actor) -> None:
    r = client.get("/api/v1/groups", params={"q": "a\x00b"}, headers=coordinator.headers)
    assert refused_field(r) == "q"
    assert common.control_character_errors({"items": [{"full_name": "ok"}, {"full_name": "a\x00"}]}, "") == [
        ("items.1.full_name", "Must not contain control characters (such as NUL)")
    ]


def test_a_name_is_one_line_but_prose_may_run_over_lines(client: TestClient, coordinator: Actor) -> None:
    group = {
        "name": "Line one\nline two",
        "platform": "facebook_group",
        "visibility": "closed",
        "join_approval": "admins_only",
        "started_on": "2026-01-01",
    }
    r = client.post("/api/v1/groups", json=group, headers=coordinator.headers)
    assert refused_field(r) == "name"
    assert common.control_character_errors("First line\n\tsecond line\r\n", "summary") == []
    assert common.control_character_errors("a\tb", "full_name") != []
