"""Rosters against the findings of issue 16's second tester: an empty list, a connector's list hiding an
unknown adult, uploads used as a directory of children, an impostor's name, one person on several accounts,
resolving to a colleague, a stale ETag after the memberships moved, evidence naming a child out of reach."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.auth.roles import ApiKeyScope, Role
from api.groups.models import Platform
from api.identities.models import PlatformIdentity
from api.memberships.models import MemberRole, Membership
from tests.kit.auth import Actor, limit_user_action, make_actor, make_api_key
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field
from tests.kit.staff import make_staff
from tests.test_rosters import handle, tag, url

CSV = {"Content-Type": "text/csv"}


def _admin_group(session: Session) -> tuple[Actor, Any]:
    """A staff admin of a new group with a colleague and a young person in it."""
    admin = make_actor(session, Role.staff)
    assert admin.staff is not None
    group = make_group(session)
    make_membership(session, group, staff=admin.staff, role=MemberRole.admin)
    make_membership(session, group, staff=make_staff(session, full_name="Colleague Coach"))
    make_membership(session, group, participant=make_participant(session, full_name="Young Member"))
    return admin, group


def _current(session: Session, group: Any) -> list[Membership]:
    session.expire_all()
    return list(
        session.exec(select(Membership).where(Membership.group_id == group.id, Membership.ended_on == None))  # noqa: E711
    )


# --- 1. an empty list ------------------------------------------------------------------------------------


def test_an_empty_list_is_refused_in_csv_and_json(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session)
    csv = client.post(url(group), content=b"display_name,handle\n\n", headers={**coordinator.headers, **CSV})
    assert csv.status_code == 422, csv.text
    assert [e["field"] for e in csv.json()["errors"]] == ["rows.2.display_name"]
    js = client.post(url(group), json={"entries": []}, headers=coordinator.headers)
    assert refused_field(js) == "entries"
    assert client.get(url(group), headers=coordinator.headers).json()["total"] == 0


def test_apply_ending_every_membership_or_the_admins_own_needs_confirm_removals(
    client: TestClient, session: Session
) -> None:
    admin, group = _admin_group(session)
    # A list naming only someone new: applied, it would end all three memberships, the admin's among them.
    roster = client.post(
        url(group), json={"entries": [{"display_name": "Nobody Known"}]}, headers=admin.headers
    )
    assert roster.status_code == 201, roster.text
    rid = roster.json()["id"]
    entry = roster.json()["entries"][0]["id"]
    r = client.post(
        f"{url(group)}/{rid}/entries/{entry}/resolve",
        json={"resolution": "removed", "removed_on": roster.json()["captured_on"]},
        headers={**admin.headers, "If-Match": tag(client, admin, group, rid)},
    )
    assert r.status_code == 200, r.text
    apply = f"{url(group)}/{rid}/apply"
    refused = client.post(apply, headers={**admin.headers, "If-Match": tag(client, admin, group, rid)})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "removals_unconfirmed"
    assert len(_current(session, group)) == 3
    refused = client.post(
        apply,
        json={"confirm_removals": False},
        headers={**admin.headers, "If-Match": tag(client, admin, group, rid)},
    )
    assert refused.status_code == 409
    done = client.post(
        apply,
        json={"confirm_removals": True},
        headers={**admin.headers, "If-Match": tag(client, admin, group, rid)},
    )
    assert done.status_code == 200, done.text
    assert [c["action"] for c in done.json()["changes"]] == ["membership.end"] * 3
    assert _current(session, group) == []


def test_apply_ending_the_admins_own_membership_alone_needs_confirm_removals(
    client: TestClient, session: Session
) -> None:
    admin, group = _admin_group(session)
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    # Everyone but the applying admin is on the list, for certain.
    members = _current(session, group)
    others = [m for m in members if m.staff_id != admin.staff.id]  # type: ignore[union-attr]
    entries = []
    for m in others:
        if m.staff_id:
            from api.staff.models import Staff

            staff = session.get(Staff, m.staff_id)
            assert staff is not None
            entries.append({"email": staff.email})
        else:
            entries.append({"display_name": "Young Member"})
    roster = client.post(url(group), json={"entries": entries}, headers=coordinator.headers).json()
    probable = [e for e in roster["entries"] if e["match"] == "probable"]
    version = 1
    for e in probable:
        r = client.post(
            f"{url(group)}/{roster['id']}/entries/{e['id']}/resolve",
            json={"resolution": "confirmed"},
            headers={**coordinator.headers, "If-Match": tag(client, coordinator, group, roster["id"])},
        )
        assert r.status_code == 200, r.text
        version += 1
    apply = f"{url(group)}/{roster['id']}/apply"
    refused = client.post(
        apply, headers={**admin.headers, "If-Match": tag(client, admin, group, roster["id"])}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "removals_unconfirmed"
    # A coordinator ending the admin's membership is not ending their own: no confirmation needed.
    done = client.post(
        apply, headers={**coordinator.headers, "If-Match": tag(client, coordinator, group, roster["id"])}
    )
    assert done.status_code == 200, done.text
    assert len(_current(session, group)) == 2


# --- 3. an upload is no directory of children -------------------------------------------------------------


def _strip_ids(body: dict[str, Any]) -> list[Any]:
    return [(e["match"], e["matched_by"], e["person"]) for e in body["entries"]] + [
        sorted((d["kind"], d["person"] is None) for d in body["discrepancies"])
    ]


def test_a_child_outside_the_uploaders_reach_is_answered_as_unknown(
    client: TestClient, session: Session
) -> None:
    elsewhere = make_participant(
        session,
        full_name="Hidden Child",
        personal_email="hidden.child@example.org",
        personal_phone="07700900777",
    )
    make_membership(session, make_group(session), participant=elsewhere)
    admin, group = _admin_group(session)
    guesses = [
        {"display_name": "Hidden Child"},
        {"email": "hidden.child@example.org"},
        {"phone": "07700 900777"},
    ]
    nobody = [{"display_name": "Never Recorded"}, {"email": "never@example.org"}, {"phone": "07700 900001"}]
    r = client.post(url(group), json={"entries": guesses}, headers=admin.headers)
    control = client.post(url(group), json={"entries": nobody}, headers=admin.headers)
    assert r.status_code == control.status_code == 201, r.text
    assert _strip_ids(r.json()) == _strip_ids(control.json())
    assert {e["match"] for e in r.json()["entries"]} == {"unknown"}
    assert r.json()["counts"] | {"discrepancies": None} == control.json()["counts"] | {"discrepancies": None}
    assert str(elsewhere.id) not in r.text
    assert "outside your groups" not in r.text
    # The coordinator's upload of the same list matches her; the admin reading it sees unknown entries.
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    theirs = client.post(url(group), json={"entries": guesses}, headers=coordinator.headers).json()
    # (By name too, but her two accounts make the name alone say nothing.)
    assert [e["match"] for e in theirs["entries"]] == ["unknown", "certain", "certain"]
    seen = client.get(f"{url(group)}/{theirs['id']}", headers=admin.headers)
    assert seen.status_code == 200
    assert _strip_ids(seen.json())[:3] == _strip_ids(control.json())[:3]
    assert seen.json()["counts"]["certain"] == 0
    assert seen.json()["counts"]["probable"] == 0
    assert str(elsewhere.id) not in seen.text
    assert "outside your groups" not in seen.text
    kinds = {d["kind"] for d in seen.json()["discrepancies"]}
    assert "not_in_records" not in kinds
    assert "several_accounts" not in kinds


def test_roster_uploads_are_rate_limited_per_user(
    client: TestClient, session: Session, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit_user_action(monkeypatch, "roster_uploads_per_minute", 2)
    admin, group = _admin_group(session)
    body = {"entries": [{"display_name": "Someone"}]}
    assert client.post(url(group), json=body, headers=admin.headers).status_code == 201
    # A refused list counts too: otherwise guesses could be sent as bad files.
    assert client.post(url(group), json={"entries": []}, headers=admin.headers).status_code == 422
    r = client.post(url(group), json=body, headers=admin.headers)
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) >= 1
    assert "2 roster uploads a minute" in r.json()["detail"]
    assert client.post(url(group), json=body, headers=coordinator.headers).status_code == 201


# --- 4. an impostor's name ---------------------------------------------------------------------------------


def test_a_name_on_an_account_that_is_not_the_persons_recorded_one_is_unknown(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group = make_group(session, platform=Platform.whatsapp)
    child = make_participant(session, full_name="Ada Lovelace", personal_phone="07700900321")
    tutor = make_staff(session, full_name="Tom Tutor")
    make_membership(session, group, participant=child)
    make_membership(session, group, staff=tutor, role=MemberRole.admin)
    handle(session, tutor, "tom_the_tutor", Platform.whatsapp)
    entries = [
        {"display_name": "Ada Lovelace", "phone": "07700 900999"},  # her name, another number
        {"display_name": "Tom Tutor", "handle": "tom.tutor.real"},  # his name, another handle
        {"display_name": "Tom Tutor", "email": "tom@example.org"},  # not his official email either
    ]
    r = client.post(url(group), json={"entries": entries}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    got = [(e["match"], e["person"] and e["person"]["id"]) for e in r.json()["entries"]]
    assert got[0] == ("unknown", str(child.id))
    assert got[1] == ("unknown", str(tutor.id))
    ids = [e["id"] for e in r.json()["entries"]]
    flagged = {d["entry_id"] for d in r.json()["discrepancies"] if d["kind"] == "name_of_another_account"}
    assert flagged == set(ids)
    assert got[2] == ("unknown", str(tutor.id))
    # Never confirmable as the person: it must be identified or removed.
    confirm = client.post(
        f"{url(group)}/{r.json()['id']}/entries/{ids[0]}/resolve",
        json={"resolution": "confirmed"},
        headers=coordinator.headers,
    )
    assert confirm.status_code == 422


# --- 5. one person, several accounts -----------------------------------------------------------------------


def test_one_person_on_several_accounts_is_flagged_once_per_extra_account(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group = make_group(session, platform=Platform.discord)
    make_membership(session, group, staff=make_staff(session, full_name="Group Lead"), role=MemberRole.admin)
    kid = make_participant(session, full_name="Rowan Page")
    handle(session, kid, "rowan_p", Platform.discord)
    entries = [
        {"display_name": "Group Lead"},
        {"display_name": "Rowan", "handle": "rowan_p"},
        {"display_name": "Rowan", "handle": "rowan\u200b_p"},  # an invisible character
        {"display_name": "Rowan", "handle": "\u200erowan_p\u200f"},
    ]
    r = client.post(url(group), json={"entries": entries}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    ids = [e["id"] for e in r.json()["entries"]]
    found = [(d["kind"], d["entry_id"]) for d in r.json()["discrepancies"] if d["entry_id"] in ids[1:]]
    assert sorted(found) == sorted(
        [("not_in_records", ids[1]), ("several_accounts", ids[2]), ("several_accounts", ids[3])]
    )


# --- 6. identifying an entry is recording an identity ----------------------------------------------------


def test_a_group_admin_identifies_an_entry_as_themself_only_as_posting_an_identity_allows(
    client: TestClient, session: Session
) -> None:
    admin, group = _admin_group(session)
    assert admin.staff is not None
    colleague = make_staff(session, full_name="Other Colleague")
    roster = client.post(
        url(group),
        json={"entries": [{"display_name": "Alias One"}, {"display_name": "Alias Two"}]},
        headers=admin.headers,
    ).json()
    one, two = (f"{url(group)}/{roster['id']}/entries/{e['id']}/resolve" for e in roster["entries"])
    direct = client.post(
        "/api/v1/identities",
        json={"staff_id": str(colleague.id), "kind": "handle", "platform": "facebook_group", "value": "x1"},
        headers=admin.headers,
    )
    refused = client.post(
        one, json={"resolution": "identified", "staff_id": str(colleague.id)}, headers=admin.headers
    )
    assert direct.status_code == refused.status_code == 403, refused.text
    assert session.exec(select(PlatformIdentity).where(PlatformIdentity.staff_id == colleague.id)).all() == []
    own = client.post(
        two, json={"resolution": "identified", "staff_id": str(admin.staff.id)}, headers=admin.headers
    )
    assert own.status_code == 200, own.text
    coordinator = make_actor(session, Role.coordinator, coordinator=True)
    done = client.post(
        one, json={"resolution": "identified", "staff_id": str(colleague.id)}, headers=coordinator.headers
    )
    assert done.status_code == 200, done.text


# --- 2. a connector's list hides nobody and is nobody's review ---------------------------------------------


def _findings(client: TestClient, actor: Actor, group: Any) -> dict[str, Any]:
    r = client.get(f"/api/v1/groups/{group.id}/compliance", headers=actor.headers)
    assert r.status_code == 200, r.text
    return {f["rule_id"]: f for f in r.json()["findings"]}


def test_a_connectors_later_list_neither_hides_an_unknown_adult_nor_counts_as_a_review(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group = make_group(session, platform=Platform.discord)
    lead = make_staff(session, full_name="Lead Person")
    make_membership(session, group, staff=lead, role=MemberRole.admin)
    first = client.post(
        url(group),
        json={"entries": [{"email": lead.email, "platform_role": "admin"}, {"handle": "who_is_this"}]},
        headers=coordinator.headers,
    ).json()
    assert _findings(client, coordinator, group)["GRP-ROSTER-RECONCILED"]["outcome"] == "fail"
    # The connector's partial list names only the lead, for certain: nobody to answer on it.
    key = make_api_key(session, (ApiKeyScope.sync_write,))
    partial = {"entries": [{"email": lead.email, "platform_role": "admin"}]}
    assert client.post(url(group), json=partial, headers=key.headers).status_code == 201
    found = _findings(client, coordinator, group)
    reconciled = found["GRP-ROSTER-RECONCILED"]
    assert reconciled["outcome"] == "fail", reconciled
    assert "earlier lists" in reconciled["message"]
    assert first["id"] in {e["id"] for e in reconciled["evidence"]}
    # Nor is the connector's list a review: nobody looked at it.
    assert all(e["type"] != "roster" for e in found["GRP-PERIODIC-REVIEW"]["evidence"])
    # Answering for the stranger on the first list clears it.
    stranger = first["entries"][1]["id"]
    r = client.post(
        f"{url(group)}/{first['id']}/entries/{stranger}/resolve",
        json={"resolution": "removed", "removed_on": first["captured_on"]},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert _findings(client, coordinator, group)["GRP-ROSTER-RECONCILED"]["outcome"] != "fail"
    # A later list a person uploads supersedes the ones before it.
    second = client.post(
        url(group), json={"entries": [{"handle": "another_one"}]}, headers=coordinator.headers
    )
    assert second.status_code == 201
    assert client.post(url(group), json=partial, headers=key.headers).status_code == 201
    found = _findings(client, coordinator, group)["GRP-ROSTER-RECONCILED"]
    assert found["outcome"] == "fail"
    assert "another" not in str(found)  # counted, not named: entries are shown for the latest list only


# --- 7. the ETag covers the memberships reconciliation is judged against ------------------------------------


def test_an_etag_read_before_a_membership_changed_no_longer_applies(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group = make_group(session)
    lead = make_staff(session, full_name="Lead Person")
    make_membership(session, group, staff=lead, role=MemberRole.admin)
    roster = client.post(
        url(group),
        json={"entries": [{"email": lead.email, "platform_role": "admin"}]},
        headers=coordinator.headers,
    ).json()
    read = tag(client, coordinator, group, roster["id"])
    # Someone is added to the group after the roster was read: applying it now would end their membership.
    newcomer = make_membership(session, group, staff=make_staff(session, full_name="New Comer"))
    assert tag(client, coordinator, group, roster["id"]) != read
    stale = client.post(
        f"{url(group)}/{roster['id']}/apply", headers={**coordinator.headers, "If-Match": read}
    )
    assert stale.status_code == 412, stale.text
    session.expire_all()
    assert session.get(Membership, newcomer.id).ended_on is None  # type: ignore[union-attr]
    fresh = tag(client, coordinator, group, roster["id"])
    done = client.post(
        f"{url(group)}/{roster['id']}/apply", headers={**coordinator.headers, "If-Match": fresh}
    )
    assert done.status_code == 200, done.text


# --- 9. malformed lists ------------------------------------------------------------------------------------


def test_nul_an_open_quote_and_invisible_only_rows_are_refused_naming_the_place(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group = make_group(session)
    nul = client.post(
        url(group),
        json={"entries": [{"display_name": "Ok"}, {"handle": "a\u0000b"}]},
        headers=coordinator.headers,
    )
    assert nul.status_code == 422, nul.text
    assert [e["field"] for e in nul.json()["errors"]] == ["entries.1.handle"]
    invisible = client.post(
        url(group), json={"entries": [{"display_name": "\u200b\u200e \u0007"}]}, headers=coordinator.headers
    )
    assert invisible.status_code == 422, invisible.text
    assert [e["field"] for e in invisible.json()["errors"]] == ["entries.0.display_name"]
    for body, field in (
        ('display_name,handle\nAnn,"open quote\nBen,b\n', "rows.2.body"),  # the row the quote opens on
        ("display_name,handle\nAnn,a\n\u200b,\u200e\n", "rows.3.display_name"),
    ):
        r = client.post(url(group), content=body.encode(), headers={**coordinator.headers, **CSV})
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == [field]
    assert client.get(url(group), headers=coordinator.headers).json()["total"] == 0
