"""The technology register after issue 15's breaker findings 1 and 10: an assessment counts as made before a
technology's use only if it was recorded by then too (and an `as_of` in the past sees only what was recorded
by then); names are unique ignoring case and Unicode form; a technology is changed with PATCH (audited,
If-Match) and ended with `retired_on`, never deleted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from tests.kit.auth import Actor, token_headers
from tests.kit.clock import FixedClock

TECHNOLOGIES = "/api/v1/technologies"
RULE = "ORG-TECHNOLOGY-ASSESSED"
ASSESSMENT = {"risks": "Public links", "mitigations": "Organisation only", "decision": "approved"}


def _finding(client: TestClient, headers: dict[str, str], as_of: object = None) -> dict[str, Any]:
    url = "/api/v1/compliance" + (f"?as_of={as_of}" if as_of else "")
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    [f] = [f for f in r.json()["organisation"]["findings"] if f["rule_id"] == RULE]
    return f  # type: ignore[no-any-return]


def _add(client: TestClient, actor: Actor, **body: Any) -> dict[str, Any]:
    r = client.post(
        TECHNOLOGIES, json={"name": "Padlet", "purpose": "Shared boards"} | body, headers=actor.headers
    )
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_a_backdated_assessment_recorded_after_first_use_does_not_make_it_pass(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    today = fixed_clock.today
    tech = _add(client, coordinator, first_used_on=str(today - timedelta(days=10)))
    backdated = ASSESSMENT | {"assessed_on": str(today - timedelta(days=30))}
    r = client.post(f"{TECHNOLOGIES}/{tech['id']}/assessments", json=backdated, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    f = _finding(client, coordinator.headers)
    assert f["outcome"] == "fail"
    [evidence] = f["evidence"]
    # Both dates shown: the day it claims and the day it was recorded.
    assert str(today - timedelta(days=30)) in evidence["detail"]
    assert f"recorded on {today}" in evidence["detail"]


def test_as_of_a_past_day_counts_only_assessments_recorded_by_then(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    today = fixed_clock.today
    tech = _add(client, coordinator)  # planned
    url = f"{TECHNOLOGIES}/{tech['id']}/assessments"
    assert (
        client.post(
            url, json=ASSESSMENT | {"assessed_on": str(today)}, headers=coordinator.headers
        ).status_code
        == 201
    )
    r = client.patch(
        f"{TECHNOLOGIES}/{tech['id']}", json={"first_used_on": str(today)}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text
    assert _finding(client, coordinator.headers)["outcome"] == "pass"
    # A week on, a rejection is entered, dated the day of first use: as_of that day still reads the record as
    # it stood (approved); today reads the rejection, shown with both of its dates.
    fixed_clock.advance(days=7)
    assert coordinator.user is not None
    headers = token_headers(coordinator.user)
    rejected = ASSESSMENT | {"assessed_on": str(today), "decision": "rejected"}
    assert client.post(url, json=rejected, headers=headers).status_code == 201
    assert _finding(client, headers, as_of=today)["outcome"] == "pass"
    now = _finding(client, headers)
    assert now["outcome"] == "fail"
    assert f"recorded on {today + timedelta(days=7)}" in now["evidence"][0]["detail"]


@pytest.mark.parametrize("other", ["padlet", "PADLET", "  Padlet ", "\uff30\uff41\uff44\uff4c\uff45\uff54"])
def test_a_second_technology_of_the_same_name_is_a_409_naming_name(
    client: TestClient, coordinator: Actor, other: str
) -> None:
    _add(client, coordinator)
    r = client.post(TECHNOLOGIES, json={"name": other, "purpose": "Again"}, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "name"
    assert len(client.get(TECHNOLOGIES, headers=coordinator.headers).json()["items"]) == 1


def test_a_technology_is_changed_with_if_match_and_ended_not_deleted(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    today = fixed_clock.today
    tech = _add(client, coordinator, first_used_on=str(today - timedelta(days=40)))
    other = _add(client, coordinator, name="Soundtrap")
    url = f"{TECHNOLOGIES}/{tech['id']}"
    r = client.get(url, headers=coordinator.headers)
    etag = r.headers["etag"]
    assert client.patch(url, json={"purpose": "x"}, headers=staff_actor.headers).status_code == 403
    r = client.patch(
        url,
        json={"purpose": "Boards for the songwriting course"},
        headers=coordinator.headers | {"If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == tech["version"] + 1
    stale = client.patch(url, json={"purpose": "Again"}, headers=coordinator.headers | {"If-Match": etag})
    assert stale.status_code == 412
    clash = client.patch(
        f"{TECHNOLOGIES}/{other['id']}", json={"name": "PADLET"}, headers=coordinator.headers
    )
    assert clash.status_code == 409
    assert clash.json()["field"] == "name"
    # Renamed to its own name in other letters: allowed (the same technology).
    assert client.patch(url, json={"name": "padlet"}, headers=coordinator.headers).status_code == 200
    for body, field in (
        ({"retired_on": str(today + timedelta(days=1))}, "retired_on"),
        ({"retired_on": str(today - timedelta(days=50))}, "retired_on"),
        ({"first_used_on": str(today - timedelta(days=5))}, "first_used_on"),  # later: refused
        ({"first_used_on": None}, "first_used_on"),
        ({"name": None}, "name"),
        ({"name": "  "}, "name"),
    ):
        r = client.patch(url, json=body, headers=coordinator.headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["field"] == field
    r = client.patch(url, json={"retired_on": str(today - timedelta(days=1))}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["retired_on"] == str(today - timedelta(days=1))
    assert client.get(url, headers=coordinator.headers).status_code == 200  # ended, still on record
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "technology.update")).all()
    assert any("retired_on" in e.changes for e in events)
    # Ended yesterday: no longer in use, so an unassessed past use no longer counts today.
    assert _finding(client, coordinator.headers)["outcome"] == "not_applicable"


def test_the_new_list_routes_answer_in_the_house_list_shape(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """Issue 15 breaker finding 13: every list route of issue 15 pages as GET /api/v1/groups does."""
    assert coordinator.staff is not None
    tech = _add(client, coordinator)
    control = client.get("/api/v1/controls", headers=coordinator.headers).json()["items"][0]
    for url in (
        "/api/v1/policy/versions",
        "/api/v1/controls",
        f"/api/v1/controls/{control['id']}/checks",
        TECHNOLOGIES,
        f"{TECHNOLOGIES}/{tech['id']}/assessments",
        f"/api/v1/staff/{coordinator.staff.id}/declarations",
        "/api/v1/groups",
    ):
        r = client.get(url, params={"limit": 1, "offset": 0}, headers=coordinator.headers)
        assert r.status_code == 200, (url, r.text)
        body = r.json()
        assert set(body) == {"items", "total", "limit", "offset"}, url
        assert body["limit"] == 1
        assert len(body["items"]) <= 1
        assert client.get(url, params={"limit": 0}, headers=coordinator.headers).status_code == 422
    controls = client.get("/api/v1/controls", params={"limit": 1, "offset": 1}, headers=coordinator.headers)
    assert controls.json()["total"] == 3
    assert controls.json()["items"][0]["id"] != control["id"]
