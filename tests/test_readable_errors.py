"""A 422 a person can act on (issue 18): a date or date-time that does not parse says the format to use and
names the field, in the problem's `detail` as in its `errors`, in a body as in a query string; an unknown
enum value lists the allowed ones. Never the framework's "invalid character in year"."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.compliance.vocabulary import Status
from api.groups.models import Platform
from tests.factories import Actor
from tests.kit.compliance import make_compliant_group
from tests.kit.staff import STAFF_BODY

DAY_HINT = "use YYYY-MM-DD"
INSTANT_HINT = "use an RFC 3339 date-time"


def _refused(r: Any, field: str) -> tuple[str, str]:
    """The 422's detail and the message for `field`, after checking it names `field`."""
    assert r.status_code == 422, r.text
    body = r.json()
    messages = {e["field"]: e["message"] for e in body["errors"]}
    assert field in messages, messages
    assert field in body["detail"]
    return body["detail"], messages[field]


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30",  # the shape of a day, but no such day
        "2026-13-01",
        "2O26-01-01",  # a letter O for a zero
        "01/02/2026",
        "20260102",
    ],
)
def test_a_bad_day_in_a_query_says_the_format(client: TestClient, coordinator: Actor, value: str) -> None:
    detail, message = _refused(
        client.get("/api/v1/compliance", params={"as_of": value}, headers=coordinator.headers), "as_of"
    )
    assert DAY_HINT in message
    assert DAY_HINT in detail
    assert "invalid character" not in message


def test_a_bad_day_in_a_body_says_the_format_and_why(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    waiver = {
        "group_id": str(group.id),
        "rule_id": "GRP-PERIODIC-REVIEW",
        "reason": "Paused",
        "expires_on": "2029-02-30",
    }
    detail, message = _refused(
        client.post("/api/v1/compliance/waivers", json=waiver, headers=coordinator.headers), "expires_on"
    )
    assert message.startswith("Not a valid date (day value is outside expected range)")
    assert f"expires_on: {message}" in detail


@pytest.mark.parametrize("value", ["2027-02-30T17:00:00Z", "2027-03-31 5pm", "2027-03-31T17:00:00"])
def test_a_bad_date_time_in_a_body_says_rfc_3339(client: TestClient, coordinator: Actor, value: str) -> None:
    body = {"name": "Term census", "scopes": ["read"], "expires_at": value}
    detail, message = _refused(
        client.post("/api/v1/api-keys", json=body, headers=coordinator.headers), "expires_at"
    )
    assert INSTANT_HINT in message
    assert INSTANT_HINT in detail
    if value.endswith(":00"):
        assert message.startswith("Not a valid date-time (no offset given): ")


def test_an_unknown_enum_value_lists_the_allowed_ones(client: TestClient, coordinator: Actor) -> None:
    # In a query string...
    detail, message = _refused(
        client.get("/api/v1/compliance", params={"status": "green"}, headers=coordinator.headers), "status"
    )
    for status in Status:
        assert f"'{status.value}'" in message
        assert f"'{status.value}'" in detail
    # ... and in a body.
    body = {"name": "Band chat", "platform": "myspace"}
    _, message = _refused(client.post("/api/v1/groups", json=body, headers=coordinator.headers), "platform")
    assert message.startswith("Not an allowed value: use one of ")
    assert all(f"'{p.value}'" in message for p in Platform)
    assert "myspace" not in message  # the value sent is not quoted back


def test_a_bulk_sync_record_s_bad_day_says_the_format(client: TestClient, integration: Actor) -> None:
    record = {**STAFF_BODY, "external_id": "crm-4101", "started_on": "2025-09-31"}
    r = client.post("/api/v1/sync/staff", json={"records": [record]}, headers=integration.headers)
    assert r.status_code == 200, r.text
    [result] = r.json()["results"]
    assert result["status"] == "rejected"
    [error] = result["errors"]
    assert error["field"] == "started_on"
    assert DAY_HINT in error["message"]


def test_at_most_three_messages_in_the_detail(client: TestClient, coordinator: Actor) -> None:
    r = client.post(
        "/api/v1/groups",
        json={"platform": "myspace", "started_on": "x", "min_age": "y"},
        headers=coordinator.headers,
    )
    assert r.status_code == 422
    body = r.json()
    assert len(body["errors"]) > 3
    assert body["detail"].endswith(f"(and {len(body['errors']) - 3} more in `errors`)")
