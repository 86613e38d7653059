"""Compliance routes: reports, as_of, reach per role, trustee redaction, CSV, waivers and query counts."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api import clock
from api.audit.models import AuditEvent
from api.compliance import cache, loading, policy_facts, queries, staff_snapshots
from api.compliance.models import (
    GroupCompliancePublic,
    OrganisationReportPublic,
    StaffCompliancePublic,
)
from api.compliance.rules import ALL_IDS, GROUP_RULES
from api.consents.models import ConsentKind, Purpose
from api.groups.models import Group, Platform, Visibility
from api.memberships.models import MemberRole
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.compliance import bulk_groups, bulk_members, group_fields, make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.incidents import make_incident
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field
from tests.kit.staff import make_staff
from tests.kit.statements import count_statements

RULES = "/api/v1/compliance/rules"
ORG = "/api/v1/compliance"
WAIVERS = "/api/v1/compliance/waivers"


def group_url(group_id: uuid.UUID) -> str:
    return f"/api/v1/groups/{group_id}/compliance"


def finding(body: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(f for f in body["findings"] if f["rule_id"] == rule_id)


# Moved to tests/kit (tests/kit/statements.py): kept for the tests that still import it from here.
count_queries = count_statements


# --- catalog ----------------------------------------------------------------------------------------------


def test_catalog_lists_every_rule_with_its_clause(client: TestClient, trustee: Actor) -> None:
    r = client.get(RULES, headers=trustee.headers)
    assert r.status_code == 200
    body = r.json()
    assert [rule["id"] for rule in body] == list(ALL_IDS)
    rule = next(x for x in body if x["id"] == "GRP-TWO-STAFF-ADMINS")
    assert rule["clause"]["id"] == "REC-FB-TWO-ADMINS"
    assert "at least two current members of staff" in rule["clause"]["text"]


# --- group report -----------------------------------------------------------------------------------------


def test_a_compliant_group(client: TestClient, coordinator: Actor, compliant_group: Group) -> None:
    r = client.get(group_url(compliant_group.id), headers=coordinator.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    GroupCompliancePublic.model_validate(body)  # the documented shape is the served shape
    assert body["status"] == "compliant", [f for f in body["findings"] if f["outcome"] in ("fail", "warn")]
    assert [f["rule_id"] for f in body["findings"]] == [rule.id for rule in GROUP_RULES]
    assert body["as_of"] == TODAY.isoformat()
    assert body["facts"]["dated"]
    assert any("policy settings" in f for f in body["facts"]["current"])


def test_a_failing_finding_cites_its_clause_and_says_what_to_do(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff, visibility=Visibility.public)
    body = client.get(group_url(group.id), headers=coordinator.headers).json()
    assert body["status"] == "non_compliant"
    assert body["counts"]["fail"] == 1
    f = finding(body, "GRP-VISIBILITY-CLOSED")
    assert f["outcome"] == "fail"
    assert f["clause"]["id"] == "REC-FB-CLOSED-ADMIN-APPROVAL"
    assert f["severity"] == "high"
    assert f["remediation"]
    assert f["evidence"][0] == {
        "type": "group",
        "id": str(group.id),
        "label": group.name,
        "detail": "visibility: public",
    }


def test_thresholds_come_from_the_policy_settings(
    client: TestClient, coordinator: Actor, compliant_group: Group
) -> None:
    settings = client.get("/api/v1/policy-settings", headers=coordinator.headers).json()
    settings = {k: v for k, v in settings.items() if k not in ("updated_at", "version")}
    settings["min_group_admins"] = 3
    assert (
        client.put("/api/v1/policy-settings", json=settings, headers=coordinator.headers).status_code == 200
    )
    body = client.get(group_url(compliant_group.id), headers=coordinator.headers).json()
    assert finding(body, "GRP-TWO-STAFF-ADMINS")["outcome"] == "fail"


def test_as_of_evaluates_dated_facts_as_they_stood(
    client: TestClient, coordinator: Actor, session: Session, compliant_group: Group
) -> None:
    assert coordinator.staff is not None
    # A third admin who left 10 days ago but was never removed; an incident reported 5 days ago, still open.
    gone = make_staff(session, left_on=TODAY - timedelta(days=10))
    make_membership(session, compliant_group, staff=gone, role=MemberRole.admin)
    make_incident(session, compliant_group, coordinator.staff, created_at=clock.now() - timedelta(days=5))
    today = client.get(group_url(compliant_group.id), headers=coordinator.headers).json()
    assert today["status"] == "non_compliant"
    assert finding(today, "GRP-NO-DEPARTED-STAFF")["outcome"] == "fail"
    assert finding(today, "GRP-OPEN-SERIOUS-INCIDENT")["outcome"] == "warn"
    before = (TODAY - timedelta(days=20)).isoformat()
    then = client.get(
        group_url(compliant_group.id), params={"as_of": before}, headers=coordinator.headers
    ).json()
    assert then["as_of"] == before
    assert finding(then, "GRP-NO-DEPARTED-STAFF")["outcome"] == "pass"
    assert finding(then, "GRP-OPEN-SERIOUS-INCIDENT")["outcome"] == "pass"


def test_an_incident_closed_on_the_day_is_closed_then(
    client: TestClient, coordinator: Actor, session: Session, compliant_group: Group
) -> None:
    assert coordinator.staff is not None
    reported = clock.now() - timedelta(days=6)
    closed = clock.now() - timedelta(days=3)
    make_incident(session, compliant_group, coordinator.staff, created_at=reported, closed_at=closed)
    outcomes = {}
    for days_ago in (2, 3, 4, 7):
        as_of = (clock.now() - timedelta(days=days_ago)).date().isoformat()
        body = client.get(
            group_url(compliant_group.id), params={"as_of": as_of}, headers=coordinator.headers
        ).json()
        outcomes[days_ago] = finding(body, "GRP-OPEN-SERIOUS-INCIDENT")["outcome"]
    assert outcomes == {2: "pass", 3: "pass", 4: "warn", 7: "pass"}


def test_a_consent_withdrawn_today_fails_today_but_not_yesterday(
    client: TestClient, coordinator: Actor, session: Session, compliant_group: Group
) -> None:
    child = make_participant(session)
    make_membership(session, compliant_group, participant=child)
    given_on = TODAY - timedelta(days=300)
    make_consent(session, child, ConsentKind.esafety_agreement, given_on=given_on, withdrawn_on=TODAY)
    images = [Purpose.social_media, Purpose.website]
    make_consent(session, child, ConsentKind.image_use, purposes=images, given_on=given_on)
    today = client.get(group_url(compliant_group.id), headers=coordinator.headers).json()
    assert finding(today, "GRP-ESAFETY-AGREEMENT")["outcome"] == "fail"
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    then = client.get(
        group_url(compliant_group.id), params={"as_of": yesterday}, headers=coordinator.headers
    ).json()
    assert finding(then, "GRP-ESAFETY-AGREEMENT")["outcome"] == "pass"


def test_as_of_in_the_future_or_malformed_is_422(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = make_group(session, **group_fields())
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    r = client.get(group_url(group.id), params={"as_of": tomorrow}, headers=coordinator.headers)
    assert refused_field(r) == "as_of"
    r = client.get(group_url(group.id), params={"as_of": "last tuesday"}, headers=coordinator.headers)
    assert r.status_code == 422


def test_unknown_group_is_404(client: TestClient, coordinator: Actor) -> None:
    assert client.get(group_url(uuid.uuid4()), headers=coordinator.headers).status_code == 404


# --- reach ------------------------------------------------------------------------------------------------


def test_staff_evaluate_only_groups_they_are_in_today(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session
) -> None:
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    mine = make_compliant_group(session, coordinator.staff)
    make_membership(session, mine, staff=staff_actor.staff)
    other = make_compliant_group(session, coordinator.staff)
    left = make_compliant_group(session, coordinator.staff)
    make_membership(session, left, staff=staff_actor.staff, ended_on=TODAY)
    assert client.get(group_url(mine.id), headers=staff_actor.headers).status_code == 200
    assert client.get(group_url(other.id), headers=staff_actor.headers).status_code == 404
    assert client.get(group_url(left.id), headers=staff_actor.headers).status_code == 404
    report = client.get(ORG, headers=staff_actor.headers).json()
    assert [g["group_id"] for g in report["groups"]] == [str(mine.id)]


def test_staff_see_names_only_of_children_in_their_reach_today(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session, compliant_group: Group
) -> None:
    # A past as_of shows who was a member then; a child who has since left the group is out of this member
    # of staff's reach today, so their name must not reach them through the evidence.
    assert staff_actor.staff is not None
    make_membership(session, compliant_group, staff=staff_actor.staff)
    gone = make_participant(session, full_name="Robin Gone-Away")
    here = make_participant(session, full_name="Sasha Still-Here")
    # Staff do not read every child, so their `as_of` is taken by the month (`grain.as_of`): a past month's
    # last day, on which the child who has since left was still a member.
    make_membership(session, compliant_group, participant=gone, ended_on=TODAY.replace(day=1))
    make_membership(session, compliant_group, participant=here)
    last_week = (TODAY.replace(day=1) - timedelta(days=1)).isoformat()

    def labels(actor: Actor) -> set[str]:
        body = client.get(
            group_url(compliant_group.id), params={"as_of": last_week}, headers=actor.headers
        ).json()
        found = finding(body, "GRP-ESAFETY-AGREEMENT")
        return {e["label"] for e in found["evidence"] if e["type"] == "participant"}

    assert {"Robin Gone-Away", "Sasha Still-Here"} <= labels(coordinator)
    seen_by_staff = labels(staff_actor)
    assert "Sasha Still-Here" in seen_by_staff
    assert "Robin Gone-Away" not in seen_by_staff
    # Out of reach: no name, and no id either (not even part of one), as the README says.
    assert "a young person outside your groups" in seen_by_staff
    body = client.get(group_url(compliant_group.id), params={"as_of": last_week}, headers=staff_actor.headers)
    assert str(gone.id) not in body.text
    assert gone.id.hex[:4] + "…" not in body.text
    hidden = [e for e in finding(body.json(), "GRP-ESAFETY-AGREEMENT")["evidence"] if e["id"] is None]
    assert hidden
    assert {e["type"] for e in hidden} == {"participant"}


def test_staff_read_only_their_own_staff_report(
    client: TestClient, coordinator: Actor, staff_actor: Actor, trustee: Actor
) -> None:
    assert staff_actor.staff is not None
    assert coordinator.staff is not None
    own = client.get(f"/api/v1/staff/{staff_actor.staff.id}/compliance", headers=staff_actor.headers)
    assert own.status_code == 200
    StaffCompliancePublic.model_validate(own.json())
    assert {f["rule_id"] for f in own.json()["findings"]} == {
        "STF-CODE-OF-CONDUCT",
        "STF-OFFICIAL-EMAIL",
        "STF-TRAINING-CURRENT",
        "STF-NO-ACCESS-AFTER-LEAVING",
        "STF-SOCIAL-MEDIA-DECLARATION",
    }
    other = f"/api/v1/staff/{coordinator.staff.id}/compliance"
    assert client.get(other, headers=staff_actor.headers).status_code == 404
    assert client.get(other, headers=trustee.headers).status_code == 200
    assert (
        client.get(f"/api/v1/staff/{uuid.uuid4()}/compliance", headers=coordinator.headers).status_code == 404
    )


def test_a_departed_member_of_staff_with_an_account_and_a_group_fails(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    from api.auth.roles import Role
    from tests.kit.auth import make_user

    assert coordinator.staff is not None
    gone = make_staff(session, left_on=TODAY - timedelta(days=3))
    make_user(session, gone, Role.staff)
    group = make_compliant_group(session, coordinator.staff)
    make_membership(session, group, staff=gone)
    body = client.get(f"/api/v1/staff/{gone.id}/compliance", headers=coordinator.headers).json()
    f = finding(body, "STF-NO-ACCESS-AFTER-LEAVING")
    assert f["outcome"] == "fail"
    assert "account" in f["message"]
    assert "1 group" in f["message"]
    assert body["status"] == "non_compliant"


# --- trustees ---------------------------------------------------------------------------------------------


def test_trustees_see_findings_without_participants_names(
    client: TestClient, coordinator: Actor, trustee: Actor, session: Session, compliant_group: Group
) -> None:
    child = make_participant(session, full_name="Zelda Quietname", carer_email="zq-carer@example.org")
    make_membership(
        session, compliant_group, participant=child
    )  # no consents: two findings name them as evidence
    as_coordinator = client.get(group_url(compliant_group.id), headers=coordinator.headers)
    assert "Zelda Quietname" in as_coordinator.text
    r = client.get(group_url(compliant_group.id), headers=trustee.headers)
    assert r.status_code == 200
    assert "Zelda Quietname" not in r.text
    assert "zq-carer" not in r.text
    evidence = finding(r.json(), "GRP-ESAFETY-AGREEMENT")["evidence"]
    assert evidence == [
        {
            "type": "participant",
            "id": None,
            "label": "a young person outside your groups",
            "detail": None,
        }
    ]
    org = client.get(ORG, headers=trustee.headers)
    assert "Zelda Quietname" not in org.text


# --- organisation report ----------------------------------------------------------------------------------


def test_organisation_report_totals_and_filters(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    assert coordinator.staff is not None
    good = make_compliant_group(session, coordinator.staff)
    public = make_compliant_group(session, coordinator.staff, visibility=Visibility.public)
    risky = make_compliant_group(session, coordinator.staff, platform=Platform.whatsapp)
    make_incident(session, risky, coordinator.staff)
    make_group(session, **group_fields(started_on=TODAY + timedelta(days=5)))  # not started: not listed
    archived = make_compliant_group(session, coordinator.staff)
    archived.archived_on = TODAY
    session.add(archived)
    session.commit()

    r = client.get(ORG, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    OrganisationReportPublic.model_validate(body)
    statuses = {g["group_id"]: g["status"] for g in body["groups"]}
    assert statuses == {str(good.id): "compliant", str(public.id): "non_compliant", str(risky.id): "at_risk"}
    assert body["totals"]["groups"] == 3
    assert (body["totals"]["compliant"], body["totals"]["at_risk"], body["totals"]["non_compliant"]) == (
        1,
        1,
        1,
    )
    assert body["totals"]["failing_by_rule"] == {"GRP-VISIBILITY-CLOSED": 1}
    summary = next(g for g in body["groups"] if g["group_id"] == str(public.id))
    assert summary["failing_rules"] == ["GRP-VISIBILITY-CLOSED"]
    org_rules = [f["rule_id"] for f in body["organisation"]["findings"]]
    assert org_rules[0] == "ORG-COORDINATOR-APPOINTED"
    assert finding(body["organisation"], "ORG-COORDINATOR-APPOINTED")["outcome"] == "pass"
    assert set(org_rules) >= {"STF-OFFICIAL-EMAIL", "STF-NO-ACCESS-AFTER-LEAVING"}

    def ids(**params: str) -> set[str]:
        got = client.get(ORG, params=params, headers=coordinator.headers).json()
        return {g["group_id"] for g in got["groups"]}

    assert ids(status="at_risk") == {str(risky.id)}
    assert ids(platform="whatsapp") == {str(risky.id)}
    assert ids(rule="GRP-VISIBILITY-CLOSED") == {str(public.id)}
    assert ids(rule="GRP-OPEN-SERIOUS-INCIDENT") == {str(risky.id)}
    r = client.get(ORG, params={"rule": "NOPE"}, headers=coordinator.headers)
    assert refused_field(r) == "rule"
    assert client.get(ORG, params={"status": "fine"}, headers=coordinator.headers).status_code == 422


def test_no_coordinator_fails_the_organisation(client: TestClient, trustee: Actor) -> None:
    body = client.get(ORG, headers=trustee.headers).json()
    assert finding(body["organisation"], "ORG-COORDINATOR-APPOINTED")["outcome"] == "fail"
    assert body["organisation"]["status"] == "non_compliant"


def test_organisation_report_as_csv(
    client: TestClient, coordinator: Actor, trustee: Actor, session: Session
) -> None:
    assert coordinator.staff is not None
    public = make_compliant_group(
        session, coordinator.staff, visibility=Visibility.public, name="=HYPERLINK(evil)"
    )
    r = client.get(ORG, headers={**trustee.headers, "Accept": "text/csv"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert rows[0]["scope"] == "organisation"
    group_row = next(row for row in rows if row["id"] == str(public.id))
    assert group_row["status"] == "non_compliant"
    assert group_row["failing_rules"] == "GRP-VISIBILITY-CLOSED"
    assert group_row["name"] == "'=HYPERLINK(evil)"  # never a live formula in a trustee's spreadsheet


# --- waivers ----------------------------------------------------------------------------------------------


def waiver_body(group: Group, **fields: Any) -> dict[str, Any]:
    """A request to waive the periodic-review rule in `group` for three days; `fields` replace or add."""
    body: dict[str, Any] = {
        "group_id": str(group.id),
        "rule_id": "GRP-PERIODIC-REVIEW",
        "reason": "reason",
        "expires_on": (TODAY + timedelta(days=3)).isoformat(),
    }
    return {**body, **fields}


def test_a_waiver_keeps_the_outcome_but_not_the_status_until_revoked(
    client: TestClient, coordinator: Actor, trustee: Actor, session: Session
) -> None:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff, visibility=Visibility.public)
    body = waiver_body(
        group,
        rule_id="GRP-VISIBILITY-CLOSED",
        reason="Moving the group to a closed one this month",
        expires_on=(TODAY + timedelta(days=30)).isoformat(),
    )
    r = client.post(WAIVERS, json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    waiver = r.json()
    assert waiver["is_active"] is True
    assert waiver["granted_on"] == TODAY.isoformat()

    report = client.get(group_url(group.id), headers=trustee.headers).json()
    f = finding(report, "GRP-VISIBILITY-CLOSED")
    assert f["outcome"] == "fail"
    assert f["waiver"]["id"] == waiver["id"]
    assert f["counts_against_status"] is False
    assert report["status"] == "compliant"
    assert report["counts"]["waived"] == 1
    org = client.get(ORG, headers=trustee.headers).json()
    assert next(g for g in org["groups"] if g["group_id"] == str(group.id))["waived_rules"] == [
        "GRP-VISIBILITY-CLOSED"
    ]
    listed = client.get(WAIVERS, params={"group_id": str(group.id)}, headers=trustee.headers).json()
    assert [w["id"] for w in listed["items"]] == [waiver["id"]]
    assert listed["total"] == 1

    # Evaluated as of before it was granted, the waiver did not exist.
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    then = client.get(group_url(group.id), params={"as_of": yesterday}, headers=coordinator.headers).json()
    assert then["status"] == "non_compliant"

    assert client.post(WAIVERS, json=body, headers=coordinator.headers).status_code == 409
    r = client.post(f"{WAIVERS}/{waiver['id']}/revoke", headers=coordinator.headers)
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    assert client.get(group_url(group.id), headers=coordinator.headers).json()["status"] == "non_compliant"
    assert client.post(f"{WAIVERS}/{waiver['id']}/revoke", headers=coordinator.headers).status_code == 409
    assert client.get(WAIVERS, params={"active": "true"}, headers=coordinator.headers).json()["total"] == 0

    actions = session.exec(
        select(AuditEvent.action).where(AuditEvent.entity_id == uuid.UUID(waiver["id"]))
    ).all()
    assert sorted(actions) == ["compliance_waiver.create", "compliance_waiver.revoke"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rule_id": "GRP-NOPE"}, "rule_id"),
        ({"rule_id": "STF-OFFICIAL-EMAIL"}, "rule_id"),
        ({"group_id": "00000000-0000-0000-0000-000000000000"}, "group_id"),
        ({"expires_on": TODAY.isoformat()}, "expires_on"),
        ({"reason": ""}, "reason"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_a_bad_waiver_is_422_naming_the_field(
    client: TestClient, coordinator: Actor, session: Session, change: dict[str, Any], field: str
) -> None:
    group = make_group(session, **group_fields())
    r = client.post(WAIVERS, json=waiver_body(group, **change), headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}
    assert client.get(WAIVERS, headers=coordinator.headers).json()["total"] == 0


def test_staff_list_only_their_groups_waivers(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session
) -> None:
    mine, other = make_group(session, **group_fields()), make_group(session, **group_fields())
    make_membership(session, mine, staff=staff_actor.staff)
    for g in (mine, other):
        assert client.post(WAIVERS, json=waiver_body(g), headers=coordinator.headers).status_code == 201
    listed = client.get(WAIVERS, headers=staff_actor.headers).json()
    assert [w["group_id"] for w in listed["items"]] == [str(mine.id)]
    assert listed["total"] == 1


# --- query counts: constant whatever the size --------------------------------------------------------------


def _group_with(session: Session, coordinator: Actor, n: int) -> Group:
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    bulk_members(session, group, n)
    return group


def test_loading_a_group_takes_the_same_queries_for_10_and_1000_members(
    engine: Engine, coordinator: Actor, session: Session
) -> None:
    small, big = _group_with(session, coordinator, 10), _group_with(session, coordinator, 1000)
    counts = []
    seen = []
    for group in (small, big):
        with count_statements(engine) as statements:
            snapshot, _ = loading.load_group(session=session, group_id=group.id, as_of=TODAY)
        counts.append(len(statements))
        seen.append("|".join(s[:30] for s in statements))
        assert len(snapshot.members) >= 10
    assert len(snapshot.members) == 1003
    assert counts[0] == counts[1] == 11, seen  # with the latest roster's entries (none here)


def test_a_group_load_leaves_accounts_unknown_rather_than_false(coordinator: Actor, session: Session) -> None:
    # No group rule reads whether a member of staff can sign in, so a group load does not ask; the field says
    # "not loaded" (None), never a False that a future rule could take for "no enabled account".
    assert coordinator.staff is not None
    group = _group_with(session, coordinator, 1)
    snapshot, _ = loading.load_group(session=session, group_id=group.id, as_of=TODAY)
    staff = [m.staff for m in snapshot.members if m.staff is not None]
    assert staff
    assert all(s.has_active_account is None for s in staff)
    # The staff report, which does read it, loads it: the coordinator signs in.
    [own] = staff_snapshots.staff_snapshots(
        session, TODAY, policy_facts._thresholds(session), queries.STAFF.c.id == coordinator.staff.id
    )
    assert own.staff.has_active_account is True


def test_the_group_route_takes_the_same_queries_for_10_and_1000_members(
    client: TestClient, engine: Engine, coordinator: Actor, session: Session
) -> None:
    small, big = _group_with(session, coordinator, 10), _group_with(session, coordinator, 1000)
    counts: dict[bool, list[int]] = {False: [], True: []}
    for group in (small, big):
        # A first read with nothing kept, then one with the policy kept (a write to the group since).
        for policy_kept, forget in ((False, cache.clear), (True, cache.clear_groups)):
            forget()
            with count_statements(engine) as statements:
                r = client.get(group_url(group.id), headers=coordinator.headers)
            assert r.status_code == 200
            assert r.json()["status"] == "compliant"
            counts[policy_kept].append(len(statements))
    assert counts[False][0] == counts[False][1]
    assert counts[True][0] == counts[True][1] == counts[False][0] - 2  # the thresholds, the policy in force


def test_the_organisation_report_takes_the_same_queries_for_5_and_200_groups(
    client: TestClient, engine: Engine, coordinator: Actor, session: Session
) -> None:
    admins = (make_staff(session), make_staff(session))
    counts = []
    for n in (5, 195):  # 5 groups, then 200 in all
        bulk_groups(session, n, admins)
        cache.clear()  # each a first read: later ones are tests/test_org_report_cache.py's
        with count_statements(engine) as statements:
            r = client.get(ORG, headers=coordinator.headers)
        assert r.status_code == 200
        counts.append(len(statements))
    assert len(r.json()["groups"]) == 200
    assert counts[0] == counts[1]
