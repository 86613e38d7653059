"""The committed spec is what the app serves, and every operation reads well in Swagger UI and in a
generated client: a stable operationId, a summary, a description, tags, and its error answers declared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import cli
from api.main import create_app

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
STALE = "openapi/openapi.json differs from what the app serves: run `make openapi` and commit the result"


SERVED = create_app().openapi()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    spec = SERVED
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    ]


OPERATIONS = _operations()
IDS = [f"{m} {p}" for m, p, _ in OPERATIONS]


def test_committed_spec_is_what_the_app_serves(client: TestClient) -> None:
    assert SPEC.exists(), STALE
    served = client.get("/openapi.json")
    assert served.status_code == 200
    assert json.loads(SPEC.read_text()) == served.json(), STALE


def test_openapi_command_writes_the_committed_file_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    assert cli.main(["openapi", "--output", str(out)]) == 0
    assert out.read_text() == SPEC.read_text(), STALE


def test_operation_ids_are_unique() -> None:
    ids = [str(op.get("operationId")) for _, _, op in OPERATIONS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=IDS)
def test_operation_is_documented(method: str, path: str, op: dict[str, Any]) -> None:
    assert op.get("operationId"), "no operationId"
    assert op.get("summary"), "no summary: pass summary= to the route decorator"
    assert op.get("description"), "no description: give the route function a docstring"
    assert op.get("tags"), "no tag: mount the router with tags= in api/router.py"


# Swagger UI's Authorize dialog fills the sign-in form; a credentials example in the spec would only mislead.
NO_BODY_EXAMPLE = {("POST", "/api/v1/auth/token")}
WITH_BODY = [(m, p, op) for m, p, op in OPERATIONS if "requestBody" in op and (m, p) not in NO_BODY_EXAMPLE]


def _schema(ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    return SERVED["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else ref_or_schema


def test_request_bodies_were_found() -> None:
    assert len(WITH_BODY) >= 30  # a walk that found none would pass the check below


@pytest.mark.parametrize(("method", "path", "op"), WITH_BODY, ids=[f"{m} {p}" for m, p, _ in WITH_BODY])
def test_request_body_has_an_example(method: str, path: str, op: dict[str, Any]) -> None:
    # "Try it out" starts from the example; tests/test_examples.py checks each one is accepted.
    for media_type, media in op["requestBody"]["content"].items():
        schema = _schema(media["schema"])
        examples = media.get("examples") or schema.get("examples")
        assert examples, f"{media_type} body has no example: give its model forbid_extra(example)"


@pytest.mark.parametrize(("method", "path", "op"), OPERATIONS, ids=IDS)
def test_error_answers_are_declared(method: str, path: str, op: dict[str, Any]) -> None:
    responses = op["responses"]
    if op.get("security"):
        missing = {"401", "403", "422"} - set(responses)
        assert not missing, f"a protected route must declare {sorted(missing)}"
    # An upsert (a PUT or PATCH by external id that may answer 201) creates what is missing, so it has no
    # 404 to declare.
    if "{" in path and not (method.lower() in ("put", "patch") and "201" in responses):
        assert "404" in responses, "a route with an id in its path must declare 404 (responses=NOT_FOUND)"
    for status, answer in responses.items():
        if status.startswith(("4", "5")):
            assert "application/problem+json" in answer.get("content", {}), (
                f"{status} must be declared as problem+json (api.errors.problem)"
            )
