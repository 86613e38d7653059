"""Issue 16 (second review): identities belong to one person, a claim tells a caller nothing they may not
read, and a roster's entries are held to the rules every other body is (F3 to F7)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.audit.models import AuditEvent
from api.auth.roles import ApiKeyScope, Role
from api.groups.models import Group
from api.identities.models import PlatformIdentity
from api.memberships.models import MemberRole
from api.rosters.models import GroupRoster, RosterEntry
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field

CSV = {"Content-Type": "text/csv"}


def rosters(group: Group) -> str:
    return f"/api/v1/groups/{group.id}/rosters"


def _stored(session: Session) -> tuple[int, ...]:
    return tuple(
        session.exec(select(func.count()).select_from(table)).one()
        for table in (GroupRoster, RosterEntry, AuditEvent, PlatformIdentity)
    )


# --- F7 and the minor ones: CSV and JSON entries are judged by one function ------------------------------


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("handle", "dj\x1b[2Jx", "control characters"),
        ("email", "a\x07@example.org", "control characters"),
        ("display_name", "Ann\nSmith", "one line"),
        ("email", "not-an-email", "not an email address"),
        ("phone", "abc", "not a phone number"),
    ],
)
def test_csv_and_json_refuse_the_same_entry_naming_row_and_column(
    client: TestClient, session: Session, coordinator: Actor, column: str, value: str, words: str
) -> None:
    group = make_group(session)
    before = _stored(session)
    quoted = '"' + value + '"'
    row = {"display_name": "Ann", "handle": "", "email": "", "phone": "", column: quoted}
    body = "display_name,handle,email,phone\nBen,,,\n" + ",".join(row.values()) + "\n"
    r = client.post(rosters(group), content=body, headers={**coordinator.headers, **CSV})
    assert refused_field(r) == f"rows.3.{column}"
    assert words in r.json()["detail"]
    entries = [{"display_name": "Ben"}, {"display_name": "Ann", column: value}]
    j = client.post(rosters(group), json={"entries": entries}, headers=coordinator.headers)
    assert refused_field(j) == f"entries.1.{column}"
    assert _stored(session) == before


def test_owner_is_an_admin_in_json_as_in_csv(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group = make_group(session)
    entries = [
        {"display_name": "Ann", "platform_role": "Owner"},
        {"display_name": "Ben", "platform_role": "group admin"},
    ]
    r = client.post(rosters(group), json={"entries": entries}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert [e["platform_role"] for e in r.json()["entries"]] == ["admin", "admin"]
    csv = "name,role\nAnn,Owner\nBen,group admin\n"
    r = client.post(rosters(group), content=csv, headers={**coordinator.headers, **CSV})
    assert r.status_code == 201, r.text
    assert [e["platform_role"] for e in r.json()["entries"]] == ["admin", "admin"]


# --- F4 and F6: an identity belongs to one person; a claim tells nothing ----------------------------------

IDENTITIES = "/api/v1/identities"


def _without_ids(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k not in ("id", "value", "created_at", "updated_at")}


def test_a_staff_claim_to_someone_elses_value_answers_as_any_claim_and_matches_nobody(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """F4 and F6: Tom claims Nadia's email and a child's phone (out of his reach): stored as claims, answered
    exactly as a claim to a value nobody holds, shown to nobody else as his, and Nadia still matches."""
    tom = make_actor(session, Role.staff)
    colleague = make_actor(session, Role.staff)
    trustee = make_actor(session, Role.trustee)
    assert tom.staff is not None
    assert coordinator.staff is not None
    child = make_participant(session, personal_phone="07700 900777")
    group = make_group(session)
    make_membership(session, group, staff=coordinator.staff, role=MemberRole.admin)
    mine = str(tom.staff.id)
    answers = []
    for kind, value in (
        ("email", coordinator.staff.email.upper()),  # the coordinator's own address, typed otherwise
        ("phone", "+44 7700 900777"),  # the child's personal phone
        ("email", "tom.fresh@example.org"),  # nobody's
        ("handle", "beatsby_ivy"),
    ):
        body = {"staff_id": mine, "kind": kind, "value": value}
        if kind == "handle":
            body["platform"] = "facebook_group"
        r = client.post(IDENTITIES, json=body, headers=tom.headers)
        answers.append((r.status_code, _without_ids(r.json()), sorted(r.headers)))
    # Every answer the same: 201, unverified, the same fields and headers.
    assert {a[0] for a in answers} == {201}
    assert all(a[1]["verified_at"] is None for a in answers)
    assert [a[2] for a in answers] == [answers[0][2]] * 4
    assert answers[0][1] == answers[2][1]
    # Tom sees his own claims; colleagues and trustees see none of them; the coordinator sees all four.
    assert client.get(IDENTITIES, params={"staff_id": mine}, headers=tom.headers).json()["total"] == 4
    for other in (colleague, trustee):
        assert client.get(IDENTITIES, params={"staff_id": mine}, headers=other.headers).json()["total"] == 0
    assert client.get(IDENTITIES, params={"staff_id": mine}, headers=coordinator.headers).json()["total"] == 4
    # The real owners still match for certain; Tom's claim matches nothing.
    entries = [
        {"display_name": "N", "email": coordinator.staff.email},
        {"display_name": "C", "phone": "07700900777"},
        {"display_name": "T", "email": "tom.fresh@example.org"},
    ]
    r = client.post(rosters(group), json={"entries": entries}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    got = [(e["match"], e["person"] and e["person"]["id"]) for e in r.json()["entries"]]
    assert got == [("certain", str(coordinator.staff.id)), ("certain", str(child.id)), ("unknown", None)]


def test_the_coordinator_is_told_of_a_clash_when_recording_or_verifying(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """F4: the coordinator (and the CRM's key) get a 409 naming the field for a value someone else holds
    as an identity or a contact detail, however typed; verifying a clashing claim is the same 409."""
    tom = make_actor(session, Role.staff)
    assert tom.staff is not None
    assert coordinator.staff is not None
    child = make_participant(session, personal_email="Ivy.Child@Example.org", carer_phone="07700 900888")
    crm = make_api_key(session, (ApiKeyScope.sync_write,))
    for who in (coordinator, crm):
        for kind, value in (
            ("email", coordinator.staff.email.upper()),
            ("email", "ivy.child@example.ORG"),
            ("phone", "+447700900888"),
        ):
            body = {"staff_id": str(tom.staff.id), "kind": kind, "value": value}
            r = client.post(IDENTITIES, json=body, headers=who.headers)
            assert r.status_code == 409, (value, r.text)
            assert r.json()["field"] == "value"
            assert "ivy" not in r.text.lower()
            assert str(child.id) not in r.text
    claim = client.post(
        IDENTITIES,
        json={"staff_id": str(tom.staff.id), "kind": "email", "value": "ivy.child@example.org"},
        headers=tom.headers,
    )
    fresh = client.post(
        IDENTITIES,
        json={"staff_id": str(tom.staff.id), "kind": "email", "value": "tom@example.org"},
        headers=tom.headers,
    )
    assert claim.status_code == fresh.status_code == 201
    clash = client.post(f"{IDENTITIES}/{claim.json()['id']}/verify", headers=coordinator.headers)
    assert clash.status_code == 409, clash.text
    assert clash.json()["field"] == "value"
    # Tom may not verify his own claim (answered as for an unknown identity); the coordinator may.
    assert client.post(f"{IDENTITIES}/{fresh.json()['id']}/verify", headers=tom.headers).status_code == 404
    ok = client.post(f"{IDENTITIES}/{fresh.json()['id']}/verify", headers=coordinator.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["verified_at"] is not None
    again = client.post(f"{IDENTITIES}/{fresh.json()['id']}/verify", headers=coordinator.headers)
    assert again.status_code == 409
    # Verified, it is shown to colleagues as his.
    colleague = make_actor(session, Role.staff)
    seen = client.get(IDENTITIES, params={"staff_id": str(tom.staff.id)}, headers=colleague.headers).json()
    assert [i["id"] for i in seen["items"]] == [fresh.json()["id"]]


# --- F5: identifying an entry as someone records its values or answers 409 --------------------------------


def test_identifying_an_entry_whose_handle_someone_else_holds_is_a_409_and_stores_nothing(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """The coordinator, who records identities verified, is told of the clash (a group admin naming
    themself records claims and is told nothing: tests/test_identity_pass3.py)."""
    assert coordinator.staff is not None
    group = make_group(session)
    make_membership(session, group, staff=coordinator.staff, role=MemberRole.admin)
    holder, other = make_participant(session), make_participant(session)
    make_membership(session, group, participant=other)
    r = client.post(
        IDENTITIES,
        json={
            "participant_id": str(holder.id),
            "kind": "handle",
            "platform": "facebook_group",
            "value": "ivy99",
        },
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    up = client.post(
        rosters(group),
        json={"entries": [{"display_name": "Stranger", "handle": "Ivy99"}]},
        headers=coordinator.headers,
    )
    assert up.status_code == 201, up.text
    roster, entry = up.json()["id"], up.json()["entries"][0]["id"]
    before = _stored(session)
    answer = client.post(
        f"{rosters(group)}/{roster}/entries/{entry}/resolve",
        json={"resolution": "identified", "participant_id": str(other.id)},
        headers=coordinator.headers,
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["field"] == "handle"
    assert str(holder.id) not in answer.text
    assert holder.full_name not in answer.text
    assert _stored(session) == before
    shown = client.get(f"{rosters(group)}/{roster}", headers=coordinator.headers).json()["entries"][0]
    assert shown["resolution"] is None
    # The next upload still matches the handle to its holder.
    up = client.post(
        rosters(group),
        json={"entries": [{"display_name": "S", "handle": "ivy99"}]},
        headers=coordinator.headers,
    )
    assert up.json()["entries"][0]["person"]["id"] == str(holder.id)


# --- F3: a compliance finding's counts are those of the caller's own roster view --------------------------


def test_earlier_lists_counts_never_differ_from_the_callers_roster_view(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    """A list with two strangers and a child outside Tom's reach (shown to him as a third unknown entry),
    then a connector's later list: the finding's "earlier lists" part must not say 2 where his view says 3."""
    assert coordinator.staff is not None
    tom = make_actor(session, Role.staff)
    assert tom.staff is not None
    group = make_group(session)
    make_membership(session, group, staff=coordinator.staff, role=MemberRole.admin)
    make_membership(session, group, staff=tom.staff)
    child = make_participant(session, personal_phone="07700 900555")  # in no group of Tom's
    entries = [
        {"display_name": "Stranger A", "handle": "a1"},
        {"display_name": "Stranger B", "handle": "b2"},
        {"display_name": "Someone", "phone": "07700900555"},
    ]
    first = client.post(rosters(group), json={"entries": entries}, headers=coordinator.headers)
    assert first.status_code == 201, first.text
    assert first.json()["entries"][2]["person"]["id"] == str(child.id)
    key = make_api_key(session, (ApiKeyScope.sync_write,))
    later = client.post(
        rosters(group),
        json={"entries": [{"display_name": "Admin", "email": coordinator.staff.email}]},
        headers=key.headers,
    )
    assert later.status_code == 201, later.text
    view = client.get(f"{rosters(group)}/{first.json()['id']}", headers=tom.headers).json()
    assert view["counts"]["open_unknown"] == 3
    r = client.get(f"/api/v1/groups/{group.id}/compliance", headers=tom.headers)
    assert r.status_code == 200, r.text
    finding = next(f for f in r.json()["findings"] if f["rule_id"] == "GRP-ROSTER-RECONCILED")
    assert finding["outcome"] == "fail"
    assert "2 people" not in finding["message"]
    for e in finding["evidence"]:
        if e["type"] == "roster" and e["id"] == first.json()["id"] and e["detail"]:
            assert e["detail"].startswith(f"{view['counts']['open_unknown']} unknown"), e
        assert str(child.id) != e.get("id")
    # The coordinator, who reads the child, is told the stored counts.
    seen = client.get(f"/api/v1/groups/{group.id}/compliance", headers=coordinator.headers).json()
    mine = next(f for f in seen["findings"] if f["rule_id"] == "GRP-ROSTER-RECONCILED")
    assert "2 people nobody has identified on earlier lists" in mine["message"]
