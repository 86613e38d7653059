"""Strict input: a date is YYYY-MM-DD, an integer an integer, a boolean true or false, in bodies and query
strings alike; and a PATCH field that always has a value is not marked nullable in the spec (issue 12)."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Strict
from pydantic.functional_validators import BeforeValidator
from sqlmodel import SQLModel

from api.auth.models import User, UserUpdate
from api.common import STRICT_MARKERS, Patch
from api.consents.models import Consent, ConsentMerge, ConsentUpsert
from api.controls.models import Control, ControlUpdate, Technology, TechnologyUpdate
from api.groups.models import Group, GroupUpdate
from api.incidents.models import Incident, IncidentUpdate
from api.main import create_app
from api.memberships.models import Membership, MembershipUpdate
from api.participants.models import Participant, ParticipantCreate, ParticipantUpdate
from api.staff.models import Staff, StaffCreate, StaffUpdate
from api.webhooks.models import WebhookEndpoint, WebhookUpdate
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.requests import request_body
from tests.kit.staff import STAFF_BODY, make_staff

STAFF = "/api/v1/staff"
SCALARS = (date, datetime, int, bool)


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI >= 0.16x keeps included routers nested
            yield from _routes(route.effective_candidates())
        elif hasattr(route, "dependant"):
            yield route


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _leaves(annotation: Any, markers: tuple[Any, ...] = ()) -> Iterator[tuple[Any, tuple[Any, ...]]]:
    """Each type inside an annotation, with the Annotated metadata on the way to it."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *meta = typing.get_args(annotation)
        yield from _leaves(inner, markers + tuple(meta))
    elif origin in (typing.Union, types.UnionType, list, tuple, set, frozenset, dict):
        for arg in typing.get_args(annotation):
            yield from _leaves(arg, markers)
    else:
        yield annotation, markers


def _is_strict(kind: type, markers: tuple[Any, ...]) -> bool:
    if kind in (int, bool) and any(isinstance(m, Strict) and m.strict for m in markers):
        return True
    return any(isinstance(m, BeforeValidator) and m.func in STRICT_MARKERS for m in markers)


def _lenient_fields(model: type[BaseModel], seen: set[type[BaseModel]]) -> Iterator[str]:
    if model in seen:
        return
    seen.add(model)
    for name, field in model.model_fields.items():
        for kind, markers in _leaves(field.annotation, tuple(field.metadata)):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from _lenient_fields(kind, seen)
            elif kind in SCALARS and not _is_strict(kind, markers):
                yield f"{model.__name__}.{name}"


APP: FastAPI = create_app()


def test_every_date_integer_and_boolean_a_client_sends_is_strict() -> None:
    lenient: set[str] = set()
    seen: set[type[BaseModel]] = set()
    # The bulk syncs validate each record against these, not against the route's body model.
    for model in (StaffCreate, ParticipantCreate, ConsentUpsert):
        lenient.update(_lenient_fields(model, seen))
    checked = 0
    for route in _routes(list(APP.routes)):
        for dependant in _dependants(route.dependant):
            for param in dependant.body_params:
                for kind, _ in _leaves(param.field_info.annotation):
                    if isinstance(kind, type) and issubclass(kind, BaseModel):
                        lenient.update(_lenient_fields(kind, seen))
            for param in dependant.query_params:
                for kind, markers in _leaves(param.field_info.annotation, tuple(param.field_info.metadata)):
                    if kind in SCALARS:
                        checked += 1
                        if not _is_strict(kind, markers):
                            lenient.add(f"{route.path}?{param.name}")
    assert checked > 20  # the walk saw the query parameters
    assert len(seen) > 20  # and the body models
    assert lenient == set()


PATCHES: list[tuple[type[Patch], type[SQLModel]]] = [
    (StaffUpdate, Staff),
    (ParticipantUpdate, Participant),
    (GroupUpdate, Group),
    (MembershipUpdate, Membership),
    (UserUpdate, User),
    (IncidentUpdate, Incident),
    (ControlUpdate, Control),
    (TechnologyUpdate, Technology),
    (WebhookUpdate, WebhookEndpoint),
    (ConsentMerge, Consent),
]


@pytest.mark.parametrize(("patch", "table"), PATCHES)
def test_a_patch_refuses_null_exactly_where_the_column_always_has_a_value(
    patch: type[Patch], table: type[SQLModel]
) -> None:
    columns = table.__table__.c  # type: ignore[attr-defined]
    always = {name for name in patch.model_fields if name in columns and not columns[name].nullable}
    assert always == patch.NOT_NULL
    served = APP.openapi()["components"]["schemas"]
    # ConsentMerge is served inside ConsentSyncRecord (bulk sync's merge mode), not under its own name.
    schema = (served[patch.__name__] if patch.__name__ in served else patch.model_json_schema())["properties"]
    for name in patch.model_fields:
        nullable = any(b.get("type") == "null" for b in schema[name].get("anyOf", []))
        assert nullable is (name not in always), name


def test_every_patch_body_is_a_patch() -> None:
    bodies = {
        param.field_info.annotation
        for route in _routes(list(APP.routes))
        if "PATCH" in route.methods
        for param in route.dependant.body_params
    }
    # ConsentMerge is no route's body: bulk sync's `merge` mode reads each consent record with it.
    assert bodies == {p for p, _ in PATCHES} - {ConsentMerge}


def problem_fields(r: Any) -> dict[str, str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return {e["field"]: e["message"] for e in r.json()["errors"]}


staff_body = request_body(STAFF_BODY)


@pytest.mark.parametrize("value", [0, 0.5, 20240901, "2024-09-01T00:00:00", "1/9/2024", True, None])
def test_a_date_in_a_body_is_yyyy_mm_dd(client: TestClient, coordinator: Actor, value: Any) -> None:
    fields = problem_fields(
        client.post(STAFF, json=staff_body(started_on=value), headers=coordinator.headers)
    )
    assert list(fields) == ["started_on"]
    if value is not None:
        assert "use YYYY-MM-DD" in fields["started_on"]


@pytest.mark.parametrize("value", [1, 0, "true", "yes", None])
def test_a_boolean_in_a_body_is_true_or_false(client: TestClient, coordinator: Actor, value: Any) -> None:
    r = client.post(STAFF, json=staff_body(is_esafety_coordinator=value), headers=coordinator.headers)
    assert list(problem_fields(r)) == ["is_esafety_coordinator"]


@pytest.mark.parametrize("value", [False, True, 2.0, 2.5, "2"])
def test_an_integer_in_a_body_is_a_json_integer(client: TestClient, coordinator: Actor, value: Any) -> None:
    policy = client.get("/api/v1/policy-settings", headers=coordinator.headers).json()
    body = {k: policy[k] for k in policy if k not in ("updated_at", "version")}
    r = client.put(
        "/api/v1/policy-settings", json={**body, "min_group_admins": value}, headers=coordinator.headers
    )
    assert list(problem_fields(r)) == ["min_group_admins"]
    assert client.put(
        "/api/v1/policy-settings", json={**body, "min_group_admins": 3}, headers=coordinator.headers
    ).is_success


@pytest.mark.parametrize("value", [0, 1700000000, "2026-07-02"])
def test_a_timestamp_in_a_body_is_iso_text(client: TestClient, coordinator: Actor, value: Any) -> None:
    body = {"category": "cyberbullying", "severity": "low", "summary": "Name-calling", "occurred_at": value}
    r = client.post("/api/v1/incidents", json=body, headers=coordinator.headers)
    assert list(problem_fields(r)) == ["occurred_at"]


@pytest.mark.parametrize("value", ["0", "1.5", "2026-07-02T00:00", "20260702", "yesterday"])
def test_as_of_is_a_date(client: TestClient, coordinator: Actor, value: str) -> None:
    r = client.get("/api/v1/compliance", params={"as_of": value}, headers=coordinator.headers)
    fields = problem_fields(r)
    assert list(fields) == ["as_of"]
    assert "use YYYY-MM-DD" in fields["as_of"]
    assert client.get(
        "/api/v1/compliance", params={"as_of": str(TODAY)}, headers=coordinator.headers
    ).is_success


@pytest.mark.parametrize(
    ("param", "value"), [("current", "1"), ("current", "yes"), ("limit", "5.0"), ("limit", "1_0")]
)
def test_query_booleans_and_integers_are_strict(
    client: TestClient, coordinator: Actor, param: str, value: str
) -> None:
    assert list(problem_fields(client.get(STAFF, params={param: value}, headers=coordinator.headers))) == [
        param
    ]
    assert client.get(
        STAFF, params={"current": "false", "limit": "5"}, headers=coordinator.headers
    ).is_success


@pytest.mark.parametrize(
    ("url", "param", "value"),
    [
        ("/api/v1/compliance/forecast", "days", "\uff11\uff12"),  # full-width 12
        ("/api/v1/compliance/forecast", "days", "\u0661\u0662"),  # Arabic-Indic 12
        (STAFF, "limit", "\uff15"),
        ("/api/v1/compliance", "as_of", "\uff12\uff10\uff12\uff16-01-01"),
    ],
)
def test_query_digits_are_ascii_digits(
    client: TestClient, coordinator: Actor, url: str, param: str, value: str
) -> None:
    """Issue 17 pass 2: full-width `days` digits were read as 12. A query digit is 0 to 9, nothing else."""
    assert list(problem_fields(client.get(url, params={param: value}, headers=coordinator.headers))) == [
        param
    ]


def test_a_bulk_record_with_a_number_for_a_date_is_rejected_naming_it(
    client: TestClient, integration: Actor
) -> None:
    record = {**staff_body(started_on=0), "external_id": "crm-s-strict"}
    result = client.post("/api/v1/sync/staff", json={"records": [record]}, headers=integration.headers).json()
    [answer] = result["results"]
    assert answer["status"] == "rejected"
    assert [e["field"] for e in answer["errors"]] == ["started_on"]


def test_a_patch_may_clear_what_may_be_empty_but_not_what_always_has_a_value(
    client: TestClient, coordinator: Actor, session: Any
) -> None:
    staff = make_staff(session, job_title="Music leader")
    url = f"{STAFF}/{staff.id}"
    # Before: null for a column that always has a value reached the database and came back 409.
    r = client.patch(url, json={"uses_social_media_for_work": None}, headers=coordinator.headers)
    assert "uses_social_media_for_work" in problem_fields(r)
    cleared = client.patch(url, json={"job_title": None}, headers=coordinator.headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["job_title"] is None


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/compliance/forecast", "as_of"),
        ("/api/v1/compliance/forecast", "day"),
        ("/api/v1/compliance", "statuss"),
        ("/api/v1/compliance/history", "as_of"),
        ("/api/v1/compliance/waivers", "group"),
    ],
)
def test_a_compliance_route_refuses_a_query_parameter_it_does_not_take(
    client: TestClient, coordinator: Actor, url: str, param: str
) -> None:
    """Issue 17 pass 2: `forecast?as_of=…` was answered as if from that day, though the forecast always
    starts today. As a body refuses an unknown field, a compliance route refuses an unknown parameter."""
    r = client.get(url, params={param: str(TODAY)}, headers=coordinator.headers)
    fields = problem_fields(r)
    assert list(fields) == [param]
    assert "not a parameter here" in fields[param]


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/compliance/forecast", {"days": "30"}),
        ("/api/v1/compliance", {"as_of": str(TODAY), "status": "compliant", "platform": "discord"}),
        ("/api/v1/compliance/history", {"from": "2025-01-01", "to": str(TODAY), "interval": "week"}),
        ("/api/v1/compliance/waivers", {"limit": "5", "offset": "0", "active": "true"}),
    ],
)
def test_the_parameters_a_compliance_route_takes_still_pass(
    client: TestClient, coordinator: Actor, url: str, params: dict[str, str]
) -> None:
    assert client.get(url, params=params, headers=coordinator.headers).status_code == 200
