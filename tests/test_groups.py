from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.auth.roles import Role
from api.groups.models import Group, GroupStatus, Platform, RiskAssessment, Visibility
from api.memberships.models import MemberRole, Membership
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor
from tests.kit.clock import TODAY
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import created_body, paged, request_body
from tests.kit.staff import make_staff
from tests.kit.statements import count_statements

URL = "/api/v1/groups"


body = request_body(
    {
        "name": "Samba Band 2025",
        "platform": "facebook_group",
        "project": "Samba Band",
        "url": "https://example.org/groups/samba",
        "visibility": "closed",
        "join_approval": "admins_only",
        "min_age": 13,
        "max_age": 19,
        "shares_images": True,
        "started_on": str(TODAY - timedelta(days=10)),
    }
)


def audit_actions(session: Session, entity_id: uuid.UUID) -> list[str]:
    events = session.exec(
        select(AuditEvent).where(AuditEvent.entity_id == entity_id).order_by(col(AuditEvent.occurred_at))
    ).all()
    return [e.action for e in events]


# --- create -----------------------------------------------------------------------------------------------


def test_coordinator_creates_a_group_without_joining_it(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    created = created_body(client.post(URL, json=body(), headers=coordinator.headers))
    assert created["status"] == "active"
    assert created["archived_on"] is None
    assert created["member_count"] == 0
    assert created["version"] == 1
    group_id = uuid.UUID(created["id"])
    assert session.exec(select(Membership).where(Membership.group_id == group_id)).all() == []
    assert audit_actions(session, group_id) == ["group.create"]
    assert client.get(f"{URL}/{group_id}", headers=coordinator.headers).json() == created


def test_staff_who_create_a_group_become_its_admin(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    r = client.post(URL, json=body(), headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    assert r.json()["member_count"] == 1
    group_id = uuid.UUID(r.json()["id"])
    membership = session.exec(select(Membership).where(Membership.group_id == group_id)).one()
    assert membership.staff_id == staff_actor.staff.id  # type: ignore[union-attr]
    assert membership.role is MemberRole.admin
    assert membership.started_on == TODAY - timedelta(days=10)  # the group's started_on
    assert membership.ended_on is None
    assert audit_actions(session, membership.id) == ["membership.create"]
    # The new admin sees their group at once, and may record for it.
    listed = client.get(URL, headers=staff_actor.headers).json()
    assert [g["id"] for g in listed["items"]] == [str(group_id)]
    review = {"reviewed_on": str(TODAY), "reviewed_by_id": str(staff_actor.staff.id)}  # type: ignore[union-attr]
    assert (
        client.post(f"{URL}/{group_id}/reviews", json=review, headers=staff_actor.headers).status_code == 201
    )


def test_staff_can_risk_assess_a_group_they_create_before_it_starts(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    # The policy: tools are "risk assessed in advance by the member of staff wishing to use them".
    r = client.post(URL, json=body(started_on=str(TODAY + timedelta(days=30))), headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    group_id = r.json()["id"]
    membership = session.exec(select(Membership).where(Membership.group_id == uuid.UUID(group_id))).one()
    assert membership.started_on == TODAY  # admin from creation, not from the start date
    assert client.get(f"{URL}/{group_id}", headers=staff_actor.headers).status_code == 200
    assessment = {
        "assessed_on": str(TODAY),
        "assessed_by_id": str(staff_actor.staff.id),  # type: ignore[union-attr]
        "risks": "Strangers joining",
        "mitigations": "Closed group; admins approve members",
        "privacy_features_checked": True,
    }
    created = client.post(f"{URL}/{group_id}/risk-assessments", json=assessment, headers=staff_actor.headers)
    assert created.status_code == 201, created.text


def test_create_rejects_bad_input_naming_the_field(client: TestClient, coordinator: Actor) -> None:
    r = client.post(URL, json=body(min_age=16, max_age=12), headers=coordinator.headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["max_age"]
    r = client.post(URL, json=body(platform="myspace", visibility=None, extra=1), headers=coordinator.headers)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"platform", "visibility", "extra"}
    r = client.post(URL, json=body(name=""), headers=coordinator.headers)
    assert [e["field"] for e in r.json()["errors"]] == ["name"]


def test_failed_create_writes_nothing(client: TestClient, staff_actor: Actor, session: Session) -> None:
    r = client.post(URL, json=body(min_age=16, max_age=12), headers=staff_actor.headers)
    assert r.status_code == 422
    assert session.exec(select(Group)).all() == []
    assert session.exec(select(Membership)).all() == []


# --- read and list ----------------------------------------------------------------------------------------


def test_unknown_group_is_404(client: TestClient, coordinator: Actor) -> None:
    missing = uuid.uuid4()
    for path in ("", "/risk-assessments", "/reviews"):
        r = client.get(f"{URL}/{missing}{path}", headers=coordinator.headers)
        assert r.status_code == 404, path
        assert r.json()["code"] == "not_found"
    assert client.get(f"{URL}/not-a-uuid", headers=coordinator.headers).status_code == 422


def test_list_orders_by_name_and_pages(client: TestClient, coordinator: Actor, session: Session) -> None:
    for name in ("Delta", "Alpha", "Echo", "Charlie", "Bravo"):
        make_group(session, name=name)
    page = paged(client, URL, coordinator.headers, limit=2, offset=1)
    assert page["total"] == 5
    assert [g["name"] for g in page["items"]] == ["Bravo", "Charlie"]
    assert client.get(URL, params={"status": "deleted"}, headers=coordinator.headers).status_code == 422


def test_list_filters(client: TestClient, coordinator: Actor, session: Session) -> None:
    make_group(session, name="Beats Discord", platform=Platform.discord, project="Beats")
    make_group(session, name="Beats Facebook", platform=Platform.facebook_group, project="Beats")
    make_group(session, name="Choir WhatsApp", platform=Platform.whatsapp, visibility=Visibility.secret)
    make_group(
        session,
        name="Old Choir",
        project="Choir",
        status=GroupStatus.archived,
        archived_on=TODAY - timedelta(days=1),
    )
    make_group(session, name="100% Rap", project="Rap")
    make_group(session, name="1000 Rap", project="Rap")

    def names(**params: str) -> list[str]:
        r = client.get(URL, params=params, headers=coordinator.headers)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [g["name"] for g in r.json()["items"]]

    assert names(platform="discord") == ["Beats Discord"]
    assert names(status="archived") == ["Old Choir"]
    assert len(names(status="active")) == 5
    assert names(visibility="secret") == ["Choir WhatsApp"]
    assert names(project="Beats") == ["Beats Discord", "Beats Facebook"]
    assert names(q="CHOIR") == ["Choir WhatsApp", "Old Choir"]
    assert names(q="choir", status="active") == ["Choir WhatsApp"]
    # LIKE wildcards in q are matched literally.
    assert names(q="0%") == ["100% Rap"]
    assert names(q="_") == []


def test_member_count_counts_current_staff_and_participants(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session)
    make_membership(session, group, staff=make_staff(session), role=MemberRole.admin)
    make_membership(session, group, participant=make_participant(session))
    make_membership(session, group, participant=make_participant(session), ended_on=TODAY)  # ended today
    make_membership(
        session, group, participant=make_participant(session), started_on=TODAY + timedelta(days=3)
    )
    other = make_group(session)
    make_membership(session, other, participant=make_participant(session))
    assert client.get(f"{URL}/{group.id}", headers=coordinator.headers).json()["member_count"] == 2
    listed = {
        g["id"]: g["member_count"] for g in client.get(URL, headers=coordinator.headers).json()["items"]
    }
    assert listed == {str(group.id): 2, str(other.id): 1}


def test_listing_costs_the_same_statements_for_3_or_30_groups(
    client: TestClient, coordinator: Actor, session: Session, connection: Connection
) -> None:
    def statements_for_listing() -> int:
        with count_statements(connection, savepoints=True) as statements:
            r = client.get(URL, params={"limit": 200}, headers=coordinator.headers)
        assert r.status_code == 200
        assert all(g["member_count"] == 2 for g in r.json()["items"])
        return len(statements)

    def add_groups(n: int) -> None:
        for _ in range(n):
            group = make_group(session)
            make_membership(session, group, staff=make_staff(session), role=MemberRole.admin)
            make_membership(session, group, participant=make_participant(session))

    add_groups(3)
    with_3 = statements_for_listing()
    add_groups(27)
    with_30 = statements_for_listing()
    assert client.get(URL, headers=coordinator.headers).json()["total"] == 30
    assert with_3 == with_30


# --- staff reach ------------------------------------------------------------------------------------------


def test_staff_see_only_the_groups_they_are_currently_in(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    me = staff_actor.staff
    assert me is not None
    mine = make_group(session, name="B mine")
    make_membership(session, mine, staff=me)
    left = make_group(session, name="A left")
    make_membership(session, left, staff=me, ended_on=TODAY - timedelta(days=1))
    later = make_group(session, name="C later")
    make_membership(session, later, staff=me, started_on=TODAY + timedelta(days=1))
    others = make_group(session, name="D others")
    make_membership(session, others, staff=make_staff(session), role=MemberRole.admin)

    page = client.get(URL, headers=staff_actor.headers).json()
    assert page["total"] == 1
    assert [g["id"] for g in page["items"]] == [str(mine.id)]
    assert client.get(f"{URL}/{mine.id}", headers=staff_actor.headers).status_code == 200
    for group in (left, later, others):
        for path in ("", "/risk-assessments", "/reviews"):
            r = client.get(f"{URL}/{group.id}{path}", headers=staff_actor.headers)
            assert r.status_code == 404, (group.name, path)
        review = {"reviewed_on": str(TODAY), "reviewed_by_id": str(me.id)}
        assert (
            client.post(f"{URL}/{group.id}/reviews", json=review, headers=staff_actor.headers).status_code
            == 404
        )


def test_trustees_read_groups_and_records_without_participant_details(
    client: TestClient, trustee: Actor, session: Session
) -> None:
    group = make_group(session)
    make_membership(
        session, group, participant=make_participant(session, full_name="Zainab Okafor-Llewellyn")
    )
    assessor = make_staff(session)
    session.add(
        RiskAssessment(
            group_id=group.id,
            assessed_on=TODAY,
            assessed_by_id=assessor.id,
            risks="Strangers joining",
            mitigations="Admins approve",
        )
    )
    session.commit()
    responses = [
        client.get(URL, headers=trustee.headers),
        client.get(f"{URL}/{group.id}", headers=trustee.headers),
        client.get(f"{URL}/{group.id}/risk-assessments", headers=trustee.headers),
        client.get(f"{URL}/{group.id}/reviews", headers=trustee.headers),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200]
    assert responses[1].json()["member_count"] == 1
    assert responses[2].json()["total"] == 1
    for r in responses:
        assert "Zainab" not in r.text


# --- update -----------------------------------------------------------------------------------------------


def test_update_changes_the_fields_sent_and_audits(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session, name="Old name")
    r = client.patch(
        f"{URL}/{group.id}", json={"name": "New name", "visibility": "secret"}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["visibility"], r.json()["platform"]) == (
        "New name",
        "secret",
        "facebook_group",
    )
    assert r.json()["version"] == 2
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "group.update")).one()
    assert event.changes == {
        "name": {"before": "Old name", "after": "New name"},
        "visibility": {"before": "closed", "after": "secret"},
    }


def test_update_checks_the_age_range_on_the_merged_record(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session, min_age=11, max_age=18)
    r = client.patch(f"{URL}/{group.id}", json={"max_age": 10}, headers=coordinator.headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["max_age"]
    r = client.patch(f"{URL}/{group.id}", json={"min_age": 19}, headers=coordinator.headers)
    assert [e["field"] for e in r.json()["errors"]] == ["max_age"]
    # Nothing from a failed request is written, even by a later successful one.
    r = client.patch(f"{URL}/{group.id}", json={"project": "Strings"}, headers=coordinator.headers)
    assert (r.json()["min_age"], r.json()["max_age"], r.json()["version"]) == (11, 18, 2)
    assert (
        client.patch(f"{URL}/{group.id}", json={"min_age": None}, headers=coordinator.headers).json()[
            "min_age"
        ]
        is None
    )


def test_update_rejects_nulls_and_unknown_fields(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session)
    for field in ("name", "platform", "started_on"):
        r = client.patch(f"{URL}/{group.id}", json={field: None}, headers=coordinator.headers)
        assert r.status_code == 422, field
        assert r.json()["errors"][0]["field"] == field
    r = client.patch(f"{URL}/{group.id}", json={"status": "archived"}, headers=coordinator.headers)
    assert r.status_code == 422  # archiving has its own route, which ends the memberships
    assert client.get(f"{URL}/{group.id}", headers=coordinator.headers).json()["version"] == 1


def test_an_archived_group_cannot_be_changed(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(
        session, status=GroupStatus.archived, archived_on=TODAY - timedelta(days=2), name="Kept"
    )
    r = client.patch(f"{URL}/{group.id}", json={"name": "Changed"}, headers=coordinator.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    assert client.get(f"{URL}/{group.id}", headers=coordinator.headers).json()["name"] == "Kept"


def test_staff_cannot_update_even_their_own_group(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    group = make_group(session)
    make_membership(session, group, staff=staff_actor.staff, role=MemberRole.admin)
    r = client.patch(f"{URL}/{group.id}", json={"name": "Mine now"}, headers=staff_actor.headers)
    assert r.status_code == 403
    r = client.post(
        f"{URL}/{group.id}/archive", json={"archived_on": str(TODAY)}, headers=staff_actor.headers
    )
    assert r.status_code == 403


# --- archive ----------------------------------------------------------------------------------------------


def test_archive_ends_every_current_membership(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session)
    admin = make_membership(session, group, staff=make_staff(session), role=MemberRole.admin)
    child = make_membership(session, group, participant=make_participant(session))
    planned_end = make_membership(
        session, group, participant=make_participant(session), ended_on=TODAY + timedelta(5)
    )
    long_gone = make_membership(
        session, group, participant=make_participant(session), ended_on=TODAY - timedelta(30)
    )
    upcoming = make_membership(
        session, group, participant=make_participant(session), started_on=TODAY + timedelta(7)
    )
    other_group = make_group(session)
    elsewhere = make_membership(session, other_group, participant=make_participant(session))

    archived_on = TODAY - timedelta(days=1)
    r = client.post(
        f"{URL}/{group.id}/archive", json={"archived_on": str(archived_on)}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["archived_on"], r.json()["member_count"]) == (
        "archived",
        str(archived_on),
        0,
    )
    assert r.json()["version"] == 2

    for m in (admin, child, planned_end, long_gone, upcoming, elsewhere):
        session.refresh(m)
    for m in (admin, child, planned_end):
        assert (m.ended_on, m.end_reason) == (archived_on, "group archived")
        assert audit_actions(session, m.id) == ["membership.end"]
    # One not yet begun ends the day it would have started: it never holds, and never ends before it began.
    assert (upcoming.ended_on, upcoming.end_reason) == (upcoming.started_on, "group archived")
    assert (long_gone.ended_on, long_gone.end_reason) == (TODAY - timedelta(days=30), None)
    assert (elsewhere.ended_on, elsewhere.end_reason) == (None, None)
    assert audit_actions(session, group.id) == ["group.archive"]
    # Nothing is deleted: the group and every membership row are still there.
    assert len(session.exec(select(Membership).where(Membership.group_id == group.id)).all()) == 5
    assert client.get(URL, params={"status": "archived"}, headers=coordinator.headers).json()["total"] == 1


def test_archiving_twice_is_409(client: TestClient, coordinator: Actor, session: Session) -> None:
    group = make_group(session)
    payload = {"archived_on": str(TODAY)}
    assert (
        client.post(f"{URL}/{group.id}/archive", json=payload, headers=coordinator.headers).status_code == 200
    )
    r = client.post(f"{URL}/{group.id}/archive", json=payload, headers=coordinator.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    assert audit_actions(session, group.id) == ["group.archive"]


def test_archive_date_must_be_in_range(client: TestClient, coordinator: Actor, session: Session) -> None:
    group = make_group(session, started_on=TODAY - timedelta(days=10))
    member = make_membership(session, group, participant=make_participant(session))
    for archived_on in (TODAY - timedelta(days=11), TODAY + timedelta(days=1)):
        r = client.post(
            f"{URL}/{group.id}/archive", json={"archived_on": str(archived_on)}, headers=coordinator.headers
        )
        assert r.status_code == 422, archived_on
        assert [e["field"] for e in r.json()["errors"]] == ["archived_on"]
    assert client.post(f"{URL}/{group.id}/archive", json={}, headers=coordinator.headers).status_code == 422
    got = client.get(f"{URL}/{group.id}", headers=coordinator.headers).json()
    assert (got["status"], got["member_count"]) == ("active", 1)
    session.refresh(member)
    assert member.ended_on is None


# --- risk assessments and reviews -------------------------------------------------------------------------


def assessment(assessed_by: Staff, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "assessed_on": str(TODAY - timedelta(days=1)),
        "assessed_by_id": str(assessed_by.id),
        "risks": "Unknown adults requesting to join",
        "mitigations": "Closed group; only admins approve members",
        "privacy_features_checked": True,
    }
    data.update(overrides)
    return data


def test_coordinator_records_and_lists_risk_assessments_newest_first(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session)
    assessor = make_staff(session)
    url = f"{URL}/{group.id}/risk-assessments"
    ids = []
    for days_ago in (30, 2, 400):
        r = client.post(
            url,
            json=assessment(assessor, assessed_on=str(TODAY - timedelta(days=days_ago))),
            headers=coordinator.headers,
        )
        assert r.status_code == 201, r.text
        assert r.json()["group_id"] == str(group.id)
        ids.append(r.json()["id"])
    assert audit_actions(session, uuid.UUID(ids[0])) == ["risk_assessment.create"]
    page = client.get(url, headers=coordinator.headers).json()
    assert page["total"] == 3
    assert [a["id"] for a in page["items"]] == [ids[1], ids[0], ids[2]]
    second = client.get(url, params={"limit": 1, "offset": 1}, headers=coordinator.headers).json()
    assert [a["id"] for a in second["items"]] == [ids[0]]


def test_coordinator_records_and_lists_reviews_newest_first(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session)
    reviewer = make_staff(session)
    url = f"{URL}/{group.id}/reviews"
    for days_ago, notes in ((90, "first"), (0, "latest"), (45, None)):
        payload = {"reviewed_on": str(TODAY - timedelta(days=days_ago)), "reviewed_by_id": str(reviewer.id)}
        if notes:
            payload["notes"] = notes
        assert client.post(url, json=payload, headers=coordinator.headers).status_code == 201
    page = client.get(url, headers=coordinator.headers).json()
    assert page["total"] == 3
    assert [r["reviewed_on"] for r in page["items"]] == [
        str(TODAY),
        str(TODAY - timedelta(days=45)),
        str(TODAY - timedelta(days=90)),
    ]
    assert page["items"][0]["notes"] == "latest"
    assert page["items"][0]["reviewed_by_id"] == str(reviewer.id)


def test_record_rejects_unknown_staff_and_future_dates(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session)
    assessor = make_staff(session)
    cases = [
        ("risk-assessments", assessment(assessor, assessed_by_id=str(uuid.uuid4())), "assessed_by_id"),
        ("risk-assessments", assessment(assessor, assessed_on=str(TODAY + timedelta(1))), "assessed_on"),
        ("risk-assessments", assessment(assessor, risks=""), "risks"),
        ("reviews", {"reviewed_on": str(TODAY), "reviewed_by_id": str(uuid.uuid4())}, "reviewed_by_id"),
        (
            "reviews",
            {"reviewed_on": str(TODAY + timedelta(1)), "reviewed_by_id": str(assessor.id)},
            "reviewed_on",
        ),
        ("reviews", {"reviewed_on": str(TODAY), "reviewed_by_id": str(assessor.id), "score": 5}, "score"),
    ]
    for path, payload, field in cases:
        r = client.post(f"{URL}/{group.id}/{path}", json=payload, headers=coordinator.headers)
        assert r.status_code == 422, (path, field)
        assert [e["field"] for e in r.json()["errors"]] == [field]
    for path in ("risk-assessments", "reviews"):
        assert client.get(f"{URL}/{group.id}/{path}", headers=coordinator.headers).json()["total"] == 0


def test_staff_record_only_for_groups_they_admin(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    me = staff_actor.staff
    assert me is not None
    admined = make_group(session)
    make_membership(session, admined, staff=me, role=MemberRole.admin)
    joined = make_group(session)
    make_membership(session, joined, staff=me, role=MemberRole.member)
    no_longer_admin = make_group(session)
    make_membership(session, no_longer_admin, staff=me, role=MemberRole.admin, ended_on=TODAY)
    make_membership(session, no_longer_admin, staff=me, role=MemberRole.member, started_on=TODAY)
    review = {"reviewed_on": str(TODAY), "reviewed_by_id": str(me.id)}

    assert (
        client.post(
            f"{URL}/{admined.id}/risk-assessments", json=assessment(me), headers=staff_actor.headers
        ).status_code
        == 201
    )
    assert (
        client.post(f"{URL}/{admined.id}/reviews", json=review, headers=staff_actor.headers).status_code
        == 201
    )
    for group in (joined, no_longer_admin):
        # They can see the group and read its records, but not add to them.
        assert client.get(f"{URL}/{group.id}/reviews", headers=staff_actor.headers).status_code == 200
        r = client.post(
            f"{URL}/{group.id}/risk-assessments", json=assessment(me), headers=staff_actor.headers
        )
        assert r.status_code == 403
        assert r.json()["code"] == "forbidden"
        assert (
            client.post(f"{URL}/{group.id}/reviews", json=review, headers=staff_actor.headers).status_code
            == 403
        )
    assert client.get(f"{URL}/{joined.id}/risk-assessments", headers=staff_actor.headers).json()["total"] == 0


def test_staff_who_are_not_admins_get_403_before_their_input_is_checked(
    client: TestClient, session: Session
) -> None:
    member = make_actor(session, Role.staff)
    group = make_group(session)
    make_membership(session, group, staff=member.staff, role=MemberRole.member)
    r = client.post(
        f"{URL}/{group.id}/reviews",
        json={"reviewed_on": str(TODAY), "reviewed_by_id": str(uuid.uuid4())},
        headers=member.headers,
    )
    assert r.status_code == 403


def test_records_cannot_be_changed_or_deleted(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session)
    assessor = make_staff(session)
    ra = client.post(
        f"{URL}/{group.id}/risk-assessments", json=assessment(assessor), headers=coordinator.headers
    ).json()
    for method in ("PATCH", "PUT", "DELETE"):
        r = client.request(
            method, f"{URL}/{group.id}/risk-assessments/{ra['id']}", headers=coordinator.headers
        )
        assert r.status_code in (404, 405), method
        assert (
            client.request(
                method, f"{URL}/{group.id}/risk-assessments", headers=coordinator.headers
            ).status_code
            == 405
        )
        assert (
            client.request(method, f"{URL}/{group.id}/reviews", headers=coordinator.headers).status_code
            == 405
        )
    assert client.delete(f"{URL}/{group.id}", headers=coordinator.headers).status_code == 405
    assert client.get(f"{URL}/{group.id}/risk-assessments", headers=coordinator.headers).json()["total"] == 1
