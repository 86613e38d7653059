"""What a roster must not tell a group's admin about a young person outside their reach, wherever it shows
(issue 16, the attacker's session): an entry a coordinator's upload matched to such a child shows to the
admin as unknown in the roster, and the group's compliance finding does not undo it with its counts or
with where the hidden child sits among its evidence."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.auth.roles import Role
from api.memberships.models import MemberRole
from tests.kit.auth import Actor, make_actor
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.test_rosters import url


def test_a_match_to_a_child_outside_the_admins_reach_is_not_given_away_by_the_compliance_finding(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group, elsewhere = make_group(session), make_group(session)
    admin = make_actor(session, Role.staff, full_name="Gail Admin")
    assert admin.staff is not None
    make_membership(session, group, staff=admin.staff, role=MemberRole.admin)
    ours = make_participant(session, full_name="Ola Ours")
    theirs = make_participant(session, full_name="Yusuf Elsewhere")
    make_membership(session, group, participant=ours)
    make_membership(session, elsewhere, participant=theirs)
    entries = [
        {"email": admin.staff.email, "platform_role": "admin"},
        {"display_name": "Ola Ours"},
        {"display_name": "Yusuf Elsewhere"},  # the coordinator's directory matches him by name
        {"display_name": "Zed Stranger", "handle": "zed99"},
    ]
    r = client.post(url(group), json={"entries": entries}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert [e["match"] for e in r.json()["entries"]] == ["certain", "probable", "probable", "unknown"]
    roster = client.get(f"{url(group)}/{r.json()['id']}", headers=admin.headers).json()
    assert [e["match"] for e in roster["entries"]] == ["certain", "probable", "unknown", "unknown"]
    assert roster["counts"]["open_unknown"] == 2
    compliance = f"/api/v1/groups/{group.id}/compliance"
    finding = next(
        f
        for f in client.get(compliance, headers=admin.headers).json()["findings"]
        if f["rule_id"] == "GRP-ROSTER-RECONCILED"
    )
    assert finding["outcome"] == "fail"
    # Neither "1 person nobody has identified" and "2 unconfirmed" (one of the two unknowns is someone),
    # nor a hidden child placed after row 2's evidence.
    assert "unconfirmed" not in finding["message"]
    assert "nobody has identified" not in finding["message"]
    assert [e["type"] for e in finding["evidence"]] == ["roster"]
    assert finding["evidence"][0]["detail"] is None
    assert "Yusuf" not in str(finding)
    assert str(theirs.id) not in str(finding)
    # The coordinator sees it all.
    full = next(
        f
        for f in client.get(compliance, headers=coordinator.headers).json()["findings"]
        if f["rule_id"] == "GRP-ROSTER-RECONCILED"
    )
    assert "2 matches by name alone not yet confirmed" in full["message"]
    assert str(theirs.id) in str(full["evidence"])
