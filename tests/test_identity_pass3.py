"""Issue 16 (third review): a group admin's `identified` answer is a claim and no oracle (F2); values that
name nobody have no match key (F3); an identity ends between its recording and today (F7a)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api import clock
from api.auth.roles import Role
from api.groups.models import Group
from api.identities.models import PlatformIdentity
from api.identities.normalise import IdentityKind, handle_key, phone_key, usable
from api.memberships.models import MemberRole
from tests.kit.auth import Actor, make_actor
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import created_body

IDENTITIES = "/api/v1/identities"
CSV = {"Content-Type": "text/csv"}


def rosters(group: Group) -> str:
    return f"/api/v1/groups/{group.id}/rosters"


@pytest.fixture
def coordinator(session: Session) -> Actor:
    return make_actor(session, Role.coordinator, coordinator=True)


def _upload(client: TestClient, group: Group, who: Actor, entries: list[dict[str, str]]) -> dict[str, object]:
    return created_body(client.post(rosters(group), json={"entries": entries}, headers=who.headers))


# --- F2: an admin naming themself learns nothing and records claims -----------------------------------------


def test_an_admin_identifying_themself_answers_alike_and_records_only_claims(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """A child's own address (the child in no group of the admin's) and a free address of the same length:
    the two answers must not differ, and neither value is taken as the admin's."""
    admin = make_actor(session, Role.staff)
    assert admin.staff is not None
    group = make_group(session)
    make_membership(session, group, staff=admin.staff, role=MemberRole.admin)
    child = make_participant(session, personal_email="kid-a@example.org")  # reached by coordinators only
    roster = _upload(
        client,
        group,
        admin,
        [
            {"display_name": "X", "email": "kid-a@example.org"},
            {"display_name": "X", "email": "free1@example.org"},
        ],
    )
    entries = roster["entries"]
    assert isinstance(entries, list)
    answers = []
    for entry in entries:
        r = client.post(
            f"{rosters(group)}/{roster['id']}/entries/{entry['id']}/resolve",
            json={"resolution": "identified", "staff_id": str(admin.staff.id)},
            headers=admin.headers,
        )
        answers.append(r)
    clash, free = answers
    assert clash.status_code == free.status_code == 200, clash.text
    mask = ("id", "row", "email")
    assert {k: v for k, v in clash.json().items() if k not in mask} == {
        k: v for k, v in free.json().items() if k not in mask
    }
    varying = ("etag", "date", "x-request-id")
    assert {k: v for k, v in clash.headers.items() if k not in varying} == {
        k: v for k, v in free.headers.items() if k not in varying
    }
    assert clash.headers["etag"].startswith('"')
    assert free.headers["etag"].startswith('"')
    # Both stored as the admin's unverified claims; neither matches them.
    claims = session.exec(select(PlatformIdentity).where(PlatformIdentity.staff_id == admin.staff.id)).all()
    assert sorted(c.value for c in claims) == ["free1@example.org", "kid-a@example.org"]
    assert all(c.verified_at is None for c in claims)
    later = _upload(
        client,
        group,
        coordinator,
        [
            {"display_name": "Y", "email": "kid-a@example.org"},
            {"display_name": "Z", "email": "free1@example.org"},
        ],
    )
    shown = later["entries"]
    assert isinstance(shown, list)
    assert shown[0]["match"] == "certain"
    assert shown[0]["person"]["id"] == str(child.id)
    assert shown[1]["match"] == "unknown"
    # The coordinator sees the clash when verifying, and verifies the free one, which then matches.
    by_value = {c.value: c for c in claims}
    refused = client.post(
        f"{IDENTITIES}/{by_value['kid-a@example.org'].id}/verify", headers=coordinator.headers
    )
    assert refused.status_code == 409
    assert refused.json()["field"] == "value"
    verified = client.post(
        f"{IDENTITIES}/{by_value['free1@example.org'].id}/verify", headers=coordinator.headers
    )
    assert verified.status_code == 200, verified.text
    again = _upload(client, group, coordinator, [{"display_name": "Z", "email": "free1@example.org"}])
    first = again["entries"][0]  # type: ignore[index]
    assert first["match"] == "certain"
    assert first["person"]["id"] == str(admin.staff.id)


def test_a_coordinator_identifying_records_verified_identities(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group = make_group(session)
    child = make_participant(session)
    make_membership(session, group, participant=child)
    roster = _upload(client, group, coordinator, [{"display_name": "Q", "handle": "kid.q"}])
    entry = roster["entries"][0]  # type: ignore[index]
    r = client.post(
        f"{rosters(group)}/{roster['id']}/entries/{entry['id']}/resolve",
        json={"resolution": "identified", "participant_id": str(child.id)},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    stored = session.exec(select(PlatformIdentity).where(PlatformIdentity.participant_id == child.id)).one()
    assert stored.verified_at is not None
    again = _upload(client, group, coordinator, [{"display_name": "Q", "handle": "@Kid.Q"}])
    assert again["entries"][0]["match"] == "certain"  # type: ignore[index]


# --- F3: nothing to match on ------------------------------------------------------------------------------

NAMELESS_URLS = [
    "facebook.com/profile.php",
    "https://www.facebook.com/profile.php?id=",
    "https://facebook.com/",
    "https://instagram.com/",
    "https://www.facebook.com/people",
    "https://www.instagram.com/explore/",
    "https://discord.com/users/",
    "https://example.org/",
    "facebook.com",
    "profile.php",
    "@",
]
IMPOSSIBLE_PHONES = ["++++", "+", "+44 7700 900", "+999999999999999999999999"]


def test_query_parameter_names_are_read_without_case() -> None:
    assert handle_key("https://m.facebook.com/profile.php?ID=100012345") == "100012345"
    assert handle_key("https://facebook.com/groups/123/user/100012345/") == "100012345"


@pytest.mark.parametrize("value", NAMELESS_URLS)
def test_a_url_naming_nobody_has_no_key(value: str) -> None:
    assert handle_key(value) is None


@pytest.mark.parametrize("value", IMPOSSIBLE_PHONES)
def test_an_impossible_phone_has_no_key(value: str) -> None:
    assert phone_key(value) is None
    assert phone_key("07700 900123") == "+447700900123"


@pytest.mark.parametrize(
    ("kind", "value"),
    [*(("handle", v) for v in NAMELESS_URLS), *(("phone", v) for v in IMPOSSIBLE_PHONES)],
)
def test_a_value_naming_nobody_is_refused_as_an_identity(
    client: TestClient, session: Session, coordinator: Actor, kind: str, value: str
) -> None:
    body = {"participant_id": str(make_participant(session).id), "kind": kind, "value": value}
    if kind == "handle":
        body["platform"] = "facebook_group"
    r = client.post(IDENTITIES, json=body, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["value"]


def test_stored_keys_that_name_nobody_match_nobody(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """Identities stored under the older rules ("profile.php", "facebook.com") must not make strangers with
    such a URL certain matches."""
    group = make_group(session)
    leah = make_actor(session, Role.staff)
    assert leah.staff is not None
    for stale in ("profile.php", "facebook.com"):
        assert not usable(IdentityKind.handle, stale)
        session.add(
            PlatformIdentity(
                staff_id=leah.staff.id,
                platform=group.platform,
                kind=IdentityKind.handle,
                value=f"https://{stale}",
                match_key=stale,
            )
        )
    session.commit()
    roster = _upload(
        client,
        group,
        coordinator,
        [
            {"display_name": "Stranger One", "handle": "https://m.facebook.com/profile.php?ID=100012345"},
            {"display_name": "Stranger Two", "handle": "facebook.com/profile.php"},
            {"display_name": "Stranger Three", "handle": "https://facebook.com/"},
        ],
    )
    entries = roster["entries"]
    assert isinstance(entries, list)
    assert [e["match"] for e in entries] == ["unknown", "unknown", "unknown"]


@pytest.mark.parametrize("value", IMPOSSIBLE_PHONES)
def test_an_impossible_phone_in_a_list_is_refused_naming_row_and_column(
    client: TestClient, session: Session, coordinator: Actor, value: str
) -> None:
    group = make_group(session)
    r = client.post(
        rosters(group),
        content=f'display_name,phone\nAnn,07700 900123\nBen,"{value}"\n',
        headers={**coordinator.headers, **CSV},
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["rows.3.phone"]
    r = client.post(
        rosters(group),
        json={"entries": [{"display_name": "Ben", "phone": value}]},
        headers=coordinator.headers,
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["entries.0.phone"]


# --- F7a: an identity ends between the day it was recorded and today ------------------------------------


def test_an_identity_ends_between_its_recording_and_today(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    body = {"participant_id": str(make_participant(session).id), "kind": "phone", "value": "07700 900321"}
    r = client.post(IDENTITIES, json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    end = f"{IDENTITIES}/{r.json()['id']}/end"
    today = clock.today()
    for day in (
        "0001-01-01",
        (today - timedelta(days=1)).isoformat(),
        (today + timedelta(days=1)).isoformat(),
    ):
        refused = client.post(end, json={"ended_on": day}, headers=coordinator.headers)
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["ended_on"]
    ended = client.post(end, json={"ended_on": today.isoformat()}, headers=coordinator.headers)
    assert ended.status_code == 200, ended.text
    assert ended.json()["ended_on"] == today.isoformat()
