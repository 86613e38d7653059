from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlmodel import Session, col, delete, select

from api.audit.models import AuditEvent
from api.auth.roles import Role
from api.config import get_settings
from api.db import utcnow
from api.incidents.models import Severity
from api.main import create_app
from api.memberships.models import MemberRole, Membership
from api.staff.models import Staff
from api.webhooks import destinations
from api.webhooks import service as webhooks
from api.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from api.webhooks.payload import UnsafePayload
from api.webhooks.signing import new_secret
from api.webhooks.worker import BACKOFF, _claim
from api.webhooks.worker import deliver_due as worker_deliver_due
from tests.conftest import BACKEND
from tests.kit.auth import Actor, make_user
from tests.kit.clock import TODAY
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.receivers import local_receiver
from tests.kit.staff import make_staff

URL = "/api/v1/webhooks"
ALL_EVENTS = [e.value for e in WebhookEvent]
PUBLIC_ADDRESS = ipaddress.ip_address("93.184.215.14")


def public_resolver(host: str, port: int) -> list[destinations.IPAddress]:
    """Every name in these tests stands for a public host (no DNS here; the transports are mocks)."""
    return [PUBLIC_ADDRESS]


def deliver_due(
    session: Session,
    now: datetime,
    client: httpx.Client,
    *,
    limit: int = 20,
    resolve: destinations.Resolver = public_resolver,
) -> int:
    return worker_deliver_due(session, now, client, limit=limit, resolve=resolve)


# --- a receiver on 127.0.0.1 only -------------------------------------------------------------------


@dataclass
class Receiver:
    url: str
    statuses: list[int]  # answers to give, in order; the last repeats
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", statuses=[500, 500, 200])

    def answer(headers: dict[str, str], body: bytes) -> int:
        state.requests.append((headers, body))
        return state.statuses[min(len(state.requests), len(state.statuses)) - 1]

    with local_receiver(answer) as url:
        state.url = url
        yield state


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # No proxies from the environment: the receiver is on this machine.
    with httpx.Client(trust_env=False) as c:
        yield c


def register(client: TestClient, actor: Actor, url: str, events: list[str] | None = None) -> dict[str, Any]:
    r = client.post(URL, json={"url": url, "events": events or ALL_EVENTS}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def endpoint_with_one_event(client: TestClient, actor: Actor, session: Session, url: str) -> dict[str, Any]:
    """An endpoint at `url` for every event, registered by `actor`, and one `consent.withdrawn` event emitted
    for it in `session`'s open transaction (the test commits or rolls it back); the endpoint as registered."""
    hook = register(client, actor, url)
    webhooks.emit(session, WebhookEvent.consent_withdrawn, {"consent_id": uuid.uuid4()})
    return hook


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, written from the Standard Webhooks scheme rather than from our signer."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


def deliveries(session: Session) -> list[WebhookDelivery]:
    return list(session.exec(select(WebhookDelivery).order_by(col(WebhookDelivery.created_at))).all())


def recording_client() -> tuple[list[httpx.Request], httpx.Client]:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    return sent, httpx.Client(transport=httpx.MockTransport(answer))


# --- endpoints --------------------------------------------------------------------------------------


def test_register_shows_the_secret_once(client: TestClient, coordinator: Actor, session: Session) -> None:
    created = register(client, coordinator, "https://crm.example.org/hooks", ["consent.withdrawn"])
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert created["events"] == ["consent.withdrawn"]
    got = client.get(f"{URL}/{created['id']}", headers=coordinator.headers)
    assert got.status_code == 200
    assert "secret" not in got.json()
    listed = client.get(URL, headers=coordinator.headers).json()
    assert [w["id"] for w in listed["items"]] == [created["id"]]
    assert secret not in json.dumps(listed)
    audit = session.exec(select(AuditEvent).where(AuditEvent.action == "webhook_endpoint.create")).one()
    assert secret not in json.dumps(audit.changes)


def test_bad_registrations_are_422_naming_the_field(client: TestClient, coordinator: Actor) -> None:
    cases = [
        ({"url": "not a url", "events": ALL_EVENTS}, "url"),
        ({"url": "ftp://crm.example.org/x", "events": ALL_EVENTS}, "url"),
        ({"url": "https://crm.example.org", "events": ["pizza.ordered"]}, "events.0"),
        ({"url": "https://crm.example.org", "events": []}, "events"),
        ({"url": "https://crm.example.org", "events": ALL_EVENTS, "secret": "mine"}, "secret"),
    ]
    for data, name in cases:
        r = client.post(URL, json=data, headers=coordinator.headers)
        assert r.status_code == 422, data
        assert name in {e["field"] for e in r.json()["errors"]}, r.json()


def test_disable(client: TestClient, coordinator: Actor) -> None:
    hook = register(client, coordinator, "https://crm.example.org/hooks")
    r = client.post(f"{URL}/{hook['id']}/disable", headers=coordinator.headers)
    assert r.status_code == 200
    assert r.json()["disabled_at"] is not None
    assert client.post(f"{URL}/{hook['id']}/disable", headers=coordinator.headers).status_code == 409
    assert client.get(f"{URL}/{uuid.uuid4()}", headers=coordinator.headers).status_code == 404


# --- emit -------------------------------------------------------------------------------------------


def test_payloads_hold_only_ids_enums_dates_and_counts(session: Session) -> None:
    safe = {
        "incident_id": uuid.uuid4(),
        "severity": Severity.high,
        "occurred_on": date(2026, 1, 2),
        "participant_count": 2,
        "group_ids": [uuid.uuid4()],
        "nested": {"left_on": None},
    }
    webhooks.emit(session, WebhookEvent.incident_reported, safe)
    for unsafe in (
        {"full_name": "Alice Smith"},
        {"participant_ids": [uuid.uuid4(), "Alice"]},
        {"nested": {"carer_email": "carer@example.org"}},
        {"flagged": True},
        {"score": 1.5},
    ):
        with pytest.raises(UnsafePayload):
            webhooks.emit(session, WebhookEvent.incident_reported, unsafe)


def test_emit_queues_one_delivery_per_subscribed_enabled_endpoint(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    a = register(client, coordinator, "https://a.example.org", ["incident.reported"])
    register(client, coordinator, "https://b.example.org", ["consent.withdrawn"])
    c = register(client, coordinator, "https://c.example.org", ["incident.reported"])
    client.post(f"{URL}/{c['id']}/disable", headers=coordinator.headers)
    incident_id = uuid.uuid4()
    webhooks.emit(session, WebhookEvent.incident_reported, {"incident_id": incident_id})
    session.commit()
    (delivery,) = deliveries(session)
    assert str(delivery.endpoint_id) == a["id"]
    body = json.loads(delivery.body)
    assert body["type"] == "incident.reported"
    assert body["data"] == {"incident_id": str(incident_id)}


def test_an_event_is_never_sent_for_a_rolled_back_change(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    endpoint_with_one_event(client, coordinator, session, "https://a.example.org")
    session.rollback()
    assert deliveries(session) == []


# --- the real emitter: staff.left_with_access ------------------------------------------------------


def watched_group_admin(
    client: TestClient, coordinator: Actor, session: Session, **staff_fields: Any
) -> tuple[Staff, Membership]:
    """A CRM endpoint subscribed to `staff.left_with_access` only, and a member of staff (`staff_fields`)
    who admins a new group: the staff record and that membership."""
    register(client, coordinator, "https://crm.example.org/hooks", ["staff.left_with_access"])
    staff = make_staff(session, **staff_fields)
    return staff, make_membership(session, make_group(session), staff=staff, role=MemberRole.admin)


def test_leaving_while_still_in_a_group_announces_ids_only(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    leaver, admin = watched_group_admin(
        client, coordinator, session, full_name="Dana Leaver", email="dana@moremusic.org.uk"
    )
    make_user(session, leaver, Role.staff)
    r = client.post(
        f"/api/v1/staff/{leaver.id}/leave", json={"left_on": str(TODAY)}, headers=coordinator.headers
    )
    assert r.status_code == 200
    (delivery,) = deliveries(session)
    assert delivery.event_type is WebhookEvent.staff_left_with_access
    assert json.loads(delivery.body)["data"] == {
        "staff_id": str(leaver.id),
        "left_on": str(TODAY),
        "group_ids": [str(admin.group_id)],
        "current_memberships": 1,
        "active_accounts": 1,
    }
    assert "Dana" not in delivery.body
    assert "dana@" not in delivery.body
    # The same leaving date again is no news.
    client.patch(f"/api/v1/staff/{leaver.id}", json={"left_on": str(TODAY)}, headers=coordinator.headers)
    assert len(deliveries(session)) == 1


def test_leaving_with_nothing_left_to_remove_announces_nothing(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    leaver, admin = watched_group_admin(client, coordinator, session)
    admin.ended_on = TODAY
    session.add(admin)
    session.commit()
    r = client.patch(f"/api/v1/staff/{leaver.id}", json={"left_on": str(TODAY)}, headers=coordinator.headers)
    assert r.status_code == 200
    assert deliveries(session) == []


def test_a_failed_staff_change_queues_no_event(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    leaver, _ = watched_group_admin(client, coordinator, session)
    taken = make_staff(session)
    r = client.patch(
        f"/api/v1/staff/{leaver.id}",
        json={"left_on": str(TODAY), "email": taken.email},
        headers=coordinator.headers,
    )
    assert r.status_code == 409
    assert deliveries(session) == []


# --- delivery ---------------------------------------------------------------------------------------


def test_fails_twice_then_delivers_on_the_third_try_after_a_restart(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    connection: Connection,
    receiver: Receiver,
    http: httpx.Client,
) -> None:
    hook = register(client, coordinator, receiver.url, ["staff.left_with_access"])
    leaver = make_staff(session)
    make_membership(session, make_group(session), staff=leaver, role=MemberRole.admin)
    client.post(f"/api/v1/staff/{leaver.id}/leave", json={"left_on": str(TODAY)}, headers=coordinator.headers)
    t0 = utcnow()

    assert deliver_due(session, t0, http) == 1
    assert deliver_due(session, t0 + timedelta(seconds=30), http) == 0  # not due for a minute
    assert deliver_due(session, t0 + timedelta(seconds=61), http) == 1
    (delivery,) = deliveries(session)
    session.refresh(delivery)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.pending, 2, 500)

    # A restart: a new worker, with its own session and HTTP client, reading the same table.
    with (
        Session(bind=connection, join_transaction_mode="create_savepoint") as fresh,
        httpx.Client(trust_env=False) as new_http,
    ):
        assert deliver_due(fresh, t0 + timedelta(minutes=3), new_http) == 0  # backoff is now 5 minutes
        assert deliver_due(fresh, t0 + timedelta(seconds=61 + 301), new_http) == 1
        assert deliver_due(fresh, t0 + timedelta(days=1), new_http) == 0  # delivered: never sent again

    assert len(receiver.requests) == 3
    ids = {headers["webhook-id"] for headers, _ in receiver.requests}
    bodies = {body for _, body in receiver.requests}
    assert ids == {str(delivery.id)}  # one message, retried
    assert len(bodies) == 1
    for headers, body in receiver.requests:
        assert verify(hook["secret"], headers, body)
        assert not verify("whsec_" + base64.b64encode(b"x" * 32).decode(), headers, body)
    assert json.loads(bodies.pop())["data"]["staff_id"] == str(leaver.id)

    session.expire_all()  # the first worker's session still holds the row as it left it
    log = client.get(f"{URL}/{hook['id']}/deliveries", headers=coordinator.headers).json()
    (entry,) = log["items"]
    assert entry["status"] == "delivered"
    assert entry["attempts"] == 3
    assert [a["status_code"] for a in entry["attempt_log"]] == [500, 500, 200]
    assert [a["succeeded"] for a in entry["attempt_log"]] == [False, False, True]


def test_backoff_then_failed(client: TestClient, coordinator: Actor, session: Session) -> None:
    endpoint_with_one_event(client, coordinator, session, "https://down.example.org/hooks")
    session.commit()
    down = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(503)))
    now = utcnow()
    assert deliver_due(session, now, down) == 1
    (delivery,) = deliveries(session)
    for wait in BACKOFF:
        session.refresh(delivery)
        assert delivery.status is DeliveryStatus.pending
        assert abs((delivery.next_attempt_at - now) - wait) < timedelta(seconds=1)
        now = delivery.next_attempt_at
        assert deliver_due(session, now, down) == 1
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.failed
    assert delivery.attempts == len(BACKOFF) + 1
    assert deliver_due(session, now + timedelta(days=7), down) == 0


def test_a_network_error_is_recorded_as_a_failed_attempt(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    endpoint_with_one_event(client, coordinator, session, "https://unreachable.example.org/hooks")
    session.commit()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert deliver_due(session, utcnow(), httpx.Client(transport=httpx.MockTransport(refuse))) == 1
    (delivery,) = deliveries(session)
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.pending
    assert delivery.last_status_code is None
    assert delivery.last_error == "connection refused"


def test_a_claimed_delivery_is_not_sent_by_another_worker(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    endpoint_with_one_event(client, coordinator, session, "https://crm.example.org/hooks")
    session.commit()
    (delivery,) = deliveries(session)
    sent, ok = recording_client()
    now = utcnow()
    assert _claim(session, delivery.id, now) is True  # worker A takes it...
    assert _claim(session, delivery.id, now) is False  # ...so B cannot
    assert deliver_due(session, now, ok) == 0
    assert sent == []
    # A's claim lapses (it died): the row is due again and sent once.
    assert deliver_due(session, now + timedelta(minutes=10), ok) == 1
    assert len(sent) == 1


class WorkerKilled(BaseException):
    """The worker process ending mid-send (a deploy, an OOM kill): nothing after this line runs."""


def test_a_delivery_interrupted_while_sending_is_logged_as_an_attempt_with_no_outcome(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    """The attempt is in the delivery log before the request goes out, so when the worker dies mid-send
    and the next one sends the same webhook-id again, the log shows why the receiver saw it twice."""
    hook = endpoint_with_one_event(client, coordinator, session, "https://crm.example.org/hooks")
    session.commit()
    received: list[str] = []

    def receive_then_die(request: httpx.Request) -> httpx.Response:
        received.append(request.headers["webhook-id"])
        raise WorkerKilled

    now = utcnow()
    with pytest.raises(WorkerKilled):
        deliver_due(session, now, httpx.Client(transport=httpx.MockTransport(receive_then_die)))
    session.expire_all()
    log = client.get(f"{URL}/{hook['id']}/deliveries", headers=coordinator.headers).json()
    (entry,) = log["items"]
    assert entry["status"] == "pending"
    assert entry["attempts"] == 1
    assert [(a["succeeded"], a["status_code"]) for a in entry["attempt_log"]] == [(None, None)]

    sent, ok = recording_client()
    assert deliver_due(session, now + timedelta(seconds=30), ok) == 0  # the dead worker's claim holds
    later = now + timedelta(seconds=get_settings().webhook_claim_seconds + 1)
    assert deliver_due(session, later, ok) == 1  # lapsed: at least once, so sent again
    assert [r.headers["webhook-id"] for r in sent] == received  # the same id: the receiver deduplicates
    session.expire_all()
    (entry,) = client.get(f"{URL}/{hook['id']}/deliveries", headers=coordinator.headers).json()["items"]
    assert entry["status"] == "delivered"
    assert [a["succeeded"] for a in entry["attempt_log"]] == [None, True]


def test_deliveries_for_a_disabled_endpoint_are_not_sent(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    hook = endpoint_with_one_event(client, coordinator, session, "https://crm.example.org/hooks")
    session.commit()
    client.post(f"{URL}/{hook['id']}/disable", headers=coordinator.headers)
    sent, ok = recording_client()
    deliver_due(session, utcnow(), ok)
    (delivery,) = deliveries(session)
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.failed
    assert delivery.last_error == "endpoint disabled"
    assert sent == []
    endpoint = session.get(WebhookEndpoint, uuid.UUID(hook["id"]))
    assert endpoint is not None
    assert endpoint.disabled_at is not None


def test_the_app_runs_the_worker_when_configured(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> None:
    monkeypatch.setattr(get_settings(), "webhook_worker", True)
    monkeypatch.setattr(get_settings(), "webhook_poll_seconds", 0.05)
    with TestClient(create_app()):
        workers = [t for t in threading.enumerate() if t.name == "webhook-worker"]
        assert len(workers) == 1
        assert workers[0].is_alive()
    workers[0].join(timeout=5)
    assert not workers[0].is_alive()


@pytest.mark.postgres_only
@pytest.mark.skipif(BACKEND != "postgresql", reason="real concurrent workers need PostgreSQL")
def test_two_workers_racing_send_each_delivery_once(engine: Engine) -> None:
    # Committed rows on separate connections (not the test's rolled-back transaction), removed afterwards.
    with Session(engine, expire_on_commit=False) as s:
        endpoint = WebhookEndpoint(
            url="https://race.example.org", events=list(WebhookEvent), secret=new_secret()
        )
        s.add(endpoint)
        s.commit()
        for _ in range(30):
            webhooks.emit(s, WebhookEvent.consent_withdrawn, {"consent_id": uuid.uuid4()})
        s.commit()
    sent: list[str] = []
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        with lock:
            sent.append(request.headers["webhook-id"])
        return httpx.Response(200)

    now = utcnow()

    def worker() -> None:
        with Session(engine) as s, httpx.Client(transport=httpx.MockTransport(answer)) as http:
            while deliver_due(s, now, http, limit=5):
                pass

    try:
        threads = [threading.Thread(target=worker) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert len(sent) == 30
        assert len(set(sent)) == 30
    finally:
        with Session(engine) as s:
            ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint.id)
            s.exec(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids)))
            s.exec(delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id))
            s.exec(delete(WebhookEndpoint).where(col(WebhookEndpoint.id) == endpoint.id))
            s.commit()
