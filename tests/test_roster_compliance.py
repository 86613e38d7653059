"""A group's compliance evidence from its latest roster: each discrepancy named (redacted by reach), the
roster and its answers as they stood on `as_of`, and a statement count that does not grow with the list."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api import clock
from api.auth.roles import Role
from api.memberships.models import MemberRole
from api.rosters.models import GroupRoster, RosterEntry
from tests.kit.auth import Actor, make_actor
from tests.kit.clock import TODAY
from tests.kit.compliance import make_compliant_group as compliance_compliant_group
from tests.kit.memberships import make_membership
from tests.test_compliance_api import count_queries
from tests.test_rosters import World, url

RULE = "GRP-ROSTER-RECONCILED"


@pytest.fixture
def world(session: Session) -> World:
    return World(session)


def _finding(client: TestClient, actor: Actor, group_id: uuid.UUID, **params: Any) -> dict[str, Any]:
    r = client.get(f"/api/v1/groups/{group_id}/compliance", params=params, headers=actor.headers)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = next(f for f in r.json()["findings"] if f["rule_id"] == RULE)
    return found


def _named(finding: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(type, label, kind) of each evidence after the roster's own."""
    return sorted(
        (e["type"], e["label"], e["detail"] and e["detail"].split(" ")[0]) for e in finding["evidence"][1:]
    )


def test_the_evidence_names_each_discrepancy_and_trustees_get_the_counts(
    client: TestClient, session: Session, coordinator: Actor, world: World
) -> None:
    r = client.post(url(world.group), json={"entries": world.entries()}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    roster_id = r.json()["id"]
    finding = _finding(client, coordinator, world.group.id)
    assert finding["outcome"] == "fail"
    summary = finding["evidence"][0]
    assert (summary["type"], summary["id"]) == ("roster", roster_id)
    assert summary["detail"] == (
        "1 unknown, 2 unconfirmed; discrepancies: admin_not_on_platform 1, admin_not_staff 1, "
        "departed_staff 1, not_on_platform 1, probable_match 2, unknown_person 1"
    )
    # The same discrepancies as the roster's own view, each with what to do.
    assert _named(finding) == [
        ("participant", "Kit Fairbrook", "probable_match"),
        ("participant", "Sam Older", "probable_match"),
        ("participant", "Zoë Absent", "not_on_platform"),
        ("roster_entry", "row 7: DJ Stranger", "admin_not_staff"),
        ("roster_entry", "row 7: DJ Stranger", "unknown_person"),
        ("staff", "Grace Lindqvist", "departed_staff"),
        ("staff", "Tom Ellis", "admin_not_on_platform"),
    ]
    assert finding["evidence"][1]["detail"].startswith(
        ("unknown_person (critical)", "departed_staff (critical)")
    )
    unknown = next(e for e in finding["evidence"] if e["type"] == "roster_entry")
    assert "Find out who this is" in unknown["detail"]
    assert "shown as 'DJ Stranger'" in unknown["detail"]

    # Trustees: the roster and its counts, nobody on the list.
    trustee = make_actor(session, Role.trustee)
    counted = _finding(client, trustee, world.group.id)
    assert [e["type"] for e in counted["evidence"]] == ["roster"]
    assert counted["evidence"][0]["detail"] == summary["detail"]
    for name in ("Stranger", "Grace", "Kit", "Sam", "Zoë", "Tom"):
        assert name not in str(counted)

    # A member of staff in the group: Kit (matched by name, not a member) is a young person outside their
    # groups, whom the roster shows them as unknown; so the finding is the roster alone, without counts
    # (which would say one of their "unknown" entries is someone) or the evidence's order (which would
    # say which one): tests/test_roster_leaks.py.
    member = make_actor(session, Role.staff)
    assert member.staff is not None
    make_membership(session, world.group, staff=member.staff, role=MemberRole.member)
    seen = _finding(client, member, world.group.id)
    assert seen["outcome"] == "fail"
    assert [(e["type"], e["detail"]) for e in seen["evidence"]] == [("roster", None)]
    assert "Kit" not in str(seen)
    assert str(world.kit.id) not in str(seen)


def _stamp(
    session: Session, model: type[GroupRoster] | type[RosterEntry], column: str, ids: Any, days: int
) -> None:
    """Move a stored timestamp back `days` days (noon that day): what was uploaded or answered then."""
    at = clock.start_of(TODAY - timedelta(days=days)) + timedelta(hours=12)
    table = model.__table__  # type: ignore[union-attr]
    session.execute(sa.update(table).where(table.c.id.in_(list(ids))).values({column: at}))
    session.commit()


def test_a_past_as_of_sees_the_roster_and_the_answers_as_they_were_that_day(
    client: TestClient, session: Session, coordinator: Actor, world: World
) -> None:
    # Taken and uploaded 10 days ago; the unknown and the two probable entries answered 5 days ago.
    body = {"captured_on": str(TODAY - timedelta(days=10)), "entries": world.entries()}
    roster = client.post(url(world.group), json=body, headers=coordinator.headers).json()
    _stamp(session, GroupRoster, "created_at", [uuid.UUID(roster["id"])], 10)
    base = f"{url(world.group)}/{roster['id']}/entries"
    answers = {4: {"resolution": "confirmed"}, 5: {"resolution": "confirmed"}}
    answers[6] = {"resolution": "removed", "removed_on": str(TODAY - timedelta(days=5))}
    for row, answer in answers.items():
        entry = roster["entries"][row]["id"]
        r = client.post(f"{base}/{entry}/resolve", json=answer, headers=coordinator.headers)
        assert r.status_code == 200, r.text
    _stamp(
        session, RosterEntry, "resolved_at", [uuid.UUID(roster["entries"][row]["id"]) for row in answers], 5
    )

    # Today, and on the day the answers were made: accounted for.
    assert _finding(client, coordinator, world.group.id)["outcome"] == "pass"
    on_answer_day = _finding(client, coordinator, world.group.id, as_of=str(TODAY - timedelta(days=5)))
    assert on_answer_day["outcome"] == "pass"
    assert "unknown_person" not in str(on_answer_day["evidence"])
    # The day before: the answers were not made yet (today's resolutions do not reach back).
    before = _finding(client, coordinator, world.group.id, as_of=str(TODAY - timedelta(days=6)))
    assert before["outcome"] == "fail"
    assert before["evidence"][0]["detail"].startswith("1 unknown, 2 unconfirmed")
    assert ("roster_entry", "row 7: DJ Stranger", "unknown_person") in _named(before)
    assert ("participant", "Kit Fairbrook", "probable_match") in _named(before)
    # Before the list was taken and uploaded: no roster at all.
    assert _finding(client, coordinator, world.group.id, as_of=str(TODAY - timedelta(days=11)))[
        "outcome"
    ] == ("not_applicable")

    # A list uploaded today but taken 8 days ago does not exist for a date before today: on that date the
    # latest roster is still the first one.
    later = client.post(
        url(world.group),
        json={"captured_on": str(TODAY - timedelta(days=8)), "entries": world.entries()},
        headers=coordinator.headers,
    ).json()
    past = _finding(client, coordinator, world.group.id, as_of=str(TODAY - timedelta(days=3)))
    assert past["evidence"][0]["id"] == roster["id"]
    assert past["outcome"] == "pass"
    now = _finding(client, coordinator, world.group.id)
    assert now["evidence"][0]["id"] == later["id"]
    assert now["outcome"] == "fail"
    # The group report's periodic review agrees: the reconciled list counted on the day it was answered.
    r = client.get(
        f"/api/v1/groups/{world.group.id}/compliance",
        params={"as_of": str(TODAY - timedelta(days=6))},
        headers=coordinator.headers,
    ).json()
    review = next(f for f in r["findings"] if f["rule_id"] == "GRP-PERIODIC-REVIEW")
    assert all(e["type"] != "roster" for e in review["evidence"])


def test_the_statement_count_does_not_grow_with_the_roster(
    client: TestClient, engine: Engine, session: Session, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    counts, named = [], []
    for n in (5, 1_000):
        group = compliance_compliant_group(session, coordinator.staff)
        entries = [{"display_name": f"Stranger {i}", "handle": f"stranger_{n}_{i}"} for i in range(n)]
        r = client.post(
            f"/api/v1/groups/{group.id}/rosters", json={"entries": entries}, headers=coordinator.headers
        )
        assert r.status_code == 201, r.text
        with count_queries(engine) as statements:
            finding = _finding(client, coordinator, group.id)
        counts.append(len(statements))
        named.append(sum(e["type"] == "roster_entry" for e in finding["evidence"]))
    assert named == [5, 1_000]
    assert counts[0] == counts[1]
