from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Connection, text
from sqlmodel import Session, col, func, select

from api import clock
from api.audit.models import AuditEvent
from api.groups.models import Group
from api.incidents import statistics
from api.incidents.follow_up_models import IncidentView
from api.incidents.lifecycle import ALLOWED
from api.incidents.models import Incident, IncidentEntry, IncidentStatus, IncidentTransition
from api.main import create_app
from api.participants.models import Participant
from api.policy.models import PolicySettings
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field, request_body
from tests.kit.staff import make_staff
from tests.kit.statements import count_statements
from tests.test_permission_matrix import served_routes

URL = "/api/v1/incidents"
NOW = clock.now()
CHAIN = [
    IncidentStatus.reported,
    IncidentStatus.triaged,
    IncidentStatus.investigating,
    IncidentStatus.action_taken,
    IncidentStatus.closed,
]
CLOSE = {"outcome": "resolved_internally", "outcome_summary": "Messages removed; apology given"}


incident_body = request_body(
    {
        "category": "cyberbullying",
        "severity": "medium",
        "occurred_at": (NOW - timedelta(days=1)).isoformat(),
        "summary": "Unkind messages in the band chat",
        "details": "Three messages about a member's playing",
    }
)


def report(client: TestClient, actor: Actor, **overrides: Any) -> dict[str, Any]:
    r = client.post(URL, json=incident_body(**overrides), headers=actor.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def in_reach(session: Session, actor: Actor, *children: Participant) -> Group:
    """A group the member of staff and the children are in today, so the children are in the staff's reach."""
    assert actor.staff is not None
    group = make_group(session)
    make_membership(session, group, staff=actor.staff)
    for child in children:
        make_membership(session, group, participant=child)
    return group


def move(client: TestClient, actor: Actor, incident_id: str, to: IncidentStatus, **extra: Any) -> Any:
    body: dict[str, Any] = {"to_status": to.value, "reason": f"moving to {to.value}", **extra}
    if to is IncidentStatus.closed and not extra:
        body.update(CLOSE)
    return client.post(f"{URL}/{incident_id}/transitions", json=body, headers=actor.headers)


def bring_to(client: TestClient, actor: Actor, incident_id: str, status: IncidentStatus) -> None:
    for target in CHAIN[1 : CHAIN.index(status) + 1]:
        assert move(client, actor, incident_id, target).status_code == 200


def add_entry(
    client: TestClient, actor: Actor, incident_id: str, kind: str, text: str, **more: Any
) -> Response:
    """`actor`'s POST of a chronology entry to the incident: `kind`, `text` and `more` (`occurred_at`,
    `corrects_entry_id`); the answer, unchecked."""
    body = {"kind": kind, "text": text, **more}
    r: Response = client.post(f"{URL}/{incident_id}/entries", json=body, headers=actor.headers)
    return r


def views(session: Session, incident_id: str) -> list[IncidentView]:
    query = select(IncidentView).where(IncidentView.incident_id == uuid.UUID(incident_id))
    return list(session.exec(query.order_by(col(IncidentView.viewed_at), col(IncidentView.id))).all())


def backdate(session: Session, incident_id: str, reported: datetime) -> None:
    incident = session.get(Incident, uuid.UUID(incident_id))
    assert incident is not None
    if session.get_bind().dialect.name == "postgresql":
        # PostgreSQL refuses a change to an incident's creation columns (the incident_fixed_columns trigger):
        # this test-only rewind runs with triggers off for its one transaction, as only a superuser can.
        session.execute(text("SET LOCAL session_replication_role = replica"))
    incident.created_at = reported
    session.add(incident)
    session.commit()


# --- reporting ------------------------------------------------------------------------------------------


def test_staff_report_defaults_reporter_and_starts_reported(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    child = make_participant(session)
    colleague = make_staff(session)
    group = in_reach(session, staff_actor, child)
    created = report(
        client,
        staff_actor,
        participant_ids=[str(child.id), str(child.id)],
        staff_ids=[str(colleague.id)],
        group_id=str(group.id),
        rule_ids=["GRP-OPEN-SERIOUS-INCIDENT"],
    )
    assert created["status"] == "reported"
    assert created["reported_by_id"] == str(staff_actor.staff.id)  # type: ignore[union-attr]
    assert created["participant_ids"] == [str(child.id)]
    assert created["staff_ids"] == [str(colleague.id)]
    assert created["closed_at"] is None
    assert created["parent_notification_overdue"] is False
    event_ = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.create")).one()
    assert event_.changes["participant_ids"] == {"after": [str(child.id)]}
    assert event_.changes["details"] == "<personal: changed>"  # the account itself is not copied to the log


def test_coordinator_may_name_another_reporter_but_staff_may_not(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session
) -> None:
    other = make_staff(session)
    created = report(client, coordinator, reported_by_id=str(other.id))
    assert created["reported_by_id"] == str(other.id)
    r = client.post(URL, json=incident_body(reported_by_id=str(other.id)), headers=staff_actor.headers)
    assert r.status_code == 403
    r = client.post(URL, json=incident_body(reported_by_id=str(uuid.uuid4())), headers=coordinator.headers)
    assert refused_field(r) == "reported_by_id"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"participant_ids": ["KNOWN", str(uuid.uuid4())]}, "participant_ids.1"),
        ({"staff_ids": [str(uuid.uuid4())]}, "staff_ids.0"),
        ({"group_id": str(uuid.uuid4())}, "group_id"),
        ({"rule_ids": ["GRP-VISIBILITY-CLOSED", "grp-lowercase"]}, "rule_ids.1"),
        ({"rule_ids": ["XYZ-1"]}, "rule_ids.0"),
        ({"rule_ids": ["GRP-NOT-A-REAL-RULE"]}, "rule_ids.0"),
        ({"occurred_at": "2025-01-01T10:00:00"}, "occurred_at"),
        ({"occurred_at": (NOW + timedelta(days=1)).isoformat()}, "occurred_at"),
        ({"severity": "catastrophic"}, "severity"),
        ({"status": "closed"}, "status"),
    ],
)
def test_bad_report_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, coordinator: Actor, session: Session, overrides: dict[str, Any], field: str
) -> None:
    if "participant_ids" in overrides:
        overrides["participant_ids"][0] = str(make_participant(session).id)
    r = client.post(URL, json=incident_body(**overrides), headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert field in {e["field"] for e in r.json()["errors"]}
    assert session.exec(select(func.count()).select_from(Incident)).one() == 0


# --- lifecycle -------------------------------------------------------------------------------------------


def test_walk_every_transition_including_reopen(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    incident = report(client, coordinator)
    iid = incident["id"]
    for target in CHAIN[1:]:
        r = move(client, coordinator, iid, target)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == target.value
    closed = client.get(f"{URL}/{iid}", headers=coordinator.headers).json()
    assert closed["closed_at"] is not None
    assert closed["outcome"] == "resolved_internally"

    reopened = move(client, coordinator, iid, IncidentStatus.investigating).json()
    assert reopened["status"] == "investigating"
    assert reopened["closed_at"] is None
    assert reopened["outcome"] is None

    again = move(client, coordinator, iid, IncidentStatus.action_taken)
    assert again.status_code == 200
    final = move(
        client, coordinator, iid, IncidentStatus.closed, outcome="disciplinary", outcome_summary="Warning"
    ).json()
    assert final["outcome"] == "disciplinary"
    assert final["closed_at"] is not None

    history = session.exec(
        select(IncidentTransition)
        .where(IncidentTransition.incident_id == uuid.UUID(iid))
        .order_by(col(IncidentTransition.created_at))
    ).all()
    assert [(t.from_status.value, t.to_status.value) for t in history] == [
        ("reported", "triaged"),
        ("triaged", "investigating"),
        ("investigating", "action_taken"),
        ("action_taken", "closed"),
        ("closed", "investigating"),
        ("investigating", "action_taken"),
        ("action_taken", "closed"),
    ]
    # The first closing's outcome survives the reopening, in the history.
    assert [t.outcome.value for t in history if t.outcome] == ["resolved_internally", "disciplinary"]
    assert all(t.actor_id == coordinator.staff.id for t in history)  # type: ignore[union-attr]
    timeline = client.get(f"{URL}/{iid}/timeline", headers=coordinator.headers).json()
    assert [i["kind"] for i in timeline["items"]] == ["transition"] * 7


@pytest.mark.parametrize("current", list(IncidentStatus), ids=str)
def test_every_refused_transition_is_409_naming_the_allowed(
    client: TestClient, coordinator: Actor, session: Session, current: IncidentStatus
) -> None:
    iid = report(client, coordinator)["id"]
    bring_to(client, coordinator, iid, current)
    written = session.exec(select(func.count()).select_from(IncidentTransition)).one()
    refused = [s for s in IncidentStatus if s not in ALLOWED[current]]
    assert current in refused  # staying put is not a transition either
    for target in refused:
        r = move(client, coordinator, iid, target, **(CLOSE if target is IncidentStatus.closed else {}))
        assert r.status_code == 409, (current, target, r.text)
        body = r.json()
        assert body["code"] == "invalid_transition"
        assert body["allowed"] == [s.value for s in ALLOWED[current]]
        assert body["status"] == current.value
    assert client.get(f"{URL}/{iid}", headers=coordinator.headers).json()["status"] == current.value
    assert session.exec(select(func.count()).select_from(IncidentTransition)).one() == written


def test_closing_needs_outcome_and_summary(client: TestClient, coordinator: Actor, session: Session) -> None:
    iid = report(client, coordinator)["id"]
    bring_to(client, coordinator, iid, IncidentStatus.action_taken)
    r = move(client, coordinator, iid, IncidentStatus.closed, outcome_summary="Done")
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["outcome"]
    r = move(client, coordinator, iid, IncidentStatus.closed, outcome="other")
    assert [e["field"] for e in r.json()["errors"]] == ["outcome_summary"]
    r = move(client, coordinator, iid, IncidentStatus.closed, outcome="sorted")
    assert refused_field(r) == "outcome"
    assert client.get(f"{URL}/{iid}", headers=coordinator.headers).json()["status"] == "action_taken"
    # An outcome belongs to closing only.
    other = report(client, coordinator)["id"]
    r = move(client, coordinator, other, IncidentStatus.triaged, outcome="other")
    assert refused_field(r) == "outcome"


def test_patch_audits_before_and_after_and_never_changes_status(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    iid = report(client, coordinator)["id"]
    group = make_group(session)
    r = client.patch(
        f"{URL}/{iid}",
        json={
            "severity": "high",
            "group_id": str(group.id),
            "rule_ids": ["GRP-VISIBILITY-CLOSED"],
            "reason": "Triage: more serious than first reported",
        },
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["severity"] == "high"
    assert r.json()["version"] == 2
    event_ = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.update")).one()
    assert event_.changes["severity"] == {"before": "medium", "after": "high"}
    assert event_.changes["rule_ids"] == {"before": [], "after": ["GRP-VISIBILITY-CLOSED"]}
    for body, field in [
        ({"status": "closed"}, "status"),
        ({"details": "rewritten"}, "details"),
        ({"summary": None}, "summary"),
        ({"rule_ids": ["nope"], "reason": "r"}, "rule_ids.0"),
        ({"group_id": str(uuid.uuid4()), "reason": "r"}, "group_id"),
        ({"severity": "low"}, "reason"),
    ]:
        r = client.patch(f"{URL}/{iid}", json=body, headers=coordinator.headers)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["field"] == field
    got = client.get(f"{URL}/{iid}", headers=coordinator.headers).json()
    assert got["status"] == "reported"
    assert got["details"] == "Three messages about a member's playing"


# --- reach -----------------------------------------------------------------------------------------------


def test_staff_get_404_for_an_incident_they_did_not_report(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session
) -> None:
    from tests.kit.auth import make_actor

    other = make_actor(session, staff_actor.role)
    mine = report(client, staff_actor)["id"]
    theirs = report(client, other)["id"]
    by_coordinator = report(client, coordinator)["id"]
    for path in ("", "/timeline", "/entries", "/notifications"):
        assert client.get(f"{URL}/{theirs}{path}", headers=staff_actor.headers).status_code == 404, path
        assert client.get(f"{URL}/{mine}{path}", headers=staff_actor.headers).status_code == 200, path
    r = add_entry(client, staff_actor, theirs, "note", "x")
    assert r.status_code == 404
    listed = client.get(URL, headers=staff_actor.headers).json()
    assert [i["id"] for i in listed["items"]] == [mine]
    assert listed["total"] == 1
    everything = client.get(URL, headers=coordinator.headers).json()
    assert {i["id"] for i in everything["items"]} == {mine, theirs, by_coordinator}
    # The refused reads left no trace; the coordinator's list did.
    assert [v.viewer_role for v in views(session, theirs)] == ["coordinator"]


def test_trustee_sees_stats_but_never_a_record(
    client: TestClient, coordinator: Actor, trustee: Actor, integration: Actor
) -> None:
    iid = report(client, coordinator)["id"]
    for path in (URL, f"{URL}/{iid}", f"{URL}/{iid}/timeline", f"{URL}/{iid}/views"):
        assert client.get(path, headers=trustee.headers).status_code == 403, path
        assert client.get(path, headers=integration.headers).status_code == 403, path
    assert client.get(f"{URL}/stats", headers=trustee.headers).status_code == 200
    assert client.get(f"{URL}/stats", headers=integration.headers).status_code == 403


def test_list_filters(client: TestClient, coordinator: Actor, session: Session) -> None:
    group = make_group(session)
    a = report(client, coordinator, category="grooming", severity="critical", group_id=str(group.id))["id"]
    b = report(client, coordinator, occurred_at=(NOW - timedelta(days=40)).isoformat())["id"]
    move(client, coordinator, b, IncidentStatus.triaged)

    def ids(**params: Any) -> list[str]:
        r = client.get(URL, params=params, headers=coordinator.headers)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert ids() == [a, b]  # newest first
    assert ids(category="grooming") == [a]
    assert ids(severity="medium") == [b]
    assert ids(status="triaged") == [b]
    assert ids(group_id=str(group.id)) == [a]
    assert ids(occurred_to=str(TODAY - timedelta(days=30))) == [b]
    assert ids(occurred_from=str(TODAY - timedelta(days=2)), occurred_to=str(TODAY)) == [a]
    r = client.get(
        URL,
        params={"occurred_from": str(TODAY), "occurred_to": str(TODAY - timedelta(days=1))},
        headers=coordinator.headers,
    )
    assert refused_field(r) == "occurred_to"


# --- the chronology ----------------------------------------------------------------------------------


def test_entries_are_appended_and_corrected_never_edited(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    iid = report(client, staff_actor)["id"]
    first = add_entry(
        client,
        staff_actor,
        iid,
        "contact_made",
        "Rang mum at 4pm",
        occurred_at=(NOW - timedelta(hours=2)).isoformat(),
    )
    assert first.status_code == 201, first.text
    entry = first.json()
    assert entry["author_id"] == str(staff_actor.staff.id)  # type: ignore[union-attr]
    fix = add_entry(
        client, staff_actor, iid, "note", "Correction: it was 5pm", corrects_entry_id=entry["id"]
    ).json()
    listed = client.get(f"{URL}/{iid}/entries", headers=staff_actor.headers).json()
    assert [e["id"] for e in listed["items"]] == [entry["id"], fix["id"]]
    assert listed["items"][0]["corrected_by_ids"] == [fix["id"]]
    assert listed["items"][0]["text"] == "Rang mum at 4pm"

    other = report(client, staff_actor)["id"]
    for bad in (entry["id"], str(uuid.uuid4())):
        r = add_entry(client, staff_actor, other, "note", "x", corrects_entry_id=bad)
        assert refused_field(r) == "corrects_entry_id"
    r = add_entry(client, staff_actor, iid, "note", "x", occurred_at=(NOW + timedelta(hours=1)).isoformat())
    assert r.json()["errors"][0]["field"] == "occurred_at"
    event_ = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.entry.create")).first()
    assert event_ is not None
    assert "Rang mum" not in json.dumps(event_.changes)


def test_entries_cannot_be_changed_or_removed_through_any_route(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    iid = report(client, coordinator)["id"]
    entry = add_entry(client, coordinator, iid, "decision", "Refer to LADO").json()
    for path in (f"{URL}/{iid}/entries", f"{URL}/{iid}/entries/{entry['id']}"):
        for method in ("PUT", "PATCH", "DELETE"):
            r = client.request(method, path, json={"text": "changed"}, headers=coordinator.headers)
            assert r.status_code == 405, (method, path, r.status_code)
    stored = session.exec(select(IncidentEntry)).one()
    assert stored.text == "Refer to LADO"
    assert stored.version == 1
    got = client.get(f"{URL}/{iid}/entries/{entry['id']}", headers=coordinator.headers)
    assert got.json()["text"] == "Refer to LADO"


def test_nothing_about_an_incident_can_be_deleted_or_replaced() -> None:
    routes = [(m, p) for m, p in served_routes(create_app()) if p.startswith(URL)]
    assert routes
    writes = {(m, p) for m, p in routes if m in ("PUT", "PATCH", "DELETE")}
    # The only change to an existing record is a coordinator's PATCH of the incident's own fields.
    assert writes == {("PATCH", f"{URL}/{{incident_id}}")}


def test_timeline_merges_everything_in_time_order(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session
) -> None:
    child = make_participant(session)
    in_reach(session, staff_actor, child)
    iid = report(client, staff_actor, participant_ids=[str(child.id)])["id"]
    add_entry(
        client,
        staff_actor,
        iid,
        "note",
        "Seen on Monday",
        occurred_at=(NOW - timedelta(hours=20)).isoformat(),
    )
    client.post(
        f"{URL}/{iid}/notifications",
        json={
            "participant_id": str(child.id),
            "informed_name": "Mum",
            "method": "phone",
            "informed_at": (NOW - timedelta(hours=10)).isoformat(),
        },
        headers=staff_actor.headers,
    )
    r = client.post(
        f"{URL}/{iid}/referrals",
        json={"agency": "lado", "referred_on": str(TODAY - timedelta(days=2)), "reference": "LADO-77"},
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    move(client, coordinator, iid, IncidentStatus.triaged)
    full = client.get(f"{URL}/{iid}/timeline", headers=coordinator.headers).json()
    assert [i["kind"] for i in full["items"]] == ["referral", "entry", "notification", "transition"]
    assert full["items"][0]["referral"]["reference"] == "LADO-77"
    assert full["total"] == 4
    # Referrals are for coordinators: the reporter's timeline leaves them out.
    reporter_view = client.get(f"{URL}/{iid}/timeline", headers=staff_actor.headers).json()
    assert [i["kind"] for i in reporter_view["items"]] == ["entry", "notification", "transition"]
    paged = client.get(f"{URL}/{iid}/timeline", params={"limit": 2, "offset": 1}, headers=coordinator.headers)
    assert [i["kind"] for i in paged.json()["items"]] == ["entry", "notification"]


# --- parents and carers, referrals -----------------------------------------------------------------------


def test_notification_is_exactly_one_of_two_shapes(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    child, bystander = make_participant(session), make_participant(session)
    in_reach(session, staff_actor, child, bystander)
    iid = report(client, staff_actor, participant_ids=[str(child.id)])["id"]
    url = f"{URL}/{iid}/notifications"
    told = {
        "informed_name": "Dad",
        "method": "in_person",
        "informed_at": (NOW - timedelta(hours=1)).isoformat(),
    }
    r = client.post(url, json={"participant_id": str(child.id), **told}, headers=staff_actor.headers)
    assert r.status_code == 201, r.text
    assert r.json()["informed"] is True
    assert r.json()["informed_by_id"] == str(staff_actor.staff.id)  # type: ignore[union-attr]
    decision = {"participant_id": str(child.id), "not_informed_reason": "Carer is the alleged source of harm"}
    r = client.post(url, json=decision, headers=staff_actor.headers)
    assert r.status_code == 201
    assert r.json()["informed"] is False
    assert r.json()["method"] is None

    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({**decision, "method": "phone"}, {"method"}),
        ({"participant_id": str(child.id)}, {"informed_name", "method", "informed_at"}),
        ({"participant_id": str(child.id), "informed_name": "Dad"}, {"method", "informed_at"}),
        ({"participant_id": str(bystander.id), **told}, {"participant_id"}),
        ({"participant_id": str(child.id), **told, "informed_at": "2025-01-01T10:00:00"}, {"informed_at"}),
        ({"participant_id": str(child.id), **told, "carer_phone": "0123"}, {"carer_phone"}),
    ]
    for body, fields in cases:
        r = client.post(url, json=body, headers=staff_actor.headers)
        assert r.status_code == 422, body
        assert {e["field"] for e in r.json()["errors"]} == fields, body
    # Staff record a notification as themselves: naming anyone else, known or not, is refused alike.
    for someone in (uuid.uuid4(), make_staff(session).id):
        body = {"participant_id": str(child.id), **told, "informed_by_id": str(someone)}
        assert client.post(url, json=body, headers=staff_actor.headers).status_code == 403
    listed = client.get(url, headers=staff_actor.headers).json()
    assert listed["total"] == 2
    event_ = session.exec(
        select(AuditEvent).where(AuditEvent.action == "incident.notification.create")
    ).first()
    assert event_ is not None
    assert "Dad" not in json.dumps(event_.changes)


def test_referrals_recorded_and_listed(client: TestClient, coordinator: Actor) -> None:
    iid = report(client, coordinator)["id"]
    url = f"{URL}/{iid}/referrals"
    r = client.post(url, json={"agency": "ceop", "referred_on": str(TODAY)}, headers=coordinator.headers)
    assert r.status_code == 201
    assert r.json()["referred_by_id"] == str(coordinator.staff.id)  # type: ignore[union-attr]
    future = str(TODAY + timedelta(days=1))
    r = client.post(url, json={"agency": "police", "referred_on": future}, headers=coordinator.headers)
    assert r.json()["errors"][0]["field"] == "referred_on"
    r = client.post(url, json={"agency": "mi5", "referred_on": str(TODAY)}, headers=coordinator.headers)
    assert r.json()["errors"][0]["field"] == "agency"
    assert [x["agency"] for x in client.get(url, headers=coordinator.headers).json()["items"]] == ["ceop"]


# --- the view log --------------------------------------------------------------------------------------


def test_view_log_records_each_read(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session
) -> None:
    iid = report(client, staff_actor)["id"]
    entry = add_entry(client, staff_actor, iid, "note", "x")
    assert views(session, iid) == []  # writing is not reading
    reads = [
        (coordinator, "", "incident"),
        (coordinator, "/timeline", "timeline"),
        (coordinator, "/entries", "entries"),
        (coordinator, f"/entries/{entry.json()['id']}", "entries"),
        (coordinator, "/notifications", "notifications"),
        (coordinator, "/referrals", "referrals"),
        (staff_actor, "", "incident"),
    ]
    for actor, path, _ in reads:
        assert client.get(f"{URL}/{iid}{path}", headers=actor.headers).status_code == 200
    assert client.get(URL, headers=staff_actor.headers).status_code == 200
    logged = views(session, iid)
    expected = [(a.staff.id, via) for a, _, via in reads] + [(staff_actor.staff.id, "list")]  # type: ignore[union-attr]
    assert [(v.viewer_staff_id, v.via.value) for v in logged] == expected
    assert logged[-1].viewer_label == staff_actor.user.email  # type: ignore[union-attr]

    listed = client.get(f"{URL}/{iid}/views", headers=coordinator.headers).json()
    assert listed["total"] == len(expected)  # listing the log is not itself logged as a read
    assert [v["via"] for v in listed["items"]] == [via for _, via in expected]
    assert {v["viewer_role"] for v in listed["items"]} == {"coordinator", "staff"}
    # A refused or missing read is not a read.
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=coordinator.headers).status_code == 404
    assert len(views(session, iid)) == len(expected)


def test_a_list_logs_each_incident_it_returns(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    ids = [report(client, coordinator)["id"] for _ in range(3)]
    page = client.get(URL, params={"limit": 2}, headers=coordinator.headers).json()
    shown = [i["id"] for i in page["items"]]
    assert len(shown) == 2
    for iid in ids:
        assert len(views(session, iid)) == (1 if iid in shown else 0)


# --- parent notification overdue -----------------------------------------------------------------------


def _overdue(client: TestClient, actor: Actor, iid: str) -> bool:
    return bool(client.get(f"{URL}/{iid}", headers=actor.headers).json()["parent_notification_overdue"])


def test_overdue_flag_on_its_edges(client: TestClient, coordinator: Actor, session: Session) -> None:
    child, sibling = make_participant(session), make_participant(session)
    iid = report(client, coordinator, severity="high", participant_ids=[str(child.id), str(sibling.id)])["id"]
    assert _overdue(client, coordinator, iid) is False  # just reported

    backdate(session, iid, clock.now() - timedelta(days=2) + timedelta(minutes=5))
    assert _overdue(client, coordinator, iid) is False  # not yet more than 2 days
    backdate(session, iid, clock.now() - timedelta(days=2, minutes=5))
    assert _overdue(client, coordinator, iid) is True

    url = f"{URL}/{iid}/notifications"
    told = {"informed_name": "Gran", "method": "phone", "informed_at": NOW.isoformat()}
    client.post(url, json={"participant_id": str(child.id), **told}, headers=coordinator.headers)
    assert _overdue(client, coordinator, iid) is True  # the sibling's carer is still not told
    client.post(
        url,
        json={"participant_id": str(sibling.id), "not_informed_reason": "Aged 17, asked us not to"},
        headers=coordinator.headers,
    )
    assert _overdue(client, coordinator, iid) is False  # a recorded decision counts

    # The policy setting is the threshold.
    session.add(PolicySettings(parent_notification_days=5))
    session.commit()
    late = report(client, coordinator, severity="critical", participant_ids=[str(child.id)])["id"]
    backdate(session, late, clock.now() - timedelta(days=3))
    assert _overdue(client, coordinator, late) is False
    backdate(session, late, clock.now() - timedelta(days=5, minutes=1))
    assert _overdue(client, coordinator, late) is True


@pytest.mark.parametrize(
    ("severity", "with_child", "expected"),
    [
        ("medium", True, False),
        ("low", True, False),
        ("high", False, False),
        ("critical", True, True),
    ],
)
def test_overdue_only_for_high_or_critical_with_a_participant(
    client: TestClient, coordinator: Actor, session: Session, severity: str, with_child: bool, expected: bool
) -> None:
    children = [str(make_participant(session).id)] if with_child else []
    iid = report(client, coordinator, severity=severity, participant_ids=children)["id"]
    backdate(session, iid, clock.now() - timedelta(days=10))
    assert _overdue(client, coordinator, iid) is expected
    listed = client.get(URL, headers=coordinator.headers).json()["items"]
    assert [i["parent_notification_overdue"] for i in listed] == [expected]


@pytest.fixture
def statements(connection: Connection) -> Iterator[list[str]]:
    with count_statements(connection) as seen:
        yield seen


def test_a_page_costs_the_same_queries_however_many_incidents(
    client: TestClient, coordinator: Actor, session: Session, statements: list[str]
) -> None:
    child = make_participant(session)

    def queries_for_list() -> int:
        statements.clear()
        assert client.get(URL, headers=coordinator.headers).status_code == 200
        return len(statements)

    report(client, coordinator, severity="high", participant_ids=[str(child.id)])
    one = queries_for_list()
    for _ in range(6):
        iid = report(client, coordinator, severity="high", participant_ids=[str(child.id)])["id"]
        backdate(session, iid, clock.now() - timedelta(days=5))
    seven = queries_for_list()
    assert seven == one, "\n".join(s[:90] for s in statements)


# --- statistics ----------------------------------------------------------------------------------------


def test_stats_mask_small_counts_and_show_no_text(
    client: TestClient, coordinator: Actor, trustee: Actor, session: Session
) -> None:
    child = make_participant(session, full_name="Zebedee Unique-Name")
    for _ in range(3):
        report(client, coordinator, participant_ids=[str(child.id)])
    grooming = report(
        client,
        coordinator,
        category="grooming",
        severity="critical",
        summary="Secret summary text",
        occurred_at=datetime(2025, 3, 10, 12, tzinfo=UTC).isoformat(),
    )["id"]
    bring_to(client, coordinator, grooming, IncidentStatus.triaged)
    r = client.get(f"{URL}/stats", headers=trustee.headers)
    assert r.status_code == 200
    stats = r.json()
    assert stats["total"] == 4
    assert stats["by_category"]["cyberbullying"] == 3
    assert stats["by_category"]["grooming"] == "<3"
    assert (
        stats["by_category"]["abuse"] == "<3"
    )  # zero is not shown either: it would tell the small ones apart
    assert stats["by_severity"] == {"low": "<3", "medium": 3, "high": "<3", "critical": "<3"}
    assert stats["by_status"]["reported"] == 3
    assert stats["by_status"]["triaged"] == "<3"
    assert stats["by_month"]["2025-03"] == "<3"
    # The only other month: shown, it would give March away (4 in all, 3 this month, so March had 1).
    assert list(stats["by_month"].values()) == ["<3", "withheld"]
    assert set(stats) == {"total", "by_category", "by_severity", "by_status", "by_month"}
    text = r.text
    for secret in ("Zebedee", "Secret summary", "Three messages", str(child.id), grooming):
        assert secret not in text
    # Every value is a count of 3 or more, or one of the two masks, nothing else.
    values = [stats["total"]] + [v for key in stats if key != "total" for v in stats[key].values()]
    assert all(v in ("<3", "withheld") or (isinstance(v, int) and v >= 3) for v in values)
    assert client.get(f"{URL}/stats", headers=coordinator.headers).status_code == 200


def test_a_lone_small_count_is_not_left_to_be_worked_out_from_the_total() -> None:
    # 20 in all: 10 low, 5 medium, 4 high and 1 critical. "<3" alone for critical would be 20 - 19 = 1.
    total, [severity] = statistics._protected(20, [{"low": 10, "medium": 5, "high": 4, "critical": 1}])
    assert total == 20
    assert severity == {"low": 10, "medium": 5, "high": "withheld", "critical": "<3"}


def test_small_counts_whose_sum_would_pin_them_get_a_companion() -> None:
    # Two at "<3" adding up to 4 can only be 2 and 2.
    _, [by] = statistics._protected(11, [{"a": 2, "b": 2, "c": 3, "d": 4}])
    assert by == {"a": "<3", "b": "<3", "c": "withheld", "d": 4}
    # Adding up to 3 they could be 1 and 2 or 2 and 1: nothing more is hidden.
    _, [by] = statistics._protected(10, [{"a": 1, "b": 2, "c": 3, "d": 4}])
    assert by == {"a": "<3", "b": "<3", "c": 3, "d": 4}
    # A lone zero gives away only that there were none.
    _, [by] = statistics._protected(9, [{"a": 0, "b": 5, "c": 4}])
    assert by == {"a": "<3", "b": 5, "c": 4}


def test_when_nothing_is_left_to_withhold_the_total_goes_and_no_breakdown_adds_up_to_it() -> None:
    # Every severity at 2: with the total shown (8) each would be pinned at 2.
    total, [severity, status] = statistics._protected(
        8, [{"low": 2, "medium": 2, "high": 2, "critical": 2}, {"open": 5, "closed": 3}]
    )
    assert total == "withheld"
    assert severity == {"low": "<3", "medium": "<3", "high": "<3", "critical": "<3"}
    assert status == {"open": 5, "closed": "withheld"}


def _consistent(shown: dict[str, Any], total: Any, limit: int) -> list[dict[str, int]]:
    """Every set of true counts a reader could infer from what is shown ("<3": 0-2, "withheld": 3 or more)."""
    keys = list(shown)
    options = [
        range(3) if v == "<3" else range(3, limit + 1) if v == "withheld" else [v] for v in shown.values()
    ]
    found = []
    for values in itertools.product(*options):
        if (
            (total == "withheld" and sum(values) >= 3)
            or sum(values) == total
            or (total == "<3" and sum(values) < 3)
        ):
            found.append(dict(zip(keys, values, strict=True)))
    return found


def test_no_small_count_can_be_worked_out_from_what_is_shown() -> None:
    # Every breakdown of up to 4 counts of 0-5: no "<3" that stood for 1 or 2 is pinned down by the total
    # and the other counts (a "<3" that can only be 0 reveals nothing about anyone).
    for values in itertools.product(range(6), repeat=4):
        counts = dict(zip("abcd", values, strict=True))
        total, [shown] = statistics._protected(sum(values), [counts])
        possible = _consistent(shown, total, limit=sum(values) + 3)
        for key, true in counts.items():
            if shown[key] == "<3" and true > 0:
                assert len({p[key] for p in possible}) > 1, (counts, shown, total)
