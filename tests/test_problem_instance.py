"""Every problem answer is `application/problem+json` with an `instance` (RFC 9457 section 3.1.5): the path
of the request answered, never its query string (which may hold a name searched for); and the spec declares
every error answer under that media type only (issue 18)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from api.errors import Problem, problem_response
from api.main import create_app
from api.problems import PROBLEM_JSON, ProblemCode
from tests.factories import Actor
from tests.kit.compliance import make_compliant_group
from tests.kit.requests import problem_answer
from tests.kit.rosters import make_roster

SPEC = create_app().openapi()


def _problem(r: Response, status: int, instance: str) -> dict[str, Any]:
    body = problem_answer(r, status)
    assert body["instance"] == instance
    Problem.model_validate(body)  # the declared shape
    return body


def test_each_kind_of_problem_names_its_request_path(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor
) -> None:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    unknown = f"/api/v1/staff/{uuid.uuid4()}"
    _problem(client.get(unknown, headers=coordinator.headers), 404, unknown)
    _problem(client.get("/api/v1/staff"), 401, "/api/v1/staff")
    _problem(client.post("/api/v1/staff", json={}, headers=trustee.headers), 403, "/api/v1/staff")
    body = _problem(
        client.get("/api/v1/compliance?as_of=2026-02-30", headers=coordinator.headers),
        422,
        "/api/v1/compliance",
    )
    assert body["errors"][0]["field"] == "as_of"

    waiver = {
        "group_id": str(group.id),
        "rule_id": "GRP-PERIODIC-REVIEW",
        "reason": "Paused",
        "expires_on": "2099-01-01",
    }
    assert (
        client.post("/api/v1/compliance/waivers", json=waiver, headers=coordinator.headers).status_code == 201
    )
    _problem(
        client.post("/api/v1/compliance/waivers", json=waiver, headers=coordinator.headers),
        409,
        "/api/v1/compliance/waivers",
    )

    roster = make_roster(session, group)
    apply = f"/api/v1/groups/{group.id}/rosters/{roster.id}/apply"
    assert (
        _problem(client.post(apply, headers=coordinator.headers), 428, apply)["code"]
        == "precondition_required"
    )

    # Answered by a middleware, before any route: the same member.
    big = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    too_big = client.post(
        "/api/v1/staff", content=big, headers={**coordinator.headers, "Content-Type": "application/json"}
    )
    _problem(too_big, 413, "/api/v1/staff")


def test_the_query_string_never_reaches_the_instance(client: TestClient, coordinator: Actor) -> None:
    # A search for a child by name that goes wrong: the name stays out of the answer's `instance`.
    r = client.get("/api/v1/participants?name=Amara%20Lewis&limit=0", headers=coordinator.headers)
    body = _problem(r, 422, "/api/v1/participants")
    assert "Amara" not in body["instance"]
    # An unknown path is percent-encoded back as a URI reference, not echoed raw.
    r = client.get("/api/v1/no such/caf\u00e9?name=Amara", headers=coordinator.headers)
    _problem(r, 404, "/api/v1/no%20such/caf%C3%A9")


def test_without_a_request_the_instance_is_a_urn() -> None:
    # A problem built outside any request (a worker's) still names its occurrence, by a fresh URN.
    first, second = (bytes(problem_response(ProblemCode.not_found).body) for _ in range(2))
    assert b'"instance":"urn:uuid:' in first
    assert first != second


def _error_answers() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path} {status}", response)
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    ]


def test_the_spec_declares_every_error_as_problem_json_only() -> None:
    answers = _error_answers()
    assert len(answers) > 300
    wrong = [where for where, response in answers if list(response.get("content", {})) != [PROBLEM_JSON]]
    assert not wrong, wrong
    untyped = [
        where
        for where, response in answers
        if response["content"][PROBLEM_JSON].get("schema") != {"$ref": "#/components/schemas/Problem"}
    ]
    assert not untyped, untyped
    assert "instance" in SPEC["components"]["schemas"]["Problem"]["required"]
