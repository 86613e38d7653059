"""Rosters: upload (JSON and CSV), reconciliation, reading back, resolution and apply."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.auth.roles import ApiKeyScope, Role
from api.groups.models import Group, Platform
from api.identities.models import PlatformIdentity
from api.identities.normalise import IdentityKind, handle_key
from api.memberships.models import MemberRole
from api.participants.models import Participant
from api.rosters.models import GroupRoster, RosterEntry
from api.staff.models import Staff
from tests.factories import (
    TODAY,
    Actor,
    make_actor,
    make_api_key,
    make_group,
    make_membership,
    make_participant,
    make_staff,
)


def url(group: Group) -> str:
    return f"/api/v1/groups/{group.id}/rosters"


def handle(session: Session, person: Staff | Participant, value: str, platform: Platform) -> None:
    staff = isinstance(person, Staff)
    session.add(
        PlatformIdentity(
            staff_id=person.id if staff else None,
            participant_id=None if staff else person.id,
            platform=platform,
            kind=IdentityKind.handle,
            value=value,
            match_key=handle_key(value) or "",
        )
    )
    session.commit()


class World:
    def __init__(self, session: Session) -> None:
        self.group = make_group(session, platform=Platform.discord, min_age=11, max_age=18)
        self.admin = make_staff(session, full_name="Priya Raman")
        self.tutor = make_staff(session, full_name="Tom Ellis", personal_phone="+447700900555")
        self.gone = make_staff(session, full_name="Grace Lindqvist", left_on=TODAY - timedelta(days=30))
        self.maya = make_participant(
            session, full_name="Maya Okafor", date_of_birth=TODAY - timedelta(days=14 * 365)
        )
        self.kit = make_participant(
            session, full_name="Kit Fairbrook", date_of_birth=TODAY - timedelta(days=15 * 365)
        )
        self.old = make_participant(
            session, full_name="Sam Older", date_of_birth=TODAY - timedelta(days=25 * 365)
        )
        self.absent = make_participant(
            session, full_name="Zoë Absent", date_of_birth=TODAY - timedelta(days=13 * 365)
        )
        for staff, role in (
            (self.admin, MemberRole.admin),
            (self.gone, MemberRole.member),
            (self.tutor, MemberRole.admin),
        ):
            make_membership(session, self.group, staff=staff, role=role)
        for child in (self.maya, self.old, self.absent):
            make_membership(session, self.group, participant=child)
        handle(session, self.maya, "https://discord.com/users/4242", Platform.discord)
        handle(session, self.kit, "kit_f", Platform.whatsapp)  # another platform's handle: no match

    def entries(self) -> list[dict[str, Any]]:
        return [
            {"display_name": "Priya", "email": self.admin.email.upper(), "platform_role": "admin"},
            {"display_name": "Tom", "phone": "07700 900555", "platform_role": "member"},
            {"display_name": "Grace L", "handle": "gl", "email": self.gone.email},
            {"display_name": "mayaaa", "handle": "4242"},
            {"display_name": "FAIRBROOK, Kit", "handle": "kit_f"},
            {"display_name": "Sam Older"},
            {"display_name": "DJ Stranger", "handle": "dj_stranger_99", "platform_role": "moderator"},
        ]


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def test_each_entry_is_matched_and_each_discrepancy_named(
    client: TestClient, coordinator: Actor, world: World
) -> None:
    r = client.post(url(world.group), json={"entries": world.entries()}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    got = [(e["match"], e["matched_by"], e["person"] and e["person"]["label"]) for e in body["entries"]]
    assert got == [
        ("certain", "email", "Priya Raman"),
        ("certain", "phone", "Tom Ellis"),
        ("certain", "email", "Grace Lindqvist"),
        ("certain", "handle", "Maya Okafor"),
        ("probable", "name", "Kit Fairbrook"),
        ("probable", "name", "Sam Older"),
        ("unknown", None, None),
    ]
    assert body["counts"] | {"discrepancies": None} == {
        "entries": 7,
        "certain": 4,
        "probable": 2,
        "unknown": 1,
        "open_unknown": 1,
        "open_probable": 2,
        "discrepancies": None,
    }
    kinds = sorted((d["kind"], d["person"] and d["person"]["label"]) for d in body["discrepancies"])
    assert kinds == [
        ("admin_not_on_platform", "Tom Ellis"),
        ("admin_not_staff", None),
        ("departed_staff", "Grace Lindqvist"),
        ("not_on_platform", "Zoë Absent"),
        ("probable_match", "Kit Fairbrook"),
        ("probable_match", "Sam Older"),
        ("unknown_person", None),
    ]
    assert all(d["action"] for d in body["discrepancies"])
    again = client.get(f"{url(world.group)}/{body['id']}", headers=coordinator.headers)
    assert again.status_code == 200
    assert again.json() == body
    assert again.headers["etag"] == '"1"'


CSV_HEADER = "Display Name,Username,E-mail,Phone Number,Role,Date Joined\n"


def _count(session: Session) -> tuple[int, int]:
    return (
        session.exec(select(func.count()).select_from(GroupRoster)).one(),
        session.exec(select(func.count()).select_from(RosterEntry)).one(),
    )


def test_a_csv_is_read_with_its_column_names_folded(
    client: TestClient, coordinator: Actor, world: World
) -> None:
    body = (
        CSV_HEADER
        + f'"Raman, Priya",,{world.admin.email},,Owner,01/09/2025\n\nMaya,4242,,,member,2025-09-08\n'
    )
    r = client.post(
        url(world.group), content=body, headers={**coordinator.headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 201, r.text
    entries = r.json()["entries"]
    assert [(e["row"], e["platform_role"], e["joined_on"], e["match"]) for e in entries] == [
        (2, "admin", "2025-09-01", "certain"),
        (4, "member", "2025-09-08", "certain"),
    ]


@pytest.mark.parametrize(
    ("csv", "field"),
    [
        ("Role,Date Joined\nmember,2025-01-01\n", "rows.1.display_name"),  # no column says who
        (CSV_HEADER + "Ann,,,,member,2025-13-01\n", "rows.2.joined_on"),
        (CSV_HEADER + "Ann,,,,member,2025-01-01\nBen,ben\n", "rows.3.email"),  # a row missing columns
        (CSV_HEADER + "Ann,,,,chief,\n", "rows.2.platform_role"),
        ("Name,Favourite colour\nAnn,blue\n", "rows.1.Favourite colour"),
        (CSV_HEADER + "".join(f"P{i},,,,member,\n" for i in range(5001)), "rows.5002.display_name"),
    ],
    ids=["missing column", "bad date", "short row", "bad role", "unknown column", "5001 rows"],
)
def test_a_malformed_csv_is_a_422_naming_row_and_column_and_stores_nothing(
    client: TestClient, session: Session, coordinator: Actor, world: World, csv: str, field: str
) -> None:
    before = _count(session)
    r = client.post(
        url(world.group), content=csv, headers={**coordinator.headers, "Content-Type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == [field]
    row, column = field.split(".", 2)[1:]
    assert f"row {row}, column {column}" in r.json()["detail"]
    assert _count(session) == before


def test_a_malformed_json_list_names_the_entry(client: TestClient, coordinator: Actor, world: World) -> None:
    bad = {"entries": [{"display_name": "Ann"}, {"display_name": "Ben", "joined_on": "yesterday"}]}
    r = client.post(url(world.group), json=bad, headers=coordinator.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "entries.1.joined_on"
    r = client.post(
        url(world.group), json={"entries": [{"platform_role": "admin"}]}, headers=coordinator.headers
    )
    assert r.json()["errors"][0]["field"] == "entries.0.display_name"
    r = client.post(
        url(world.group), content="<xml/>", headers={**coordinator.headers, "Content-Type": "text/xml"}
    )
    assert r.status_code == 415


def test_who_may_upload_and_what_each_reads_back(client: TestClient, session: Session, world: World) -> None:
    admin = make_actor(session, Role.staff)
    member = make_actor(session, Role.staff)
    outsider = make_actor(session, Role.staff)
    trustee = make_actor(session, Role.trustee)
    assert admin.staff
    assert member.staff
    make_membership(session, world.group, staff=admin.staff, role=MemberRole.admin)
    make_membership(session, world.group, staff=member.staff)
    body = {"entries": world.entries()}
    assert client.post(url(world.group), json=body, headers=member.headers).status_code == 403
    assert client.post(url(world.group), json=body, headers=outsider.headers).status_code == 404
    assert client.post(url(world.group), json=body, headers=trustee.headers).status_code == 403
    r = client.post(url(world.group), json=body, headers=admin.headers)
    assert r.status_code == 201, r.text
    roster = r.json()["id"]
    # A platform connector's key uploads and gets a receipt, never the entries.
    key = make_api_key(session, (ApiKeyScope.sync_write,))
    r = client.post(url(world.group), json=body, headers=key.headers)
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"id", "version", "status"}
    # Read back: the members of the group see it, trustees the counts only, outsiders nothing.
    one = f"{url(world.group)}/{roster}"
    assert client.get(one, headers=member.headers).json()["entries"] is not None
    counted = client.get(one, headers=trustee.headers).json()
    assert counted["entries"] is None
    assert counted["discrepancies"] is None
    assert counted["counts"]["discrepancies"]["unknown_person"] == 1
    assert "Maya" not in str(counted)
    assert client.get(one, headers=outsider.headers).status_code == 404
    assert client.get(url(world.group), headers=outsider.headers).status_code == 404
    assert client.get(url(world.group), headers=trustee.headers).json()["total"] == 2
