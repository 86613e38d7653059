"""The events the service announces besides staff.left_with_access: incident.reported, consent.withdrawn and
group.compliance_changed. Each is queued with the change that causes it, and carries ids, enums and dates
only, never a name or free text."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from api import clock
from api.compliance.models import GroupComplianceState, Status
from api.compliance.watch import announce_compliance_changes
from api.groups.models import Group
from api.memberships.models import MemberRole, Membership
from api.webhooks.models import WebhookDelivery, WebhookEvent
from api.webhooks.worker import watch_compliance
from tests.kit.auth import Actor
from tests.kit.clock import TODAY, FixedClock
from tests.kit.compliance import group_fields, make_compliant_group
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.participants import make_participant
from tests.kit.statements import count_statements

API = "/api/v1"


def subscribe(client: TestClient, actor: Actor, *events: WebhookEvent) -> None:
    r = client.post(
        f"{API}/webhooks",
        json={"url": "http://127.0.0.1:9/hooks", "events": [e.value for e in events]},
        headers=actor.headers,
    )
    assert r.status_code == 201, r.text


def sent(session: Session, event_type: WebhookEvent) -> list[dict[str, Any]]:
    rows = session.exec(
        select(WebhookDelivery)
        .where(WebhookDelivery.event_type == event_type)
        .order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.id))
    ).all()
    return [json.loads(r.body)["data"] for r in rows]


def only_ids_enums_and_dates(data: dict[str, Any], names: list[str]) -> None:
    """No value is a name or free text: each is an id, an enum value, a date, or empty."""
    text = json.dumps(data)
    for name in names:
        assert name not in text


# --- incident.reported -------------------------------------------------------------------------------------


def _report(client: TestClient, coordinator: Actor, group_id: str, **fields: Any) -> Response:
    """Report a high-severity case of cyberbullying three hours ago in the group, with `fields`."""
    r: Response = client.post(
        f"{API}/incidents",
        json={
            "category": "cyberbullying",
            "severity": "high",
            "occurred_at": (clock.now() - timedelta(hours=3)).isoformat(),
            "group_id": group_id,
            **fields,
        },
        headers=coordinator.headers,
    )
    return r


def test_reporting_an_incident_announces_its_ids_only(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    subscribe(client, coordinator, WebhookEvent.incident_reported)
    group = make_group(session, **group_fields())
    child = make_participant(session, full_name="Ellie Marchbank")
    r = _report(
        client,
        coordinator,
        str(group.id),
        participant_ids=[str(child.id)],
        summary="Messages about Ellie Marchbank",
        details="Ellie Marchbank was sent unkind messages",
    )
    assert r.status_code == 201, r.text
    [data] = sent(session, WebhookEvent.incident_reported)
    assert data == {
        "incident_id": r.json()["id"],
        "group_id": str(group.id),
        "category": "cyberbullying",
        "severity": "high",
    }
    only_ids_enums_and_dates(data, ["Ellie", "Marchbank", "unkind"])


def test_a_refused_report_announces_nothing(client: TestClient, coordinator: Actor, session: Session) -> None:
    subscribe(client, coordinator, WebhookEvent.incident_reported)
    r = _report(client, coordinator, str(uuid.uuid4()), summary="s", details="d")
    assert r.status_code == 422
    assert sent(session, WebhookEvent.incident_reported) == []


# --- consent.withdrawn -------------------------------------------------------------------------------------


def test_withdrawing_a_consent_announces_it_once(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    subscribe(client, coordinator, WebhookEvent.consent_withdrawn)
    child = make_participant(session, full_name="Tomasz Wiśniewski")
    consent = make_consent(session, child, given_by_name="Anna Wiśniewska")
    url = f"{API}/consents/{consent.id}/withdraw"
    body = {"withdrawn_on": str(TODAY), "reason": "Anna Wiśniewska asked us to stop"}
    assert client.post(url, json=body, headers=coordinator.headers).status_code == 200
    assert client.post(url, json=body, headers=coordinator.headers).status_code == 409
    [data] = sent(session, WebhookEvent.consent_withdrawn)
    assert data == {
        "consent_id": str(consent.id),
        "participant_id": str(child.id),
        "kind": "image_use",
        "withdrawn_on": str(TODAY),
    }
    only_ids_enums_and_dates(data, ["Tomasz", "Wiśniewsk", "asked"])


def test_a_withdrawal_refused_by_if_match_announces_nothing(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    subscribe(client, coordinator, WebhookEvent.consent_withdrawn)
    consent = make_consent(session, make_participant(session))
    r = client.post(
        f"{API}/consents/{consent.id}/withdraw",
        json={"withdrawn_on": str(TODAY)},
        headers={**coordinator.headers, "If-Match": '"4"'},
    )
    assert r.status_code == 412
    assert sent(session, WebhookEvent.consent_withdrawn) == []


# --- group.compliance_changed ------------------------------------------------------------------------------


def admins(session: Session, group_id: uuid.UUID) -> list[Membership]:
    return list(
        session.exec(
            select(Membership).where(Membership.group_id == group_id, Membership.role == MemberRole.admin)
        ).all()
    )


def test_a_membership_change_that_breaks_a_rule_announces_once(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    subscribe(client, coordinator, WebhookEvent.group_compliance_changed)
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff, name="Strings for Ellie Marchbank")
    assert announce_compliance_changes(session) == []  # the first sight of a group is recorded silently
    assert session.get(GroupComplianceState, group.id) is not None

    # One of the two admins is removed: the group falls below the minimum number of admins.
    other_admin = next(m for m in admins(session, group.id) if m.staff_id != coordinator.staff.id)
    r = client.post(
        f"{API}/memberships/{other_admin.id}/end", json={"ended_on": str(TODAY)}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text

    [data] = sent(session, WebhookEvent.group_compliance_changed)
    assert data == {
        "group_id": str(group.id),
        "before": "compliant",
        "after": "non_compliant",
        "as_of": str(TODAY),
    }
    only_ids_enums_and_dates(data, ["Strings", "Ellie"])
    state = session.get(GroupComplianceState, group.id, populate_existing=True)
    assert state is not None
    assert state.status is Status.non_compliant

    # A second pass over the same facts, for this group or for all, announces nothing.
    assert announce_compliance_changes(session, [group.id]) == []
    assert announce_compliance_changes(session) == []
    assert len(sent(session, WebhookEvent.group_compliance_changed)) == 1


def _watched_group(client: TestClient, coordinator: Actor, session: Session) -> Group:
    """A compliant group whose status the watch has already recorded, with the coordinator subscribed to
    `group.compliance_changed`: the next announcement is a change."""
    subscribe(client, coordinator, WebhookEvent.group_compliance_changed)
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    announce_compliance_changes(session)
    return group


def test_a_write_that_changes_nothing_announces_nothing(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = _watched_group(client, coordinator, session)
    assert coordinator.staff is not None
    r = client.patch(f"{API}/groups/{group.id}", json={"project": "Strings"}, headers=coordinator.headers)
    assert r.status_code == 200
    assert sent(session, WebhookEvent.group_compliance_changed) == []


def test_the_worker_pass_announces_what_time_and_people_changed(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    """A change no group write announces (here a member of staff leaving, seen as a person-level write) is
    found by the worker's interval pass over every active group."""
    group = _watched_group(client, coordinator, session)
    assert coordinator.staff is not None
    other_admin = next(m for m in admins(session, group.id) if m.staff_id != coordinator.staff.id)
    assert other_admin.staff_id is not None
    r = client.post(
        f"{API}/staff/{other_admin.staff_id}/leave",
        json={"left_on": str(TODAY - timedelta(days=1))},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert sent(session, WebhookEvent.group_compliance_changed) == []  # not announced by the staff write
    assert watch_compliance(session) == 1
    [data] = sent(session, WebhookEvent.group_compliance_changed)
    assert (data["group_id"], data["before"]) == (str(group.id), "compliant")
    assert data["after"] != "compliant"
    assert watch_compliance(session) == 0


def test_the_watch_decides_on_the_organisations_day(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, session: Session
) -> None:
    """At 00:30 on 2 July in London (23:30 UTC on 1 July), an admin whose last day was 1 July has left:
    the watch's pass sees it, as of 2 July, though the UTC day is still 1 July."""
    subscribe(client, coordinator, WebhookEvent.group_compliance_changed)
    assert coordinator.staff is not None
    group = make_compliant_group(session, coordinator.staff)
    assert watch_compliance(session) == 0
    other_admin = next(m for m in admins(session, group.id) if m.staff_id != coordinator.staff.id)
    r = client.post(
        f"{API}/staff/{other_admin.staff_id}/leave",
        json={"left_on": "2026-07-02"},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert watch_compliance(session) == 1
    [data] = sent(session, WebhookEvent.group_compliance_changed)
    assert (data["group_id"], data["before"], data["as_of"]) == (str(group.id), "compliant", "2026-07-02")
    state = session.get(GroupComplianceState, group.id)
    assert state is not None
    assert state.updated_at == fixed_clock.instant


def test_an_archived_group_is_no_longer_watched(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    group = _watched_group(client, coordinator, session)
    assert coordinator.staff is not None
    r = client.post(
        f"{API}/groups/{group.id}/archive", json={"archived_on": str(TODAY)}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text
    assert announce_compliance_changes(session) == []
    assert sent(session, WebhookEvent.group_compliance_changed) == []


def test_the_watch_takes_the_same_queries_for_one_group_and_for_many(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    subscribe(client, coordinator, WebhookEvent.group_compliance_changed)
    assert coordinator.staff is not None
    few = [make_compliant_group(session, coordinator.staff)]
    many = [make_compliant_group(session, coordinator.staff) for _ in range(4)]
    announce_compliance_changes(session)

    def pass_after_breaking(groups: list[Any]) -> int:
        for g in groups:
            for m in admins(session, g.id):
                if m.staff_id != coordinator.staff.id:  # type: ignore[union-attr]
                    m.ended_on = TODAY
                    session.add(m)
        session.commit()
        with count_statements(session, savepoints=True) as statements:
            changes = announce_compliance_changes(session, [g.id for g in groups])
        assert len(changes) == len(groups)
        return len(statements)

    assert pass_after_breaking(few) == pass_after_breaking(many)
    assert len(sent(session, WebhookEvent.group_compliance_changed)) == 5
