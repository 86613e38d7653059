from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.groups.models import Group, GroupStatus
from api.memberships import service
from api.memberships.models import MemberRole, Membership
from tests.kit.audit import patched_and_audited
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.groups import make_group
from tests.kit.memberships import make_group_joined_by, make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field, unknown_record_not_found
from tests.kit.staff import make_staff

URL = "/api/v1/memberships"


def body(group: Group, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"group_id": str(group.id), "started_on": str(TODAY - timedelta(days=10))}
    data.update(overrides)
    return data


def end_membership(client: TestClient, caller: Actor, membership_id: object, **fields: Any) -> Response:
    """`caller`'s POST ending the membership with `fields` (`ended_on`, `end_reason`); the answer."""
    r: Response = client.post(f"{URL}/{membership_id}/end", json=fields, headers=caller.headers)
    return r


def test_create_read_and_audit(client: TestClient, coordinator: Actor, session: Session) -> None:
    group, child, leader = make_group(session), make_participant(session), make_staff(session)
    r = client.post(URL, json=body(group, participant_id=str(child.id)), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["participant_id"] == str(child.id)
    assert created["staff_id"] is None
    assert created["role"] == "member"
    assert created["is_current"] is True
    assert client.get(f"{URL}/{created['id']}", headers=coordinator.headers).json() == created
    r = client.post(URL, json=body(group, staff_id=str(leader.id), role="admin"), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "admin"
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "membership.create")).all()
    assert {str(e.entity_id) for e in events} == {created["id"], r.json()["id"]}


@pytest.mark.parametrize("people", ["both", "neither"])
def test_exactly_one_of_staff_and_participant(
    client: TestClient, coordinator: Actor, session: Session, people: str
) -> None:
    group = make_group(session)
    extra = (
        {"staff_id": str(make_staff(session).id), "participant_id": str(make_participant(session).id)}
        if people == "both"
        else {}
    )
    r = client.post(URL, json=body(group, **extra), headers=coordinator.headers)
    assert refused_field(r) == "staff_id"


def test_references_must_exist(client: TestClient, coordinator: Actor, session: Session) -> None:
    group, child = make_group(session), make_participant(session)
    missing = str(uuid.uuid4())
    cases = [
        (body(group, staff_id=missing), "staff_id"),
        (body(group, participant_id=missing), "participant_id"),
        ({**body(group, participant_id=str(child.id)), "group_id": missing}, "group_id"),
    ]
    for data, field in cases:
        r = client.post(URL, json=data, headers=coordinator.headers)
        assert refused_field(r) == field
    assert client.get(URL, headers=coordinator.headers).json()["total"] == 0


def test_bad_input_names_the_field(client: TestClient, coordinator: Actor, session: Session) -> None:
    group, child = make_group(session), make_participant(session)
    r = client.post(
        URL,
        json=body(group, participant_id=str(child.id), role="owner", colour="red"),
        headers=coordinator.headers,
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"role", "colour"}


def test_an_archived_group_takes_no_one(client: TestClient, coordinator: Actor, session: Session) -> None:
    group = make_group(session, status=GroupStatus.archived, archived_on=TODAY - timedelta(days=5))
    r = client.post(
        URL, json=body(group, participant_id=str(make_participant(session).id)), headers=coordinator.headers
    )
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"


def test_people_who_left_cannot_be_added(client: TestClient, coordinator: Actor, session: Session) -> None:
    group = make_group(session)
    start = TODAY - timedelta(days=10)
    gone_child = make_participant(session, left_on=start)
    gone_staff = make_staff(session, left_on=start - timedelta(days=1))
    for data, field in [
        (body(group, participant_id=str(gone_child.id), started_on=str(start)), "participant_id"),
        (body(group, staff_id=str(gone_staff.id), started_on=str(start)), "staff_id"),
    ]:
        r = client.post(URL, json=data, headers=coordinator.headers)
        assert refused_field(r) == field
    # A membership that began while they were still taking part can be recorded after the fact.
    r = client.post(
        URL,
        json=body(group, participant_id=str(gone_child.id), started_on=str(start - timedelta(days=1))),
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text


def test_one_membership_at_a_time(client: TestClient, coordinator: Actor, session: Session) -> None:
    group, child, leader = make_group(session), make_participant(session), make_staff(session)
    make_membership(session, group, participant=child, started_on=TODAY - timedelta(days=30))
    make_membership(session, group, staff=leader, started_on=TODAY + timedelta(days=30))  # starts later
    for data, field in [
        (body(group, participant_id=str(child.id)), "participant_id"),
        (body(group, staff_id=str(leader.id)), "staff_id"),
    ]:
        r = client.post(URL, json=data, headers=coordinator.headers)
        assert r.status_code == 409, r.text
        assert r.json()["field"] == field
    # The same person may be in another group, and a participant may rejoin once the first membership ended.
    other = make_group(session)
    assert (
        client.post(
            URL, json=body(other, participant_id=str(child.id)), headers=coordinator.headers
        ).status_code
        == 201
    )


def test_rejoining_after_an_end_but_not_before_it(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group, child = make_group(session), make_participant(session)
    ended = TODAY - timedelta(days=5)
    make_membership(session, group, participant=child, started_on=TODAY - timedelta(days=50), ended_on=ended)
    overlapping = body(group, participant_id=str(child.id), started_on=str(ended - timedelta(days=1)))
    assert client.post(URL, json=overlapping, headers=coordinator.headers).status_code == 409
    rejoin = body(group, participant_id=str(child.id), started_on=str(ended))
    assert client.post(URL, json=rejoin, headers=coordinator.headers).status_code == 201


def test_the_database_holds_one_open_membership_per_person(session: Session) -> None:
    group, child = make_group(session), make_participant(session)
    make_membership(session, group, participant=child)
    with pytest.raises(IntegrityError):
        make_membership(session, group, participant=child, started_on=TODAY)
    session.rollback()
    # Ended memberships are outside the index: history can hold many.
    for started, ended in ((400, 300), (299, 200)):
        make_membership(
            session,
            group,
            participant=child,
            started_on=TODAY - timedelta(days=started),
            ended_on=TODAY - timedelta(days=ended),
        )


def test_a_race_past_the_overlap_check_is_the_same_409(
    client: TestClient, coordinator: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, leader = make_group(session), make_staff(session)
    make_membership(session, group, staff=leader)
    # As if another request committed its membership after this one checked: only the index stands in the way.
    monkeypatch.setattr(service, "_overlapping", lambda *_args, **_kwargs: None)
    r = client.post(URL, json=body(group, staff_id=str(leader.id)), headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "staff_id"
    assert "already in the group" in r.json()["detail"]
    assert len(session.exec(select(Membership).where(Membership.staff_id == leader.id)).all()) == 1
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "membership.create")).first() is None


def test_change_role(client: TestClient, coordinator: Actor, session: Session) -> None:
    m = make_membership(session, make_group(session), staff=make_staff(session))
    patched_and_audited(
        client, session, coordinator, f"{URL}/{m.id}", "membership.update", role=("member", "admin")
    )
    assert client.patch(f"{URL}/{m.id}", json={"role": None}, headers=coordinator.headers).status_code == 422
    r = client.patch(f"{URL}/{m.id}", json={"group_id": str(uuid.uuid4())}, headers=coordinator.headers)
    assert r.status_code == 422  # only the role changes: moving someone is an end and a new membership
    assert r.json()["errors"][0]["field"] == "group_id"


def test_end_a_membership(client: TestClient, coordinator: Actor, session: Session) -> None:
    m = make_membership(session, make_group(session), participant=make_participant(session))
    r = end_membership(client, coordinator, m.id, ended_on=str(TODAY), end_reason="Aged out")
    assert r.status_code == 200, r.text
    assert r.json()["ended_on"] == str(TODAY)
    assert r.json()["end_reason"] == "Aged out"
    assert r.json()["is_current"] is False  # end dates are exclusive
    again = end_membership(client, coordinator, m.id, ended_on=str(TODAY))
    assert again.status_code == 409
    assert (
        session.exec(select(AuditEvent).where(AuditEvent.action == "membership.end")).one().entity_id == m.id
    )


def test_end_before_start_is_422(client: TestClient, coordinator: Actor, session: Session) -> None:
    m = make_membership(session, make_group(session), participant=make_participant(session))
    r = end_membership(client, coordinator, m.id, ended_on=str(m.started_on - timedelta(days=1)))
    assert refused_field(r) == "ended_on"
    assert client.get(f"{URL}/{m.id}", headers=coordinator.headers).json()["ended_on"] is None
    assert end_membership(client, coordinator, m.id).status_code == 422


def test_unknown_id_is_404(client: TestClient, coordinator: Actor) -> None:
    unknown_record_not_found(
        client, coordinator.headers, URL, patch={"role": "admin"}, action=("end", {"ended_on": str(TODAY)})
    )


def test_list_filters_order_and_paging(client: TestClient, coordinator: Actor, session: Session) -> None:
    g1, g2 = make_group(session), make_group(session)
    leader, child = make_staff(session), make_participant(session)
    a = make_membership(
        session, g1, staff=leader, role=MemberRole.admin, started_on=TODAY - timedelta(days=50)
    )
    b = make_membership(session, g1, participant=child, started_on=TODAY - timedelta(days=40))
    c = make_membership(session, g2, participant=child, started_on=TODAY - timedelta(days=60), ended_on=TODAY)
    d = make_membership(
        session, g2, participant=make_participant(session), started_on=TODAY - timedelta(days=40)
    )

    def ids(**params: Any) -> list[uuid.UUID]:
        r = client.get(URL, params=params, headers=coordinator.headers)
        assert r.status_code == 200, r.text
        return [uuid.UUID(m["id"]) for m in r.json()["items"]]

    same_day = sorted([b.id, d.id])
    assert ids() == [c.id, a.id, *same_day]  # by started_on, then id
    assert ids(group_id=str(g1.id)) == [a.id, b.id]
    assert ids(staff_id=str(leader.id)) == [a.id]
    assert ids(participant_id=str(child.id)) == [c.id, b.id]
    assert ids(current=True) == [a.id, *same_day]
    assert ids(current=False) == [c.id]
    assert ids(role="admin") == [a.id]
    assert ids(group_id=str(g2.id), current=True) == [d.id]
    page = client.get(URL, params={"limit": 2, "offset": 1}, headers=coordinator.headers).json()
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    assert [uuid.UUID(m["id"]) for m in page["items"]] == [a.id, same_day[0]]
    assert client.get(URL, params={"role": "owner"}, headers=coordinator.headers).status_code == 422


def test_staff_read_only_memberships_of_their_groups(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    assert staff_actor.staff is not None
    mine, other, former = make_group(session), make_group(session), make_group(session)
    own = make_membership(session, mine, staff=staff_actor.staff)
    make_membership(session, former, staff=staff_actor.staff, ended_on=TODAY - timedelta(days=1))
    child_in_mine = make_membership(session, mine, participant=make_participant(session))
    hidden = make_membership(session, other, participant=make_participant(session))
    hidden_former = make_membership(session, former, participant=make_participant(session))

    page = client.get(URL, headers=staff_actor.headers).json()
    assert page["total"] == 2
    assert {m["id"] for m in page["items"]} == {str(own.id), str(child_in_mine.id)}
    assert (
        client.get(URL, params={"group_id": str(other.id)}, headers=staff_actor.headers).json()["total"] == 0
    )
    assert client.get(f"{URL}/{child_in_mine.id}", headers=staff_actor.headers).status_code == 200
    for m in (hidden, hidden_former):
        assert client.get(f"{URL}/{m.id}", headers=staff_actor.headers).status_code == 404


def test_staff_who_admin_a_group_manage_its_members(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    group = make_group_joined_by(session, staff_actor, MemberRole.admin)
    # An admin does not bring a child into a group, even one they reach through another group: who sees a
    # child is the coordinator's decision. The child's answer is 403 (they can see the child), not 422.
    other = make_group_joined_by(session, staff_actor)
    child = make_participant(session)
    make_membership(session, other, participant=child)
    r = client.post(URL, json=body(group, participant_id=str(child.id)), headers=staff_actor.headers)
    assert r.status_code == 403, r.text
    assert "coordinator" in r.json()["detail"]
    # A colleague, though, they add, promote and remove.
    colleague = make_staff(session)
    r = client.post(URL, json=body(group, staff_id=str(colleague.id)), headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    assert (
        client.patch(f"{URL}/{mid}", json={"role": "admin"}, headers=staff_actor.headers).status_code == 200
    )
    r = end_membership(client, staff_actor, mid, ended_on=str(TODAY))
    assert r.status_code == 200, r.text
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "membership.end")).one()
    assert event.actor_id == staff_actor.user.id  # type: ignore[union-attr]


def test_staff_who_are_members_but_not_admins_get_403(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    group = make_group_joined_by(session, staff_actor, MemberRole.member)
    existing = make_membership(session, group, participant=make_participant(session))
    r = client.post(
        URL, json=body(group, participant_id=str(make_participant(session).id)), headers=staff_actor.headers
    )
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    assert (
        client.patch(f"{URL}/{existing.id}", json={"role": "admin"}, headers=staff_actor.headers).status_code
        == 403
    )
    r = end_membership(client, staff_actor, existing.id, ended_on=str(TODAY))
    assert r.status_code == 403
    session.refresh(existing)
    assert (existing.role, existing.ended_on) == (MemberRole.member, None)


def test_staff_outside_a_group_get_404(client: TestClient, staff_actor: Actor, session: Session) -> None:
    # An admin whose own membership has ended no longer manages the group.
    group = make_group_joined_by(
        session,
        staff_actor,
        MemberRole.admin,
        ended_on=TODAY - timedelta(days=1),
        started_on=TODAY - timedelta(days=90),
    )
    existing = make_membership(session, group, participant=make_participant(session))
    child = make_participant(session)
    for group_id in (group.id, uuid.uuid4()):  # a group out of reach and one that does not exist look alike
        r = client.post(
            URL,
            json={**body(group, participant_id=str(child.id)), "group_id": str(group_id)},
            headers=staff_actor.headers,
        )
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [
            {"field": "group_id", "message": f"No group with id {group_id}", "type": "value_error"}
        ]
    assert (
        client.patch(f"{URL}/{existing.id}", json={"role": "admin"}, headers=staff_actor.headers).status_code
        == 404
    )
    r = end_membership(client, staff_actor, existing.id, ended_on=str(TODAY))
    assert r.status_code == 404


def test_trustees_and_keys_have_no_membership_access(
    client: TestClient, trustee: Actor, integration: Actor, session: Session
) -> None:
    m = make_membership(session, make_group(session), participant=make_participant(session))
    for caller in (trustee, integration):
        assert client.get(URL, headers=caller.headers).status_code == 403
        assert client.get(f"{URL}/{m.id}", headers=caller.headers).status_code == 403
        r = end_membership(client, caller, m.id, ended_on=str(TODAY))
        assert r.status_code == 403
