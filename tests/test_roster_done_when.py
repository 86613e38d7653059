"""Issue 16's "Done when", second point, on a group whose records and platform list differ in every way
apply settles: an unknown adult on the platform makes the group `non_compliant` until someone answers for
them; once they are identified and the roster applied, the group's memberships equal the platform's list
(a member of staff no longer on it ended, one on it added as the admin the platform shows, the adult who
was unknown added) and the group passes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from api.memberships.models import MemberRole
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.compliance import make_compliant_group as compliance_compliant_group
from tests.kit.declarations import make_declaration as compliance_declaration
from tests.kit.memberships import make_membership as compliance_member
from tests.kit.staff import make_staff


def _status(client: TestClient, actor: Actor, group_id: Any) -> tuple[str, dict[str, str]]:
    report = client.get(f"/api/v1/groups/{group_id}/compliance", headers=actor.headers).json()
    return report["status"], {f["rule_id"]: f["outcome"] for f in report["findings"]}


def _current(client: TestClient, actor: Actor, group_id: Any) -> dict[str, str]:
    items = client.get(
        "/api/v1/memberships",
        params={"group_id": str(group_id), "current": True, "limit": 200},
        headers=actor.headers,
    ).json()["items"]
    return {m["staff_id"] or m["participant_id"]: m["role"] for m in items}


def test_an_unknown_adult_fails_the_group_until_identified_and_applied_then_records_equal_the_platform(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    group = compliance_compliant_group(session, coordinator.staff)
    leaver = make_staff(session, full_name="Lee Leaver", uses_social_media_for_work=True)
    newbie = make_staff(session, full_name="Nia Newbie", uses_social_media_for_work=True)
    dave = make_staff(session, full_name="David Friendly", uses_social_media_for_work=True)
    for person in (leaver, newbie, dave):
        compliance_declaration(session, person)
    compliance_member(session, group, staff=leaver)
    before = _current(client, coordinator, group.id)
    assert _status(client, coordinator, group.id)[0] == "compliant"
    admins = [pid for pid, role in before.items() if role == "admin"]
    child = next(pid for pid in before if pid not in {str(leaver.id), *admins})
    child_name = client.get(f"/api/v1/participants/{child}", headers=coordinator.headers).json()["full_name"]
    admin_emails = [
        client.get(f"/api/v1/staff/{pid}", headers=coordinator.headers).json()["email"] for pid in admins
    ]
    # The platform: both recorded admins, the child, Nia (an admin there, not in the group's records), and
    # "Friendly Dave" on an account nobody has recorded. Lee is no longer on it.
    entries = [
        *({"email": e, "platform_role": "admin"} for e in admin_emails),
        {"display_name": child_name},
        {"display_name": "Nia N", "email": newbie.email, "platform_role": "admin"},
        {"display_name": "Friendly Dave", "handle": "dave1971"},
    ]
    r = client.post(
        f"/api/v1/groups/{group.id}/rosters", json={"entries": entries}, headers=coordinator.headers
    )
    assert r.status_code == 201, r.text
    roster = r.json()
    base = f"/api/v1/groups/{group.id}/rosters/{roster['id']}"
    status, outcomes = _status(client, coordinator, group.id)
    assert status == "non_compliant"
    assert outcomes["GRP-ROSTER-RECONCILED"] == "fail"
    matches = [(e["match"], e["display_name"]) for e in roster["entries"]]
    assert matches[-1] == ("unknown", "Friendly Dave")
    assert matches[2] == ("probable", child_name)
    # Still failing while anyone waits for an answer: the child confirmed, Dave not yet.
    child_entry, dave_entry = roster["entries"][2]["id"], roster["entries"][-1]["id"]
    ok = client.post(
        f"{base}/entries/{child_entry}/resolve", json={"resolution": "confirmed"}, headers=coordinator.headers
    )
    assert ok.status_code == 200, ok.text
    assert _status(client, coordinator, group.id)[1]["GRP-ROSTER-RECONCILED"] == "fail"
    ok = client.post(
        f"{base}/entries/{dave_entry}/resolve",
        json={"resolution": "identified", "staff_id": str(dave.id)},
        headers=coordinator.headers,
    )
    assert ok.status_code == 200, ok.text
    etag = client.get(base, headers=coordinator.headers).headers["etag"]
    applied = client.post(f"{base}/apply", headers={**coordinator.headers, "If-Match": etag})
    assert applied.status_code == 200, applied.text
    changes = sorted(
        (c["action"], c["person"]["id"], c["detail"].split(" ")[0]) for c in applied.json()["changes"]
    )
    assert changes == sorted(
        [
            ("membership.end", str(leaver.id), "ended"),
            ("membership.create", str(newbie.id), MemberRole.admin.value),
            ("membership.create", str(dave.id), MemberRole.member.value),
        ]
    )
    # The group's memberships are the platform's list, each with the platform's role.
    platform = {
        **dict.fromkeys(admins, "admin"),
        child: "member",
        str(newbie.id): "admin",
        str(dave.id): "member",
    }
    assert _current(client, coordinator, group.id) == platform
    status, outcomes = _status(client, coordinator, group.id)
    assert status == "compliant", {k: v for k, v in outcomes.items() if v != "pass"}
    assert outcomes["GRP-ROSTER-RECONCILED"] == "pass"
    # Dave's account is on record now: the next list matches him for certain.
    again = client.post(
        f"/api/v1/groups/{group.id}/rosters",
        json={
            "captured_on": str(TODAY),
            "entries": [{"display_name": "Friendly Dave", "handle": "dave1971"}],
        },
        headers=coordinator.headers,
    )
    assert again.status_code == 201, again.text
    assert again.json()["entries"][0]["match"] == "certain"
    assert again.json()["entries"][0]["person"]["id"] == str(dave.id)
