"""Rosters against a careless user or an attacker: formulas and line breaks in names, another group's
roster, If-Match misuse, a full-size upload by a key, look-alike identities, a name used twice."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.auth.roles import ApiKeyScope, Role
from api.memberships.models import MemberRole
from api.rosters.models import GroupRoster, RosterEntry
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.test_rosters import World, tag, url

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def _csv(client: TestClient, actor: Actor, world: World, body: str) -> Any:
    return client.post(url(world.group), content=body.encode(), headers={**actor.headers, **CSV})


def test_formulas_are_kept_as_text_and_rows_are_numbered_as_a_spreadsheet_shows_them(
    client: TestClient, coordinator: Actor, world: World
) -> None:
    body = (
        "display_name,handle\n"
        '"=HYPERLINK(""https://evil.example"",""x"")",+cmd\n'
        '"Line break",@SUM(A1)\n'
        "-2+3,ok\n"
    )
    r = _csv(client, coordinator, world, body)
    assert r.status_code == 201, r.text
    got = [(e["row"], e["display_name"], e["handle"], e["match"]) for e in r.json()["entries"]]
    assert got == [
        (2, '=HYPERLINK("https://evil.example","x")', "+cmd", "unknown"),
        (3, "Line break", "@SUM(A1)", "unknown"),
        (4, "-2+3", "ok", "unknown"),
    ]
    # A cell with a line break is one spreadsheet row: the bad date below is on row 3, not line 4 (a name
    # may not hold one, so the row holds nothing else and is passed over as blank).
    bad = _csv(client, coordinator, world, 'display_name,joined_on\n"\n",\nAnn,31/02/2025\n')
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["rows.3.joined_on"]


def test_another_groups_roster_answers_as_unknown(client: TestClient, session: Session, world: World) -> None:
    admin = make_actor(session, Role.staff)
    assert admin.staff is not None
    mine = make_group(session)
    make_membership(session, mine, staff=admin.staff, role=MemberRole.admin)
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    theirs = client.post(
        url(world.group), json={"entries": world.entries()}, headers=coordinator.headers
    ).json()
    assert (
        client.post(url(world.group), json={"entries": world.entries()}, headers=admin.headers).status_code
        == 404
    )
    # The other group's roster and entry through the admin's own group: unknown there.
    base = f"/api/v1/groups/{mine.id}/rosters/{theirs['id']}"
    assert client.get(base, headers=admin.headers).status_code == 404
    entry = theirs["entries"][6]["id"]
    r = client.post(
        f"{base}/entries/{entry}/resolve", json={"resolution": "confirmed"}, headers=admin.headers
    )
    assert r.status_code == 404
    r = client.post(f"{base}/apply", headers={**admin.headers, "If-Match": '"1"'})
    assert r.status_code == 404
    # An entry of another roster under a roster of the admin's group: unknown too.
    own = client.post(
        f"/api/v1/groups/{mine.id}/rosters", json={"entries": [{"display_name": "X"}]}, headers=admin.headers
    ).json()
    r = client.post(
        f"/api/v1/groups/{mine.id}/rosters/{own['id']}/entries/{entry}/resolve",
        json={"resolution": "removed", "removed_on": own["captured_on"]},
        headers=admin.headers,
    )
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("if_match", "status"),
    [(None, 428), ("*", 428), ("abc", 412), ('"1"', 412), ("stale", 412), ("weak", 412), ("current", 200)],
)
def test_apply_needs_the_rosters_current_etag(
    client: TestClient, coordinator: Actor, world: World, if_match: str | None, status: int
) -> None:
    entries = [{"email": world.admin.email, "platform_role": "admin"}]
    # The entry's answer moves the roster's ETag on: the ETag read with the upload no longer applies.
    stranger = client.post(
        url(world.group), json={"entries": [*entries, {"handle": "x"}]}, headers=coordinator.headers
    ).json()
    assert stranger["version"] == 1
    first = tag(client, coordinator, world.group, stranger["id"])
    late = client.post(
        f"{url(world.group)}/{stranger['id']}/entries/{stranger['entries'][1]['id']}/resolve",
        json={"resolution": "removed", "removed_on": stranger["captured_on"]},
        headers=coordinator.headers,
    )
    assert late.status_code == 200, late.text
    assert late.headers["etag"].startswith('"2.')
    base = f"{url(world.group)}/{stranger['id']}"
    # A strong tag only (RFC 9110 §13.1.1): W/ cannot guard a change, even with the current value.
    if_match = {"stale": first, "weak": f"W/{late.headers['etag']}", "current": late.headers["etag"]}.get(
        if_match or "", if_match
    )
    headers = {**coordinator.headers, **({"If-Match": if_match} if if_match else {})}
    r = client.post(f"{base}/apply", headers=headers)
    assert r.status_code == status, r.text
    if status != 200:
        assert client.get(base, headers=coordinator.headers).json()["applied_at"] is None


def test_a_key_uploads_a_full_5000_row_list_and_no_more(
    client: TestClient, session: Session, world: World
) -> None:
    key = make_api_key(session, (ApiKeyScope.sync_write,))
    header = "Name,Profile URL,Role,Date joined\n"
    rows = "".join(
        f"Member Number {i},https://www.facebook.com/profile.php?id={100000000000000 + i},member,01/09/2025\n"
        for i in range(5_000)
    )
    assert len(header + rows) < 1024 * 1024  # a realistic full list is under the body limit
    r = client.post(url(world.group), content=(header + rows).encode(), headers={**key.headers, **CSV})
    assert r.status_code == 201, r.text[:300]
    assert set(r.json()) == {"id", "version", "status"}
    assert session.exec(select(func.count()).select_from(RosterEntry)).one() == 5_000
    over = header + rows + "One More,https://www.facebook.com/one.more,member,\n"
    r = client.post(url(world.group), content=over.encode(), headers={**key.headers, **CSV})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["rows.5002.display_name"]
    assert session.exec(select(func.count()).select_from(GroupRoster)).one() == 1


def test_a_look_alike_address_or_handle_is_not_a_certain_match(
    client: TestClient, coordinator: Actor, world: World
) -> None:
    lookalike_email = world.admin.email.replace("a", "\u0430", 1)  # a Cyrillic "a"
    assert lookalike_email != world.admin.email
    entries = [
        {"display_name": "P", "email": lookalike_email, "platform_role": "admin"},
        {
            "display_name": "M",
            "handle": "https://discord.com/users/4242\u200b",
        },  # a zero-width space: same id
    ]
    r = client.post(url(world.group), json={"entries": entries}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert [e["match"] for e in r.json()["entries"]] == ["unknown", "certain"]


def test_a_members_name_on_a_second_account_is_unknown_not_probable(
    client: TestClient, session: Session, coordinator: Actor, world: World
) -> None:
    twin = make_participant(session, full_name="Nia Twofold")
    entries = [
        {"display_name": "Maya Okafor", "handle": "4242"},  # Maya's own account, by her recorded id
        {"display_name": "Maya Okafor", "handle": "maya_0kafor"},  # someone else using her name
        {"display_name": "Nia Twofold"},  # two accounts with one name, neither on record
        {"display_name": "twofold nia"},
        {"display_name": "Kit", "handle": "4242"},  # the same account listed twice: the same person
    ]
    r = client.post(url(world.group), json={"entries": entries}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    got = [(e["match"], e["person"] and e["person"]["id"]) for e in r.json()["entries"]]
    assert got == [
        ("certain", str(world.maya.id)),
        # Named after Maya, whose recorded account it is not: unknown, saying whose name it bears.
        ("unknown", str(world.maya.id)),
        ("unknown", None),
        ("unknown", None),
        ("certain", str(world.maya.id)),
    ]
    assert str(twin.id) not in r.text
    ids = [e["id"] for e in r.json()["entries"]]
    kinds = {(d["kind"], d["entry_id"]) for d in r.json()["discrepancies"]}
    assert ("name_of_another_account", ids[1]) in kinds
    assert ("several_accounts", ids[4]) in kinds
