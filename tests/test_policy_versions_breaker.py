"""Issue 15's second round of breaker findings on the versioned policy and staff declarations: a sentence a
newer version leaves out stops being enforced (2), the rule catalog quotes the version in force (14),
declarations fall due when a version comes into force rather than when it is published (8), a colleague's
declared answers are theirs and the coordinator's (6), another's declarations answer as an unknown id (7),
and a trustee declares as the member of staff their account is linked to (9). Then issue 15's "Done when"
for a version 2 that rewords one clause."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.auth.roles import Role
from api.groups.models import Group
from api.memberships.models import MemberRole, Membership
from tests.clock import FixedClock
from tests.kit.auth import Actor, make_actor, token_headers
from tests.kit.compliance import make_compliant_group as compliance_compliant_group
from tests.kit.declarations import EVERY_STATEMENT_HELD
from tests.kit.declarations import make_declaration as compliance_declaration
from tests.kit.memberships import make_membership as compliance_member
from tests.kit.requests import refused_field
from tests.policy_publish import publish_confirmed

V1 = Path(__file__).resolve().parent.parent / "api" / "policy" / "esafety-policy-v1.txt"
VERSIONS = "/api/v1/policy/versions"
OLD = "All More Music Facebook groups must have at least two current members of staff as admin officers"
NEW = "Every More Music group must have at least two current members of staff as its admins"


DECLARED = {"policy_version": 1, **EVERY_STATEMENT_HELD}


def _publish(client: TestClient, actor: Actor, effective_on: object, text: str) -> dict[str, Any]:
    r = publish_confirmed(client, actor.headers, {"text": text, "effective_on": str(effective_on)})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _finding(client: TestClient, headers: dict[str, str], url: str, rule: str) -> dict[str, Any]:
    r = client.get(url, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    findings = body["findings"] if "findings" in body else body["organisation"]["findings"]
    [f] = [f for f in findings if f["rule_id"] == rule]
    return f  # type: ignore[no-any-return]


def test_a_sentence_left_out_of_a_newer_version_stops_being_enforced_from_its_effective_day(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, compliant_group: Group
) -> None:
    today = fixed_clock.today
    text = V1.read_text().replace(f"- {OLD}\n", "")
    assert OLD not in text
    published = _publish(client, coordinator, today + timedelta(days=1), text)
    assert [(c["clause_id"], c["change"]) for c in published["diff"]["changes"]] == [
        ("REC-FB-TWO-ADMINS", "removed")
    ]
    fixed_clock.advance(days=2)
    assert coordinator.user is not None
    headers = token_headers(coordinator.user)
    url = f"/api/v1/groups/{compliant_group.id}/compliance"

    before = _finding(client, headers, f"{url}?as_of={today}", "GRP-TWO-STAFF-ADMINS")
    assert before["outcome"] == "pass"
    assert before["clause"]["text"] == OLD
    after = _finding(client, headers, f"{url}?as_of={today + timedelta(days=2)}", "GRP-TWO-STAFF-ADMINS")
    assert after["outcome"] == "not_applicable"
    assert after["counts_against_status"] is False
    assert "version 2" in after["message"]
    assert "no longer" in after["message"]

    coverage = client.get("/api/v1/policy/coverage", headers=headers).json()
    assert coverage["version"] == 2
    assert OLD not in [s["text"] for s in coverage["sentences"]]
    [gone] = coverage["withdrawn"]
    assert gone["clause_id"] == "REC-FB-TWO-ADMINS"
    assert gone["text"] == OLD
    assert gone["last_version"] == 1
    # Both rules that keep only this sentence: two staff admins, and admins are staff.
    assert set(gone["rules_not_applied"]) == {"GRP-ADMINS-ARE-STAFF", "GRP-TWO-STAFF-ADMINS"}
    assert coverage["counts"]["withdrawn"] == 1
    assert coverage["counts"]["rules_not_applied"] == 2
    # The version 1 coverage still shows it in force.
    v1 = client.get(f"/api/v1/policy/coverage?as_of={today}", headers=headers).json()
    assert v1["withdrawn"] == []

    rules = client.get("/api/v1/compliance/rules", headers=headers).json()
    withdrawn = {"GRP-TWO-STAFF-ADMINS", "GRP-ADMINS-ARE-STAFF"}
    assert {r["id"] for r in rules if not r["applied"]} == withdrawn


def test_a_group_whose_only_failure_is_a_withdrawn_rule_is_compliant(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, compliant_group: Group
) -> None:
    assert coordinator.staff is not None
    # Fail the two-admins rule: the other admin leaves the group.
    admins = session.exec(
        select(Membership).where(
            Membership.group_id == compliant_group.id, Membership.role == MemberRole.admin
        )
    ).all()
    other = next(m for m in admins if m.staff_id != coordinator.staff.id)
    other.ended_on = fixed_clock.today - timedelta(days=1)
    session.add(other)
    session.commit()
    url = f"/api/v1/groups/{compliant_group.id}/compliance"
    assert _finding(client, coordinator.headers, url, "GRP-TWO-STAFF-ADMINS")["outcome"] == "fail"
    _publish(client, coordinator, fixed_clock.today, V1.read_text().replace(f"- {OLD}\n", ""))
    assert _finding(client, coordinator.headers, url, "GRP-TWO-STAFF-ADMINS")["outcome"] == "not_applicable"
    report = client.get("/api/v1/compliance", headers=coordinator.headers).json()
    [summary] = [g for g in report["groups"] if g["group_id"] == str(compliant_group.id)]
    assert "GRP-TWO-STAFF-ADMINS" not in summary["failing_rules"]


def test_the_rule_catalog_quotes_the_version_in_force_today(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    def quoted(headers: dict[str, str]) -> str:
        rules = client.get("/api/v1/compliance/rules", headers=headers).json()
        [rule] = [r for r in rules if r["id"] == "GRP-TWO-STAFF-ADMINS"]
        return str(rule["clause"]["text"])

    _publish(client, coordinator, fixed_clock.today + timedelta(days=1), V1.read_text().replace(OLD, NEW))
    assert quoted(coordinator.headers) == OLD  # published, not yet in force
    fixed_clock.advance(days=2)
    assert coordinator.user is not None
    assert quoted(token_headers(coordinator.user)) == NEW


def test_a_version_published_for_later_makes_declarations_due_only_when_it_comes_into_force(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor
) -> None:
    assert staff_actor.staff is not None
    assert staff_actor.user is not None
    assert coordinator.user is not None
    compliance_declaration(session, staff_actor.staff)
    colleague = make_actor(session, Role.staff)
    assert colleague.staff is not None
    compliance_declaration(session, colleague.staff)
    me = f"/api/v1/staff/{staff_actor.staff.id}/compliance"
    rule = "STF-SOCIAL-MEDIA-DECLARATION"
    _publish(client, coordinator, fixed_clock.today + timedelta(days=10), V1.read_text().replace(OLD, NEW))
    # Published, not in force: nothing is due yet.
    assert _finding(client, coordinator.headers, me, rule)["outcome"] == "pass"
    # The colleague declares early, for version 2.
    body = {
        "policy_version": 2,
        **EVERY_STATEMENT_HELD,
    }
    r = client.post(f"/api/v1/staff/{colleague.staff.id}/declarations", json=body, headers=colleague.headers)
    assert r.status_code == 201, r.text
    # A version neither in force nor published is refused; the one in force is still accepted.
    r = client.post(
        f"/api/v1/staff/{staff_actor.staff.id}/declarations",
        json=body | {"policy_version": 3},
        headers=staff_actor.headers,
    )
    assert refused_field(r) == "policy_version"

    fixed_clock.advance(days=11)
    headers = token_headers(coordinator.user)
    assert _finding(client, headers, me, rule)["outcome"] == "warn"
    theirs = f"/api/v1/staff/{colleague.staff.id}/compliance"
    assert _finding(client, headers, theirs, rule)["outcome"] == "pass"


def _group_with_a_colleague_who_declared_a_breach(
    session: Session, coordinator: Actor, staff_actor: Actor
) -> tuple[str, Actor]:
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    group = compliance_compliant_group(session, coordinator.staff)
    compliance_member(session, group, staff=staff_actor.staff)
    compliance_declaration(session, staff_actor.staff, profile_private=False)
    colleague = make_actor(session, Role.staff)
    assert colleague.staff is not None
    compliance_member(session, group, staff=colleague.staff)
    compliance_declaration(session, colleague.staff, no_young_friends=False)
    return f"/api/v1/groups/{group.id}/compliance", colleague


def test_staff_see_only_their_own_declared_answers_in_a_groups_evidence(
    client: TestClient, session: Session, coordinator: Actor, staff_actor: Actor, trustee: Actor
) -> None:
    url, colleague = _group_with_a_colleague_who_declared_a_breach(session, coordinator, staff_actor)
    assert colleague.staff is not None
    assert staff_actor.staff is not None

    def details(actor: Actor) -> dict[str, str]:
        f = _finding(client, actor.headers, url, "GRP-STAFF-DECLARATIONS")
        assert f["outcome"] == "fail"
        return {e["id"]: e["detail"] for e in f["evidence"]}

    mine, theirs = str(staff_actor.staff.id), str(colleague.staff.id)
    seen = details(staff_actor)
    assert "profile visible to friends only" in seen[mine]
    assert seen[theirs] == "Current declaration, not in good standing."
    assert "young" not in seen[theirs]
    everything = details(coordinator)
    assert "no young or vulnerable people" in everything[theirs]
    assert "profile visible to friends only" in everything[mine]
    trustees = details(trustee)
    assert trustees[theirs] == trustees[mine] == "Current declaration, not in good standing."

    # The organisation report's staff rule and a staff report: the same for a trustee.
    org = _finding(client, trustee.headers, "/api/v1/compliance", "STF-SOCIAL-MEDIA-DECLARATION")
    assert all("young" not in (e["detail"] or "") for e in org["evidence"])
    assert all("friends only" not in (e["detail"] or "") for e in org["evidence"])
    report = _finding(
        client,
        trustee.headers,
        f"/api/v1/staff/{colleague.staff.id}/compliance",
        "STF-SOCIAL-MEDIA-DECLARATION",
    )
    assert report["message"] == "Current declaration, not in good standing."
    own = _finding(
        client,
        colleague.headers,
        f"/api/v1/staff/{colleague.staff.id}/compliance",
        "STF-SOCIAL-MEDIA-DECLARATION",
    )
    assert "no young or vulnerable people" in own["message"]


def test_another_members_declarations_answer_exactly_as_an_unknown_id(
    client: TestClient, session: Session, staff_actor: Actor, trustee: Actor, coordinator: Actor
) -> None:
    colleague = make_actor(session, Role.staff)
    assert colleague.staff is not None
    compliance_declaration(session, colleague.staff, no_young_friends=False)
    unknown = "00000000-0000-4000-8000-000000000000"
    for method in ("get", "post"):
        other = getattr(client, method)(
            f"/api/v1/staff/{colleague.staff.id}/declarations",
            headers=staff_actor.headers,
            **({"json": DECLARED} if method == "post" else {}),
        )
        missing = getattr(client, method)(
            f"/api/v1/staff/{unknown}/declarations",
            headers=staff_actor.headers,
            **({"json": DECLARED} if method == "post" else {}),
        )
        assert other.status_code == missing.status_code == 404, (method, other.text)
        assert other.json()["detail"].replace(str(colleague.staff.id), unknown) == missing.json()["detail"]
    # A trustee reads whether a declaration stands, never its answers; the coordinator reads them.
    [seen] = client.get(f"/api/v1/staff/{colleague.staff.id}/declarations", headers=trustee.headers).json()[
        "items"
    ]
    assert seen["no_young_friends"] is None
    assert seen["read_policy"] is None
    full_url = f"/api/v1/staff/{colleague.staff.id}/declarations"
    [full] = client.get(full_url, headers=coordinator.headers).json()["items"]
    assert full["no_young_friends"] is False


def test_a_trustee_declares_as_the_member_of_staff_their_account_is_linked_to(
    client: TestClient, session: Session, trustee: Actor, staff_actor: Actor
) -> None:
    assert trustee.staff is not None
    assert staff_actor.staff is not None
    body = {
        "policy_version": 1,
        **EVERY_STATEMENT_HELD,
    }
    r = client.post(f"/api/v1/staff/{trustee.staff.id}/declarations", json=body, headers=trustee.headers)
    assert r.status_code == 201, r.text
    assert r.json()["no_young_friends"] is True  # their own answers, read back
    report = f"/api/v1/staff/{trustee.staff.id}/compliance"
    assert _finding(client, trustee.headers, report, "STF-SOCIAL-MEDIA-DECLARATION")["outcome"] == "pass"
    r = client.post(f"/api/v1/staff/{staff_actor.staff.id}/declarations", json=body, headers=trustee.headers)
    assert r.status_code == 403
    assert "your own declaration" in r.json()["detail"]


def test_done_when_a_version_two_rewording_one_clause(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    """Issue 15: publishing a version 2 that rewords one clause: a finding evaluated as_of a day before its
    effective date quotes version 1's words, a day after quotes version 2's; staff declarations become due."""
    assert coordinator.staff is not None
    assert coordinator.user is not None
    group = compliance_compliant_group(session, coordinator.staff)
    effective = fixed_clock.today + timedelta(days=5)
    _publish(client, coordinator, effective, V1.read_text().replace(OLD, NEW))
    fixed_clock.advance(days=7)
    headers = token_headers(coordinator.user)
    url = f"/api/v1/groups/{group.id}/compliance"
    day_before, day_after = effective - timedelta(days=1), effective + timedelta(days=1)
    before = _finding(client, headers, f"{url}?as_of={day_before}", "GRP-TWO-STAFF-ADMINS")
    after = _finding(client, headers, f"{url}?as_of={day_after}", "GRP-TWO-STAFF-ADMINS")
    assert before["clause"] == {"id": "REC-FB-TWO-ADMINS", "text": OLD}
    assert after["clause"] == {"id": "REC-FB-TWO-ADMINS", "text": NEW}
    declared_before = _finding(client, headers, f"{url}?as_of={day_before}", "GRP-STAFF-DECLARATIONS")
    declared_after = _finding(client, headers, f"{url}?as_of={day_after}", "GRP-STAFF-DECLARATIONS")
    assert declared_before["outcome"] == "pass"
    assert declared_after["outcome"] == "warn"
    assert all("Declaration due again" in e["detail"] for e in declared_after["evidence"])


TRAINING = (
    "- Providing effective management for staff and volunteers on ICT issues, through supervision, "
    "support and training\n"
)
CODE = "- All staff who use social media as part of their work should sign a code of conduct document\n"


def test_a_staff_rule_is_not_applied_only_when_every_sentence_it_cites_is_gone(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    text = V1.read_text()
    assert TRAINING in text
    assert CODE in text
    _publish(client, coordinator, fixed_clock.today, text.replace(TRAINING, "").replace(CODE, ""))
    findings = client.get("/api/v1/compliance", headers=coordinator.headers).json()["organisation"][
        "findings"
    ]
    by_id = {f["rule_id"]: f for f in findings}
    # The training rule cites only the sentence left out: not applied.
    assert by_id["STF-TRAINING-CURRENT"]["outcome"] == "not_applicable"
    assert by_id["STF-TRAINING-CURRENT"]["message"].startswith("Not applied")
    # The code of conduct rule keeps "Incorporating statements ... into the codes of conduct", still in force.
    assert not by_id["STF-CODE-OF-CONDUCT"]["message"].startswith("Not applied")


def test_a_negation_added_in_a_new_version_is_a_new_clause_in_the_diff(
    client: TestClient, fixed_clock: FixedClock, coordinator: Actor
) -> None:
    old = "All Facebook groups must be set as closed"
    assert old in V1.read_text()
    published = _publish(
        client,
        coordinator,
        fixed_clock.today,
        V1.read_text().replace(old, "All Facebook groups must not be set as closed"),
    )
    changes = published["diff"]["changes"]
    added = [c for c in changes if c["change"] == "added"]
    removed = [c for c in changes if c["change"] == "removed"]
    [new] = added
    assert new["clause_id"].startswith("V2-")
    assert "must not be set as closed" in new["after"]
    assert len(removed) == 1
    assert "must be set as closed" in removed[0]["before"]
    assert not [c for c in changes if c["change"] == "reworded"]
