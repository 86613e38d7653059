"""Issue 17 pass 2, F8: a day a caller sends, at the ends of the calendar (0001-01-01, 9999-12-31), answers
a 4xx naming the field, never a 500, on every route that takes one (the date arithmetic on it, a year before
`to` or a day after `as_of`, would fall off the calendar)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.auth.roles import Role
from api.main import create_app
from api.memberships.models import MemberRole
from api.staff.models import Staff
from tests.factories import compliance_group
from tests.kit.auth import make_actor
from tests.kit.memberships import make_membership as compliance_member
from tests.kit.staff import make_staff
from tests.test_strict_input import _dependants, _leaves, _routes

EDGES = ("0001-01-01", "0001-06-01", "9999-12-31")


def _date_params() -> Iterator[tuple[str, str]]:
    for route in _routes(list(create_app().routes)):
        if "GET" not in route.methods:
            continue
        for dependant in _dependants(route.dependant):
            for param in dependant.query_params:
                leaves = _leaves(param.field_info.annotation, tuple(param.field_info.metadata))
                if any(kind is date for kind, _ in leaves):
                    yield route.path, param.alias or param.name


DATE_PARAMS = sorted(set(_date_params()))


def test_the_walk_sees_the_date_taking_routes() -> None:
    paths = {p for p, _ in DATE_PARAMS}
    assert "/api/v1/compliance/history" in paths
    assert "/api/v1/groups/{group_id}/compliance/history" in paths
    assert "/api/v1/compliance/export" in paths
    assert len(DATE_PARAMS) > 8


@pytest.mark.parametrize("value", EDGES)
@pytest.mark.parametrize(("path", "name"), DATE_PARAMS)
def test_a_day_at_the_ends_of_the_calendar_is_a_4xx_naming_it_or_an_answer(
    client: TestClient, session: Session, path: str, name: str, value: str
) -> None:
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    ids: dict[str, Any] = {
        "group_id": compliance_group(session).id,
        "staff_id": make_staff(session).id,
    }
    url = path.format_map({k: ids.get(k, uuid.uuid4()) for k in _fields(path)})
    r = client.get(url, params={name: value}, headers=coordinator.headers)
    assert r.status_code < 500, r.text
    if r.status_code == 422:
        assert r.headers["content-type"] == "application/problem+json"
        assert name in {e["field"] for e in r.json()["errors"]}, r.text


def _fields(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


@pytest.mark.parametrize("field", ["code_of_conduct_signed_on", "esafety_training_completed_on"])
def test_a_staff_members_days_at_the_ends_of_the_calendar_break_no_report(
    client: TestClient, session: Session, field: str
) -> None:
    """A member of staff's dates are a client's too: the reports and the forecast count days on from them.
    The last day of the calendar is in the future (refused, naming it); the first breaks nothing."""
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    staff = {
        "full_name": "Edge Case",
        "email": f"edge.{field}@moremusic.org.uk",
        "employment_type": "sessional",
        "started_on": "2024-09-01",
    }
    late = client.post("/api/v1/staff", json={**staff, field: "9999-12-31"}, headers=coordinator.headers)
    assert late.status_code == 422
    assert [e["field"] for e in late.json()["errors"]] == [field]
    r = client.post("/api/v1/staff", json={**staff, field: "0001-01-01"}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    member = session.get(Staff, uuid.UUID(r.json()["id"]))
    assert member is not None
    compliance_member(session, compliance_group(session), staff=member, role=MemberRole.admin)
    for url in (
        "/api/v1/compliance",
        "/api/v1/compliance/forecast?days=366",
        f"/api/v1/staff/{member.id}/compliance",
        "/api/v1/compliance/export",
    ):
        assert client.get(url, headers=coordinator.headers).status_code == 200, url


@pytest.mark.parametrize("to", ["0001-01-01", "0001-06-01"])
@pytest.mark.parametrize("path", ["/api/v1/compliance/history", "/api/v1/groups/{}/compliance/history"])
def test_history_to_in_the_first_year_is_422_naming_to(
    client: TestClient, session: Session, path: str, to: str
) -> None:
    """The reproduction: with no `from`, the default is a year before `to`, which does not exist."""
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    r = client.get(path.format(compliance_group(session).id), params={"to": to}, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["to"]
    given = client.get(
        path.format(compliance_group(session).id),
        params={"from": "0001-01-01", "to": to},
        headers=coordinator.headers,
    )
    assert given.status_code == 200, given.text
