"""The roster's ETag covers everything its reconciliation is judged against: an apply sent with a tag read
before a member of staff's leaving date, a participant's platform identity, the group's memberships or the
group itself changed is refused (412) and changes nothing (issue 16)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api import clock
from api.auth.roles import Role
from api.groups.models import Group, Platform
from api.identities.models import PlatformIdentity
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from api.rosters.models import GroupRoster
from api.staff.models import Staff
from tests.clock import FixedClock
from tests.kit.auth import Actor, make_actor
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.staff import make_staff
from tests.test_rosters import handle, tag, url


@dataclass
class World:
    group: Group
    lead: Staff
    finn: Staff
    kit: Participant
    roster_id: str


@pytest.fixture
def world(client: TestClient, session: Session, coordinator: Actor) -> World:
    group = make_group(session)
    lead = make_staff(session, full_name="Lead Person")
    finn = make_staff(session, full_name="Finn Arbour")
    kit = make_participant(session, full_name="Kit Fairbrook")
    make_membership(session, group, staff=lead, role=MemberRole.admin)
    handle(session, kit, "kit.fairbrook", Platform.facebook_group)
    roster = client.post(
        url(group),
        json={
            "entries": [
                {"email": lead.email, "platform_role": "admin"},
                {"display_name": "F. Arbour", "email": finn.email},
                {"display_name": "Kit", "handle": "kit.fairbrook"},
            ]
        },
        headers=coordinator.headers,
    )
    assert roster.status_code == 201, roster.text
    assert [e["match"] for e in roster.json()["entries"]] == ["certain"] * 3
    return World(group, lead, finn, kit, roster.json()["id"])


def _staff_leaves(client: TestClient, session: Session, actor: Actor, w: World) -> None:
    day = clock.today() + timedelta(days=10)  # a leaving date in the future moves the tag as well
    r = client.post(f"/api/v1/staff/{w.finn.id}/leave", json={"left_on": str(day)}, headers=actor.headers)
    assert r.status_code == 200, r.text


def _identity_added(client: TestClient, session: Session, actor: Actor, w: World) -> None:
    body = {"participant_id": str(w.kit.id), "kind": "phone", "value": "07700 900123"}
    r = client.post("/api/v1/identities", json=body, headers=actor.headers)
    assert r.status_code == 201, r.text


def _identity_ended(client: TestClient, session: Session, actor: Actor, w: World) -> None:
    # The handle the roster matched Kit by turns out not to be theirs.
    identity = session.exec(select(PlatformIdentity).where(PlatformIdentity.participant_id == w.kit.id)).one()
    r = client.post(
        f"/api/v1/identities/{identity.id}/end", json={"ended_on": str(clock.today())}, headers=actor.headers
    )
    assert r.status_code == 200, r.text


def _membership_added(client: TestClient, session: Session, actor: Actor, w: World) -> None:
    make_membership(session, w.group, staff=make_staff(session, full_name="New Comer"))


def _membership_role(client: TestClient, session: Session, actor: Actor, w: World) -> None:
    m = session.exec(select(Membership).where(Membership.staff_id == w.lead.id)).one()
    m.role, m.version = MemberRole.member, m.version + 1
    session.add(m)
    session.commit()


def _age_range(client: TestClient, session: Session, actor: Actor, w: World) -> None:
    group = session.get(Group, w.group.id)
    assert group is not None
    group.max_age, group.version = 14, group.version + 1  # Kit (15) is now outside it
    session.add(group)
    session.commit()


CHANGES: dict[str, Callable[[TestClient, Session, Actor, World], None]] = {
    "a member of staff's leaving date": _staff_leaves,
    "a participant's identity added": _identity_added,
    "a participant's identity ended": _identity_ended,
    "a membership added": _membership_added,
    "a membership's role": _membership_role,
    "the group's age range": _age_range,
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_an_apply_with_a_tag_read_before_the_records_changed_is_refused(
    client: TestClient, session: Session, coordinator: Actor, world: World, change: str
) -> None:
    roster_url = f"{url(world.group)}/{world.roster_id}"
    read = tag(client, coordinator, world.group, world.roster_id)
    assert tag(client, coordinator, world.group, world.roster_id) == read  # nothing changed: the same tag
    CHANGES[change](client, session, coordinator, world)
    session.expire_all()
    before = _memberships(session, world.group)
    stale = client.post(f"{roster_url}/apply", headers={**coordinator.headers, "If-Match": read})
    assert stale.status_code == 412, stale.text
    assert stale.headers["content-type"] == "application/problem+json"
    assert "read it again" in stale.json()["detail"]
    session.expire_all()
    assert _memberships(session, world.group) == before
    assert session.get(GroupRoster, uuid.UUID(world.roster_id)).applied_at is None  # type: ignore[union-attr]
    fresh = tag(client, coordinator, world.group, world.roster_id)
    assert fresh != read
    done = client.post(f"{roster_url}/apply", headers={**coordinator.headers, "If-Match": fresh})
    assert done.status_code == 200, done.text


def _memberships(session: Session, group: Group) -> list[Any]:
    rows = session.exec(select(Membership).where(Membership.group_id == group.id)).all()
    return sorted((str(m.id), m.version, m.role, m.ended_on) for m in rows)


def test_the_tag_moves_with_the_day(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, world: World
) -> None:
    # Ages and leaving dates are judged as of today: a tag read yesterday says nothing about today.
    read = tag(client, coordinator, world.group, world.roster_id)
    fixed_clock.advance(days=1)
    tomorrow = make_actor(session, Role.coordinator, coordinator=True)  # yesterday's sign-in has expired
    assert tag(client, tomorrow, world.group, world.roster_id) != read


@pytest.mark.parametrize(("extra", "status"), [(', "x"', 200), ("", 200), (", 3", 412)])
def test_a_roster_if_match_list_matches_if_any_member_does(
    client: TestClient, coordinator: Actor, world: World, extra: str, status: int
) -> None:
    """Issue 17 pass 2: `If-Match: "<valid>", "x"` was "changed since you read it" (RFC 9110 §13.1.1: a list
    matches if any member matches); a malformed list is a 412 saying so."""
    roster_url = f"{url(world.group)}/{world.roster_id}"
    read = tag(client, coordinator, world.group, world.roster_id)
    r = client.post(f"{roster_url}/apply", headers={**coordinator.headers, "If-Match": read + extra})
    assert r.status_code == status, r.text
    if status == 412:
        assert "malformed" in r.json()["detail"]


def test_if_match_star_on_an_apply_is_428_saying_so(
    client: TestClient, session: Session, coordinator: Actor, world: World
) -> None:
    """An apply needs the roster's ETag as read; `*` (any version, api.preconditions.names_any) does not
    show it was read: a 428 that says so, and nothing applied; the tag itself still applies."""
    roster_url = f"{url(world.group)}/{world.roster_id}"
    r = client.post(f"{roster_url}/apply", headers={**coordinator.headers, "If-Match": "*"})
    assert (r.status_code, r.json()["code"]) == (428, "precondition_required"), r.text
    assert "If-Match: *" in r.json()["detail"]
    assert session.get(GroupRoster, uuid.UUID(world.roster_id)).applied_at is None  # type: ignore[union-attr]
    read = tag(client, coordinator, world.group, world.roster_id)
    assert (
        client.post(f"{roster_url}/apply", headers={**coordinator.headers, "If-Match": read}).status_code
        == 200
    )


def test_if_none_match_star_on_an_apply_is_412_and_applies_nothing(
    client: TestClient, session: Session, coordinator: Actor, world: World
) -> None:
    """`If-None-Match: *` asks that no roster exist; this one does, so the apply is refused even with the tag
    as read (RFC 9110 §13.1.2; api.preconditions.refuse_create_only). It was ignored, and the roster
    applied."""
    roster_url = f"{url(world.group)}/{world.roster_id}"
    read = tag(client, coordinator, world.group, world.roster_id)
    headers = {**coordinator.headers, "If-Match": read, "If-None-Match": "*"}
    r = client.post(f"{roster_url}/apply", headers=headers)
    assert (r.status_code, r.json()["code"]) == (412, "precondition_failed"), r.text
    assert session.get(GroupRoster, uuid.UUID(world.roster_id)).applied_at is None  # type: ignore[union-attr]
    missing = f"{url(world.group)}/{uuid.uuid4()}/apply"
    assert client.post(missing, headers=headers).status_code == 404
