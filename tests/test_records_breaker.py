"""Issue 15's fresh tester, findings 8, 9, 11, 12 and 14, reproduced through the API: the latest of two
same-day assessments decides; a backdated retirement does not hide a past use; controls carry an ETag and
refuse a stale If-Match (as every PATCH route does); technology names ignore invisible characters and refuse
bidi overrides; a trustee reads their own declared answers, a declaration for a version not yet in force does
not count yet, and a trustee cannot be named a control's owner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.preconditions import if_match
from tests.clock import FixedClock
from tests.kit.auth import Actor, token_headers
from tests.kit.etags import read_tag
from tests.kit.requests import refused_field
from tests.policy_publish import publish_confirmed
from tests.test_declarations import V1, _outcome, _url, body
from tests.test_technologies_breaker import _add as add
from tests.test_technologies_breaker import _finding

TECHNOLOGIES = "/api/v1/technologies"
ASSESSMENT = {"risks": "Public links", "mitigations": "Organisation only"}


def _add(client: TestClient, actor: Actor, name: str = "Discord", **body: Any) -> dict[str, Any]:
    return add(client, actor, name=name, purpose="Chat", **body)


# Finding 9 ---------------------------------------------------------------------------------------------


def test_approved_then_rejected_on_one_day_fails_the_rule(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    today = fixed_clock.today
    tech = _add(client, coordinator, first_used_on=str(today))
    url = f"{TECHNOLOGIES}/{tech['id']}/assessments"
    for decision in ("approved", "rejected"):
        sent = ASSESSMENT | {"assessed_on": str(today), "decision": decision}
        assert client.post(url, json=sent, headers=coordinator.headers).status_code == 201
        fixed_clock.advance(seconds=1)  # recorded one after the other, the same day
    f = _finding(client, coordinator.headers)
    assert f["outcome"] == "fail", f
    assert "rejected" in f["evidence"][0]["detail"]


# Finding 8 ---------------------------------------------------------------------------------------------


def test_a_backdated_retirement_does_not_hide_a_past_unassessed_use(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    today = fixed_clock.today
    tech = _add(client, coordinator, first_used_on=str(today - timedelta(days=40)))
    assert _finding(client, coordinator.headers, as_of=today - timedelta(days=15))["outcome"] == "fail"
    r = client.patch(
        f"{TECHNOLOGIES}/{tech['id']}",
        json={"retired_on": str(today - timedelta(days=29))},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["retired_recorded_at"] is not None
    # As of a day before the retirement was recorded, the register showed it in use, unassessed.
    past = _finding(client, coordinator.headers, as_of=today - timedelta(days=15))
    assert past["outcome"] == "fail"
    assert [e["id"] for e in past["evidence"]] == [tech["id"]]
    # From the day it was recorded, the retirement counts.
    assert _finding(client, coordinator.headers)["outcome"] == "not_applicable"
    # Brought back into use: the recording time goes with the retirement.
    r = client.patch(f"{TECHNOLOGIES}/{tech['id']}", json={"retired_on": None}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["retired_recorded_at"] is None


# Finding 11 --------------------------------------------------------------------------------------------


def _walk(routes: list[Any]) -> list[Any]:
    out: list[Any] = []
    for route in routes:
        if hasattr(route, "effective_candidates"):  # FastAPI keeps included routers nested
            out.extend(_walk(route.effective_candidates()))
        else:
            out.append(route)
    return out


def _calls(dependant: Any) -> set[Any]:
    return {dependant.call} | {c for d in dependant.dependencies for c in _calls(d)}


def test_every_patch_route_reads_if_match(app: FastAPI) -> None:
    patches = [
        r
        for r in _walk(list(app.routes))
        if "PATCH" in (getattr(r, "methods", None) or ()) and r.path.startswith("/api/")
    ]
    assert len(patches) >= 8
    missing = [r.path for r in patches if if_match not in _calls(r.dependant)]
    assert not missing, f"PATCH routes that ignore If-Match: {missing}"


def test_a_control_has_an_etag_and_refuses_a_stale_if_match(
    client: TestClient, coordinator: Actor, staff_actor: Actor
) -> None:
    assert staff_actor.staff is not None
    control = client.get("/api/v1/controls", headers=coordinator.headers).json()["items"][0]
    url = f"/api/v1/controls/{control['id']}"
    r = client.get(url, headers=coordinator.headers)
    assert r.headers["ETag"] == read_tag(1, r)
    for days in (30, 60):
        r = client.patch(
            url, json={"cadence_days": days}, headers=coordinator.headers | {"If-Match": r.headers["ETag"]}
        )
        assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"3"'
    stale = client.patch(
        url, json={"owner_id": str(staff_actor.staff.id)}, headers=coordinator.headers | {"If-Match": '"1"'}
    )
    assert stale.status_code == 412, stale.text
    assert client.get(url, headers=coordinator.headers).json()["owner_id"] is None


# Finding 12 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Dis\u202ecord", "\u2066Discord\u2069", "Discord\u202a"])
def test_bidi_overrides_are_refused_in_a_one_line_name(
    client: TestClient, coordinator: Actor, name: str
) -> None:
    r = client.post(TECHNOLOGIES, json={"name": name, "purpose": "Chat"}, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["name"]
    tech = _add(client, coordinator)
    r = client.patch(f"{TECHNOLOGIES}/{tech['id']}", json={"name": name}, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    # Free text may run right to left as it likes; a right-to-left mark in a name is allowed.
    assert add(client, coordinator, name="\u05e9\u05dc\u05d5\u05dd\u200f", purpose="Dis\u202ecord")


def test_a_retired_name_is_taken_and_the_409_says_how_to_use_it_again(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    today = fixed_clock.today
    tech = _add(client, coordinator, name="Soundtrap", first_used_on=str(today - timedelta(days=10)))
    url = f"{TECHNOLOGIES}/{tech['id']}"
    assert client.patch(url, json={"retired_on": str(today)}, headers=coordinator.headers).status_code == 200
    r = client.post(TECHNOLOGIES, json={"name": "Soundtrap", "purpose": "Again"}, headers=coordinator.headers)
    assert r.status_code == 409
    assert "end it and add another" not in r.text
    assert "clear its retired_on" in r.json()["detail"]
    # And doing what it says works.
    r = client.patch(url, json={"retired_on": None}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["retired_on"] is None


# Finding 14 --------------------------------------------------------------------------------------------


def test_a_trustee_reads_their_own_declared_answers(
    fixed_clock: FixedClock, client: TestClient, trustee: Actor, coordinator: Actor
) -> None:
    declared = body(no_personal_follows=False)
    assert client.post(_url(trustee), json=declared, headers=trustee.headers).status_code == 201
    [mine] = client.get(_url(trustee), headers=trustee.headers).json()["items"]
    assert mine["read_policy"] is True
    assert mine["no_personal_follows"] is False
    # Their own staff report gives their answers too.
    assert trustee.staff is not None
    r = client.get(f"/api/v1/staff/{trustee.staff.id}/compliance", headers=trustee.headers)
    [f] = [f for f in r.json()["findings"] if f["rule_id"] == "STF-SOCIAL-MEDIA-DECLARATION"]
    assert "no following young people" in f["message"]


def test_a_declaration_for_a_version_not_yet_in_force_counts_only_from_its_effective_day(
    fixed_clock: FixedClock, client: TestClient, staff_actor: Actor, coordinator: Actor
) -> None:
    today = fixed_clock.today
    text = V1.read_text().replace("All More Music Facebook groups", "Every More Music Facebook group")
    r = publish_confirmed(
        client, coordinator.headers, {"text": text, "effective_on": str(today + timedelta(days=10))}
    )
    assert r.status_code == 201, r.text
    early = body(policy_version=2)
    assert client.post(_url(staff_actor), json=early, headers=staff_actor.headers).status_code == 201
    assert _outcome(client, coordinator, staff_actor) == "fail"  # version 1 needs its own
    assert client.post(_url(staff_actor), json=body(), headers=staff_actor.headers).status_code == 201
    assert _outcome(client, coordinator, staff_actor) == "pass"
    fixed_clock.advance(days=10)
    assert coordinator.user is not None
    headers = token_headers(coordinator.user)
    assert staff_actor.staff is not None
    r = client.get(f"/api/v1/staff/{staff_actor.staff.id}/compliance", headers=headers)
    [f] = [f for f in r.json()["findings"] if f["rule_id"] == "STF-SOCIAL-MEDIA-DECLARATION"]
    assert f["outcome"] == "pass", f  # the early declaration for version 2 now counts


def test_a_trustee_cannot_be_named_a_control_s_owner(
    client: TestClient, coordinator: Actor, trustee: Actor
) -> None:
    assert trustee.staff is not None
    control = client.get("/api/v1/controls", headers=coordinator.headers).json()["items"][0]
    r = client.patch(
        f"/api/v1/controls/{control['id']}",
        json={"owner_id": str(trustee.staff.id)},
        headers=coordinator.headers,
    )
    assert refused_field(r) == "owner_id"
    assert "cannot record checks" in r.json()["errors"][0]["message"]
