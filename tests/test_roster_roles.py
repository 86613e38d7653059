"""Who may do what with a group's rosters (issue 16, "Roles and reach"): every roster route for the
coordinator, the group's staff admin, a member of staff in the group who is not its admin, a member of
staff outside it, a trustee and a platform connector's key (`sync:write`). A refusal says why and what to
do (a problem with a specific `code`), a group out of reach answers as an unknown one (404), and no
refusal carries a child's details."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.auth.roles import ApiKeyScope, Role
from api.groups.models import Group, Platform
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.test_rosters import handle, tag, url

CALLERS = ("coordinator", "admin", "member", "outsider", "trustee", "key")
ROUTES = ("list", "upload", "get", "resolve", "apply")
F, NA, CO, NF = "forbidden", "not_group_admin", "coordinator_only", "not_found"
# (status, problem code) per route and caller; None for a success.
EXPECTED: dict[str, dict[str, tuple[int, str | None]]] = {
    "list": {"coordinator": (200, None), "admin": (200, None), "member": (200, None),
             "outsider": (404, NF), "trustee": (200, None), "key": (403, F)},
    "upload": {"coordinator": (201, None), "admin": (201, None), "member": (403, NA),
               "outsider": (404, NF), "trustee": (403, F), "key": (201, None)},
    "get": {"coordinator": (200, None), "admin": (200, None), "member": (200, None),
            "outsider": (404, NF), "trustee": (200, None), "key": (403, F)},
    "resolve": {"coordinator": (200, None), "admin": (200, None), "member": (403, NA),
                "outsider": (404, NF), "trustee": (403, F), "key": (403, F)},
    # The list adds a young person to the group: a coordinator's act, never the group admin's.
    "apply": {"coordinator": (200, None), "admin": (403, CO), "member": (403, NA),
              "outsider": (404, NF), "trustee": (403, F), "key": (403, F)},
}  # fmt: skip


@dataclass
class World:
    group: Group
    kit: Participant
    callers: dict[str, Actor]
    roster_id: str
    stranger_entry: str


@pytest.fixture
def world(client: TestClient, session: Session, coordinator: Actor) -> World:
    group = make_group(session)
    admin = make_actor(session, Role.staff, full_name="Lead Admin")
    member = make_actor(session, Role.staff, full_name="Mo Member")
    assert admin.staff is not None
    assert member.staff is not None
    make_membership(session, group, staff=admin.staff, role=MemberRole.admin)
    make_membership(session, group, staff=member.staff)
    kit = make_participant(session, full_name="Kit Fairbrook", carer_phone="07700 900555")
    handle(session, kit, "kit.fairbrook", Platform.facebook_group)
    callers = {
        "coordinator": coordinator,
        "admin": admin,
        "member": member,
        "outsider": make_actor(session, Role.staff, full_name="Out Sider"),
        "trustee": make_actor(session, Role.trustee),
        "key": make_api_key(session, (ApiKeyScope.sync_write,)),
    }
    r = client.post(url(group), json=_list(admin, member), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    stranger = next(e["id"] for e in r.json()["entries"] if e["display_name"] == "DJ Stranger")
    return World(group, kit, callers, r.json()["id"], stranger)


def _list(admin: Actor, member: Actor) -> dict[str, Any]:
    assert admin.staff is not None
    assert member.staff is not None
    return {
        "entries": [
            {"email": admin.staff.email, "platform_role": "admin"},
            {"email": member.staff.email},
            {"display_name": "Kit", "handle": "kit.fairbrook"},
            {"display_name": "DJ Stranger", "handle": "dj_stranger_99"},
        ]
    }


def _call(client: TestClient, session: Session, w: World, route: str, caller: Actor) -> Any:
    base, coordinator = url(w.group), w.callers["coordinator"]
    roster = f"{base}/{w.roster_id}"
    if route == "list":
        return client.get(base, headers=caller.headers)
    if route == "upload":
        return client.post(base, json=_list(w.callers["admin"], w.callers["member"]), headers=caller.headers)
    if route == "get":
        return client.get(roster, headers=caller.headers)
    body = {"resolution": "removed", "removed_on": w_captured(client, w)}
    if route == "resolve":
        headers = {**caller.headers, "If-Match": tag(client, coordinator, w.group, w.roster_id)}
        return client.post(f"{roster}/entries/{w.stranger_entry}/resolve", json=body, headers=headers)
    # apply: the stranger answered for first (by the coordinator), so only the caller's right is in question.
    headers = {**coordinator.headers, "If-Match": tag(client, coordinator, w.group, w.roster_id)}
    done = client.post(f"{roster}/entries/{w.stranger_entry}/resolve", json=body, headers=headers)
    assert done.status_code == 200, done.text
    headers = {**caller.headers, "If-Match": tag(client, coordinator, w.group, w.roster_id)}
    return client.post(f"{roster}/apply", headers=headers)


def w_captured(client: TestClient, w: World) -> str:
    coordinator = w.callers["coordinator"]
    captured: str = client.get(f"{url(w.group)}/{w.roster_id}", headers=coordinator.headers).json()[
        "captured_on"
    ]
    return captured


def _memberships(session: Session, group: Group) -> list[Any]:
    session.expire_all()
    rows = session.exec(select(Membership).where(Membership.group_id == group.id)).all()
    return sorted((str(m.id), m.version, m.role, m.ended_on) for m in rows)


CASES = [(route, caller) for route in ROUTES for caller in CALLERS]


@pytest.mark.parametrize(("route", "caller"), CASES, ids=[f"{r}-{c}" for r, c in CASES])
def test_each_roster_route_for_each_caller(
    client: TestClient, session: Session, world: World, route: str, caller: str
) -> None:
    before = _memberships(session, world.group)
    r = _call(client, session, world, route, world.callers[caller])
    status, code = EXPECTED[route][caller]
    assert r.status_code == status, r.text
    if code is not None:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == code, r.text
        assert _memberships(session, world.group) == before  # a refusal changes nothing
    if code in (NA, CO):
        # Says why, and whom to ask.
        assert "coordinator" in r.json()["detail"], r.text
        assert "ask" in r.json()["detail"], r.text
    if code == NF:
        unknown = client.get(f"/api/v1/groups/{uuid.uuid4()}/rosters", headers=world.callers[caller].headers)
        assert unknown.json()["code"] == r.json()["code"]
    if caller in ("trustee", "key", "outsider") or code is not None:
        for text in ("Kit Fairbrook", "kit.fairbrook", "07700", str(world.kit.id)):
            assert text not in r.text, (text, r.text)
    if caller == "trustee" and status == 200:
        shown = r.json()["items"] if route == "list" else [r.json()]
        assert all(v["entries"] is None and v["discrepancies"] is None for v in shown)
    if caller == "key" and status == 201:
        assert set(r.json()) == {"id", "version", "status"}


def test_a_group_admin_identifying_an_entry_as_a_colleague_is_told_whom_to_ask(
    client: TestClient, session: Session, world: World
) -> None:
    admin, member = world.callers["admin"], world.callers["member"]
    assert member.staff is not None
    headers = {**admin.headers, "If-Match": tag(client, admin, world.group, world.roster_id)}
    r = client.post(
        f"{url(world.group)}/{world.roster_id}/entries/{world.stranger_entry}/resolve",
        json={"resolution": "identified", "staff_id": str(member.staff.id)},
        headers=headers,
    )
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "not_your_record"
    assert "ask a coordinator" in r.json()["detail"]
