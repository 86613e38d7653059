"""Typed problem codes (issue 14): one enum, every answer's `code` in it, the spec naming them per route, and
each document's `type` resolving to the code's entry in the catalogue (RFC 9457 section 3.1.1)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient

import api
from api.errors import AppError, Conflict, problem_response
from api.problems import PROBLEM_JSON, ProblemCode
from tests.kit.auth import Actor

API = Path(api.__file__).parent
SPEC = json.loads((API.parent / "openapi" / "openapi.json").read_text(encoding="utf-8"))


def test_each_code_is_named_by_its_value_with_an_error_status_and_a_title() -> None:
    for code in ProblemCode:
        assert code.name == code.value
        assert 400 <= code.status < 600, code
        assert code.summary, code
        assert code.description.endswith("."), code
        assert code.type_uri == f"/api/v1/problems/{code.value}"


def test_a_code_outside_the_enum_cannot_be_raised_nor_answered() -> None:
    with pytest.raises(KeyError):
        Conflict("clash", code="no_such_code")  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        problem_response("no_such_code")  # type: ignore[arg-type]


def _string_codes(tree: ast.AST) -> list[int]:
    """Lines that give a problem code as a bare string: `code="..."` in a call, or `code = "..."`."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                    lines.append(node.lineno)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                pairs = (
                    zip(target.elts, node.value.elts, strict=False)
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple)
                    else [(target, node.value)]
                )
                for name, value in pairs:
                    named = name.attr if isinstance(name, ast.Attribute) else getattr(name, "id", None)
                    if named == "code" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                        lines.append(node.lineno)
    return lines


def test_no_code_in_api_is_a_bare_string() -> None:
    found = {
        path.relative_to(API.parent).as_posix(): lines
        for path in sorted(API.rglob("*.py"))
        if (lines := _string_codes(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert not found, f"use a ProblemCode member: {found}"


def test_every_app_error_class_answers_a_code_of_its_status() -> None:
    def subclasses(cls: type[AppError]) -> list[type[AppError]]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    import api.main  # noqa: F401  (every package imported, so every subclass is defined)

    for cls in subclasses(AppError):
        assert isinstance(cls.code, ProblemCode), cls
        assert cls.code.status == cls.status_code, cls


def test_the_spec_makes_code_an_enum_of_every_member() -> None:
    schemas = SPEC["components"]["schemas"]
    assert schemas["Problem"]["properties"]["code"]["$ref"] == "#/components/schemas/ProblemCode"
    assert schemas["ProblemCode"]["enum"] == [code.value for code in ProblemCode]


def _problem_answers() -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (path, method, status, response)
        for path, operations in SPEC["paths"].items()
        for method, operation in operations.items()
        for status, response in operation["responses"].items()
        if PROBLEM_JSON in response.get("content", {})
    ]


def test_every_declared_problem_answer_lists_its_codes() -> None:
    answers = _problem_answers()
    assert len(answers) > 300
    for path, method, status, response in answers:
        examples = response["content"][PROBLEM_JSON]["examples"]
        assert examples, (method, path, status)
        for name, example in examples.items():
            code = ProblemCode[name]
            assert example["value"] == {
                "type": code.type_uri,
                "title": code.summary,
                "status": code.status,
                "instance": path,
                "code": code.value,
            }
            assert f"`{name}`" in response["description"], (method, path, status)


def _codes(path: str, method: str, status: str) -> set[str]:
    return set(SPEC["paths"][path][method]["responses"][status]["content"][PROBLEM_JSON]["examples"])


def test_the_spec_names_each_route_s_own_codes() -> None:
    assert _codes("/api/v1/staff/{staff_id}", "patch", "409") == {"conflict", "last_coordinator"}
    assert _codes("/api/v1/incidents/{incident_id}/transitions", "post", "409") >= {"invalid_transition"}
    assert _codes("/api/v1/staff", "get", "401") == {
        "not_authenticated",
        "api_key_expired",
        "api_key_unconfirmed",
    }
    assert _codes("/api/v1/api-keys/{key_id}/confirm", "post", "409") >= {"conflict", "api_key_expired"}
    assert _codes("/api/v1/identities", "post", "403") == {"forbidden", "not_your_record"}
    apply = "/api/v1/groups/{group_id}/rosters/{roster_id}/apply"
    assert _codes(apply, "post", "409") >= {"roster_unresolved", "removals_unconfirmed"}
    assert "not_group_admin" in _codes(apply, "post", "403")
    assert _codes("/api/v1/sync/staff", "post", "503") == {"sync_interrupted", "database_unavailable"}
    # The Idempotency-Key middleware answers every POST under /api/v1, and no other method.
    assert "idempotency_key_reused" in _codes("/api/v1/staff", "post", "422")
    assert "idempotency_key_reused" not in _codes("/api/v1/staff", "get", "422")


def test_a_problem_s_type_resolves_to_its_entry(client: TestClient, coordinator: Actor) -> None:
    r = client.get("/api/v1/staff/00000000-0000-0000-0000-000000000000", headers=coordinator.headers)
    assert r.status_code == 404
    body = r.json()
    assert body["type"] == "/api/v1/problems/not_found"
    entry = client.get(urljoin(str(r.url), body["type"]))
    assert entry.status_code == 200
    assert entry.json() == {
        "code": "not_found",
        "type": "/api/v1/problems/not_found",
        "status": 404,
        "title": body["title"],
        "description": ProblemCode.not_found.description,
    }


def test_the_catalogue_is_public_and_lists_every_code(client: TestClient) -> None:
    r = client.get("/api/v1/problems")
    assert r.status_code == 200
    assert sorted(e["code"] for e in r.json()) == sorted(code.value for code in ProblemCode)
    r = client.get("/api/v1/problems/last_coordinator")
    assert r.json()["status"] == 409
    assert r.json()["title"] == "Last coordinator"


def test_an_unknown_problem_type_is_a_404(client: TestClient) -> None:
    r = client.get("/api/v1/problems/no_such_code")
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM_JSON
    assert r.json()["code"] == "not_found"
