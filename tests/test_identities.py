"""Platform identities: normalised for matching, read and written within the person's reach."""

from __future__ import annotations

import unicodedata

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api import clock
from api.audit.models import AuditEvent
from api.auth.roles import ApiKeyScope, Role
from api.identities.normalise import email_key, handle_key, name_key, phone_key
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field
from tests.kit.staff import make_staff

URL = "/api/v1/identities"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.facebook.com/profile.php?id=100012345&ref=bookmarks", "100012345"),
        ("http://m.facebook.com/Maya.Okafor/", "maya.okafor"),
        ("facebook.com/people/Maya-Okafor/100099", "100099"),
        ("https://www.instagram.com/Beat_Maker/?hl=en", "@beat_maker"),
        ("https://discord.com/users/81234567", "81234567"),
        ("ＺＯË_Ng", "zoë_ng"),  # full-width letters and capitals fold away
        ("\u200e@maya.okafor\u200b", "Maya.Okafor"),  # direction marks a copied web page brings along
    ],
)
def test_handles_and_profile_urls_meet_in_one_key(a: str, b: str) -> None:
    assert handle_key(a) == handle_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("m\u0430ya.okafor", "maya.okafor"),  # a Cyrillic "a" (U+0430) that looks like a Latin one
        ("zoë_ng", "zoe_ng"),  # an accent makes another user name
        ("https://www.facebook.com/m\u0430ya.okafor", "maya.okafor"),
    ],
)
def test_a_look_alike_handle_is_another_key(a: str, b: str) -> None:
    # A certain match must not be won by an account whose name only looks like one on record.
    assert handle_key(a) != handle_key(b)


def test_emails_phones_and_names_are_folded() -> None:
    assert email_key(" Zoë.Ng@Example.ORG ") == email_key("zoë.ng@example.org") == "zoë.ng@example.org"
    # Two mailboxes each: an accent, and an internationalised domain with a Cyrillic "a" anyone may register.
    assert email_key("zoë.ng@example.org") != email_key("zoe.ng@example.org")
    assert email_key("maya@ex\u0430mple.org") != email_key("maya@example.org")
    assert email_key("no at sign") is None
    assert phone_key("07700 900123") == phone_key("+44 (0)7700-900-123") == "+447700900123"
    assert phone_key("+1 415 555 2671") == "+14155552671"
    assert name_key("Okafor, Maya") == name_key("MAYA  okafor") == "maya okafor"
    assert name_key("Łukasz Żółć") == name_key("Lukasz Zolc")
    # A name sent decomposed (NFD, as macOS copies text) is the same name, in every script.
    for name in ("Алексей Ёлкин", "Zoë Nguyễn", "Þórður Đorđević", "Ἀλέξιος"):
        assert name_key(unicodedata.normalize("NFD", name)) == name_key(name), name
    assert handle_key("  ") is None


def test_a_member_of_staff_records_their_own_handle_never_a_colleagues(
    client: TestClient, session: Session, staff_actor: Actor
) -> None:
    assert staff_actor.staff is not None
    mine = {"staff_id": str(staff_actor.staff.id), "kind": "handle", "platform": "discord", "value": "@Beat"}
    r = client.post(URL, json=mine, headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    assert r.json()["value"] == "@Beat"
    assert "match_key" not in r.json()
    colleague = make_staff(session)
    theirs = {**mine, "staff_id": str(colleague.id), "value": "other"}
    assert client.post(URL, json=theirs, headers=staff_actor.headers).status_code == 403
    # The audit log says whose and which kind, never the handle.
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "identity.create")).one()
    assert "Beat" not in str(event.changes)


def test_the_same_identity_for_two_people_is_a_409(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    a, b = make_staff(session), make_staff(session)
    body = {"staff_id": str(a.id), "kind": "email", "value": "Band.Lead@Example.org"}
    assert client.post(URL, json=body, headers=coordinator.headers).status_code == 201
    clash = client.post(
        URL,
        json={**body, "staff_id": str(b.id), "value": "band.lead@example.ORG"},
        headers=coordinator.headers,
    )
    assert clash.status_code == 409, clash.text
    assert clash.json()["field"] == "value"
    assert "example" not in clash.json()["detail"].lower()


def test_a_childs_identities_are_read_only_by_those_who_reach_the_child(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    staff = make_actor(session, Role.staff)
    trustee = make_actor(session, Role.trustee)
    assert staff.staff is not None
    group = make_group(session)
    make_membership(session, group, staff=staff.staff)
    inside, outside = make_participant(session), make_participant(session)
    make_membership(session, group, participant=inside)
    for child, phone in ((inside, "07700 900111"), (outside, "07700 900222")):
        body = {"participant_id": str(child.id), "kind": "phone", "value": phone}
        assert client.post(URL, json=body, headers=coordinator.headers).status_code == 201
    seen = client.get(URL, headers=staff.headers).json()
    assert [i["participant_id"] for i in seen["items"]] == [str(inside.id)]
    assert client.get(URL, headers=trustee.headers).json()["total"] == 0
    # A member of staff may not record a child's identity: 403 for a child in reach, 422 for one outside.
    for child, status in ((inside, 403), (outside, 422)):
        body = {"participant_id": str(child.id), "kind": "phone", "value": "07700 900333"}
        assert client.post(URL, json=body, headers=staff.headers).status_code == status


def test_a_write_only_key_gets_a_receipt_and_identities_end(client: TestClient, session: Session) -> None:
    key = make_api_key(session, (ApiKeyScope.sync_write,))
    child = make_participant(session)
    body = {"participant_id": str(child.id), "kind": "handle", "platform": "whatsapp", "value": "kit_f"}
    r = client.post(URL, json=body, headers=key.headers)
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"id", "version", "status"}
    today = clock.today().isoformat()
    ended = client.post(f"{URL}/{r.json()['id']}/end", json={"ended_on": today}, headers=key.headers)
    assert ended.status_code == 200, ended.text
    again = client.post(f"{URL}/{r.json()['id']}/end", json={"ended_on": today}, headers=key.headers)
    assert again.status_code == 409
    # An ended identity frees its value for someone else.
    other = make_participant(session)
    r = client.post(URL, json={**body, "participant_id": str(other.id)}, headers=key.headers)
    assert r.status_code == 201, r.text


def test_a_handle_needs_its_platform(client: TestClient, session: Session, coordinator: Actor) -> None:
    body = {"staff_id": str(make_staff(session).id), "kind": "handle", "value": "someone"}
    r = client.post(URL, json=body, headers=coordinator.headers)
    assert refused_field(r) == "platform"
