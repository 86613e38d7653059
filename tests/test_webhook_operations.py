"""Operating a webhook against a real receiver on 127.0.0.1: redelivery, the test event, secret rotation
with an overlap, a change of URL and events, re-enabling. The receiver checks each delivery with the
`standardwebhooks` package (the Standard Webhooks reference library), not with our signer, and answers 200
only if it verifies, so the delivery log records what a real integrator's receiver made of it."""

from __future__ import annotations

import ipaddress
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import standardwebhooks.webhooks
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select
from standardwebhooks import Webhook, WebhookVerificationError

from api import clock
from api.audit.models import AuditEvent
from api.db import utcnow
from api.webhooks import destinations
from api.webhooks import service as webhooks
from api.webhooks.models import MAX_OVERLAP_SECONDS, DeliveryStatus, WebhookDelivery, WebhookEvent
from api.webhooks.worker import BACKOFF, _claim, deliver_due
from tests.kit.auth import Actor
from tests.kit.receivers import local_receiver
from tests.kit.run_clock import ServiceTime

URL = "/api/v1/webhooks"
WRONG_SECRET = "whsec_" + "B" * 43 + "="  # 32 bytes, but not the endpoint's


@dataclass
class Receiver:
    """A receiver holding one secret at a time, as an integrator's would: 200 if `standardwebhooks`
    verifies the delivery with it, 401 if not."""

    url: str = ""
    secret: str | None = None
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    verified: list[bool] = field(default_factory=list)

    def verify(self, secret: str, index: int = -1) -> Any:
        """The payload of delivery `index`, as `standardwebhooks` verifies it with `secret` (or raises)."""
        headers, body = self.received[index]
        return Webhook(secret).verify(body, headers)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    # `standardwebhooks` refuses a delivery stamped more than five minutes from its own "now": the receiver
    # lives on the run's clock, as an integrator's and the service's clocks both read the real time.
    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", ServiceTime)
    state = Receiver()

    def answer(headers: dict[str, str], body: bytes) -> int:
        state.received.append((headers, body))
        try:
            Webhook(state.secret or "").verify(body, headers)
            ok = True
        except Exception:  # a wrong or missing secret: what a receiver answers is a 401
            ok = False
        state.verified.append(ok)
        return 200 if ok else 401

    with local_receiver(answer) as url:
        state.url = url
        yield state


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False) as c:  # no proxy from the environment: the receiver is local
        yield c


@pytest.fixture
def send(session: Session, http: httpx.Client) -> Callable[[], int]:
    """One pass of the delivery worker, now (real time: the receiver checks the timestamp is recent)."""
    return lambda: deliver_due(session, utcnow(), http)


def public_resolver(host: str, port: int) -> list[destinations.IPAddress]:
    """A name standing for a public host (no DNS in the tests; that transport is a mock)."""
    return [ipaddress.ip_address("93.184.215.14")]


def register(client: TestClient, actor: Actor, url: str, events: list[str] | None = None) -> dict[str, Any]:
    r = client.post(URL, json={"url": url, "events": events or ["incident.reported"]}, headers=actor.headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def rotate(client: TestClient, actor: Actor, hook_id: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"{URL}/{hook_id}/rotate-secret", json=body or None, headers=actor.headers)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    return dict(r.json())


def queue_test_event(client: TestClient, actor: Actor, hook_id: str) -> dict[str, Any]:
    r = client.post(f"{URL}/{hook_id}/test", headers=actor.headers)
    assert r.status_code == 202, r.text
    return dict(r.json())


def log_of(client: TestClient, session: Session, actor: Actor, hook_id: str) -> list[dict[str, Any]]:
    session.expire_all()  # the worker's commits went round the test session's identity map
    r = client.get(f"{URL}/{hook_id}/deliveries", headers=actor.headers)
    return list(r.json()["items"])


def answering(status: int) -> httpx.Client:
    """A client whose every send the receiver answers with `status` (no network)."""
    return httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(status)))


def fail_for_good(session: Session, http: httpx.Client, resolve: destinations.Resolver | None = None) -> None:
    """Queue one event and send it until every retry is used up (the clock moved a day between tries)."""
    webhooks.emit(session, WebhookEvent.incident_reported, {"incident_id": uuid.uuid4()})
    session.commit()
    now = utcnow()
    for _ in range(len(BACKOFF) + 1):
        assert deliver_due(session, now, http, resolve=resolve or destinations.system_resolver) == 1
        now += timedelta(days=1)


def status_of(session: Session, delivery: WebhookDelivery) -> DeliveryStatus:
    session.refresh(delivery)
    return delivery.status


def signatures(receiver: Receiver, index: int = -1) -> list[str]:
    return receiver.received[index][0]["webhook-signature"].split(" ")


# --- the test event ---------------------------------------------------------------------------------


def test_a_test_event_arrives_and_verifies_with_standardwebhooks(
    client: TestClient, coordinator: Actor, session: Session, receiver: Receiver, send: Callable[[], int]
) -> None:
    # Subscribed to something else: the test event is sent all the same.
    hook = register(client, coordinator, receiver.url, ["consent.withdrawn"])
    receiver.secret = hook["secret"]
    queued = queue_test_event(client, coordinator, hook["id"])
    assert (queued["event_type"], queued["status"]) == ("webhook.test", "pending")
    assert send() == 1
    payload = receiver.verify(hook["secret"])
    assert payload["type"] == "webhook.test"
    assert payload["data"] == {"webhook_id": hook["id"]}  # nothing about anyone
    assert receiver.received[-1][0]["webhook-id"] == queued["id"]
    with pytest.raises(WebhookVerificationError):
        receiver.verify(WRONG_SECRET)
    (entry,) = log_of(client, session, coordinator, hook["id"])
    assert (entry["status"], [a["status_code"] for a in entry["attempt_log"]]) == ("delivered", [200])


def test_no_test_event_for_a_disabled_webhook(
    client: TestClient, coordinator: Actor, receiver: Receiver
) -> None:
    hook = register(client, coordinator, receiver.url)
    client.post(f"{URL}/{hook['id']}/disable", headers=coordinator.headers)
    r = client.post(f"{URL}/{hook['id']}/test", headers=coordinator.headers)
    assert r.status_code == 409
    assert client.post(f"{URL}/{uuid.uuid4()}/test", headers=coordinator.headers).status_code == 404


# --- redelivery -------------------------------------------------------------------------------------


def test_a_redelivery_arrives_with_the_same_webhook_id_and_body_as_a_new_attempt(
    client: TestClient, coordinator: Actor, session: Session, receiver: Receiver, send: Callable[[], int]
) -> None:
    hook = register(client, coordinator, receiver.url)
    receiver.secret = hook["secret"]
    incident_id = uuid.uuid4()
    webhooks.emit(session, WebhookEvent.incident_reported, {"incident_id": incident_id})
    session.commit()
    assert send() == 1
    assert send() == 0  # delivered: nothing more is due
    (first,) = log_of(client, session, coordinator, hook["id"])

    r = client.post(f"{URL}/{hook['id']}/deliveries/{first['id']}/redeliver", headers=coordinator.headers)
    assert r.status_code == 202, r.text
    assert (r.json()["id"], r.json()["status"]) == (first["id"], "pending")
    assert send() == 1

    assert len(receiver.received) == 2
    (h1, b1), (h2, b2) = receiver.received
    assert h1["webhook-id"] == h2["webhook-id"] == first["id"]
    assert b1 == b2
    assert receiver.verify(hook["secret"])["data"] == {"incident_id": str(incident_id)}
    (entry,) = log_of(client, session, coordinator, hook["id"])
    assert entry["status"] == "delivered"
    assert entry["attempts"] == 2
    assert [a["succeeded"] for a in entry["attempt_log"]] == [True, True]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "webhook_delivery.redeliver")).one()
    assert event.entity_id == uuid.UUID(first["id"])


def test_a_redelivered_failure_gets_the_whole_retry_schedule_again(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    hook = register(client, coordinator, "https://down.example.org/hooks")
    down = answering(503)
    fail_for_good(session, down, public_resolver)
    delivery = session.exec(select(WebhookDelivery)).one()
    assert status_of(session, delivery) is DeliveryStatus.failed
    assert client.get(f"{URL}/{hook['id']}", headers=coordinator.headers).json()["failure_count"] == 1

    r = client.post(f"{URL}/{hook['id']}/deliveries/{delivery.id}/redeliver", headers=coordinator.headers)
    assert r.status_code == 202
    at = utcnow()
    assert deliver_due(session, at, down, resolve=public_resolver) == 1
    # Failed again, but pending: the first wait of the schedule, not given up at once.
    assert status_of(session, delivery) is DeliveryStatus.pending
    assert delivery.attempts == len(BACKOFF) + 2
    assert abs(delivery.next_attempt_at - at - BACKOFF[0]) < timedelta(seconds=5)


def test_a_delivery_that_arrives_sets_the_failure_count_back_to_0(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    hook = register(client, coordinator, "https://flaky.example.org/hooks")
    fail_for_good(session, answering(503), public_resolver)
    failed = client.get(f"{URL}/{hook['id']}", headers=coordinator.headers)
    assert failed.json()["failure_count"] == 1
    delivery = session.exec(select(WebhookDelivery)).one()
    client.post(f"{URL}/{hook['id']}/deliveries/{delivery.id}/redeliver", headers=coordinator.headers)
    assert deliver_due(session, utcnow(), answering(204), resolve=public_resolver) == 1
    session.expire_all()
    after = client.get(f"{URL}/{hook['id']}", headers=coordinator.headers)
    assert after.json()["failure_count"] == 0
    assert after.headers["etag"] != failed.headers["etag"]  # the answer changed, so its tag did


def test_redelivery_refusals(client: TestClient, coordinator: Actor, session: Session) -> None:
    a = register(client, coordinator, "https://a.example.org/hooks")
    b = register(client, coordinator, "https://b.example.org/hooks")
    webhooks.emit(session, WebhookEvent.incident_reported, {"incident_id": uuid.uuid4()})
    session.commit()
    of_a = session.exec(
        select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == uuid.UUID(a["id"]))
    ).one()
    # Another webhook's delivery answers as an unknown one.
    wrong = client.post(f"{URL}/{b['id']}/deliveries/{of_a.id}/redeliver", headers=coordinator.headers)
    unknown = client.post(f"{URL}/{a['id']}/deliveries/{uuid.uuid4()}/redeliver", headers=coordinator.headers)
    assert wrong.status_code == unknown.status_code == 404
    # A worker holds it now: not raced.
    assert _claim(session, of_a.id, utcnow()) is True
    busy = client.post(f"{URL}/{a['id']}/deliveries/{of_a.id}/redeliver", headers=coordinator.headers)
    assert busy.status_code == 409
    client.post(f"{URL}/{a['id']}/disable", headers=coordinator.headers)
    off = client.post(f"{URL}/{a['id']}/deliveries/{of_a.id}/redeliver", headers=coordinator.headers)
    assert off.status_code == 409


# --- rotation ---------------------------------------------------------------------------------------


def test_during_the_overlap_a_receiver_with_either_secret_verifies(
    client: TestClient, coordinator: Actor, session: Session, receiver: Receiver, send: Callable[[], int]
) -> None:
    hook = register(client, coordinator, receiver.url)
    old = hook["secret"]
    rotated = rotate(client, coordinator, hook["id"], overlap_seconds=3600)
    new = rotated["secret"]
    assert new != old
    assert new.startswith("whsec_")
    expires = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert timedelta(minutes=59) < expires - utcnow() <= timedelta(hours=1)

    receiver.secret = old  # a receiver not yet switched
    event = queue_test_event(client, coordinator, hook["id"])
    assert send() == 1
    receiver.secret = new  # the same receiver after its switch
    r = client.post(f"{URL}/{hook['id']}/deliveries/{event['id']}/redeliver", headers=coordinator.headers)
    assert r.status_code == 202
    assert send() == 1

    assert receiver.verified == [True, True]
    for index in (0, 1):
        assert len(signatures(receiver, index)) == 2  # new and old, space-separated
        assert receiver.verify(old, index)["type"] == "webhook.test"
        assert receiver.verify(new, index)["type"] == "webhook.test"


def test_after_the_overlap_only_the_new_secret_verifies(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    receiver: Receiver,
    send: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = register(client, coordinator, receiver.url)
    old = hook["secret"]
    # Rotated two hours ago with an hour's overlap: the overlap is over now.
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() - timedelta(hours=2))
    new = rotate(client, coordinator, hook["id"], overlap_seconds=3600)["secret"]
    monkeypatch.setattr(clock, "now", real_now)

    receiver.secret = old
    event = queue_test_event(client, coordinator, hook["id"])
    assert send() == 1
    assert len(signatures(receiver)) == 1
    with pytest.raises(WebhookVerificationError):
        receiver.verify(old)
    assert receiver.verify(new)["type"] == "webhook.test"
    (entry,) = log_of(client, session, coordinator, hook["id"])
    assert (entry["status"], entry["last_status_code"]) == ("pending", 401)  # the old receiver refused it

    receiver.secret = new
    r = client.post(f"{URL}/{hook['id']}/deliveries/{event['id']}/redeliver", headers=coordinator.headers)
    assert r.status_code == 202
    assert send() == 1
    assert receiver.verified == [False, True]


def test_no_overlap_switches_at_once_and_a_second_rotation_drops_the_oldest(
    client: TestClient, coordinator: Actor, session: Session, receiver: Receiver, send: Callable[[], int]
) -> None:
    hook = register(client, coordinator, receiver.url)
    first = hook["secret"]
    second = rotate(client, coordinator, hook["id"], overlap_seconds=3600)["secret"]
    third = rotate(client, coordinator, hook["id"])  # the default overlap: 24 hours
    assert datetime.fromisoformat(third["previous_secret_expires_at"]) - utcnow() > timedelta(hours=23)
    queue_test_event(client, coordinator, hook["id"])
    assert send() == 1
    assert len(signatures(receiver)) == 2
    assert receiver.verify(second)["type"] == "webhook.test"
    assert receiver.verify(third["secret"])["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        receiver.verify(first)  # two secrets at most: the first stopped at the second rotation

    fourth = rotate(client, coordinator, hook["id"], overlap_seconds=0)
    assert fourth["previous_secret_expires_at"] is None
    queue_test_event(client, coordinator, hook["id"])
    assert send() == 1
    assert len(signatures(receiver)) == 1
    assert receiver.verify(fourth["secret"])
    with pytest.raises(WebhookVerificationError):
        receiver.verify(third["secret"])


def test_rotation_bounds_and_preconditions(client: TestClient, coordinator: Actor) -> None:
    hook = register(client, coordinator, "https://crm.example.org/hooks")
    rotate_url = f"{URL}/{hook['id']}/rotate-secret"
    for bad in (-1, MAX_OVERLAP_SECONDS + 1, "3600", 1.5):
        r = client.post(rotate_url, json={"overlap_seconds": bad}, headers=coordinator.headers)
        assert r.status_code == 422, bad
        assert "overlap_seconds" in {e["field"] for e in r.json()["errors"]}
    r = client.post(rotate_url, json={"overlap_seconds": MAX_OVERLAP_SECONDS}, headers=coordinator.headers)
    assert r.status_code == 200
    stale = client.post(rotate_url, headers={**coordinator.headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert "whsec_" not in stale.text


def test_secrets_reach_no_answer_but_their_own_no_audit_event_and_no_log(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    receiver: Receiver,
    send: Callable[[], int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hook = register(client, coordinator, receiver.url)
    rotated = rotate(client, coordinator, hook["id"], overlap_seconds=600)
    secrets = [hook["secret"], rotated["secret"]]
    queue_test_event(client, coordinator, hook["id"])
    send()
    answers = [
        client.get(f"{URL}/{hook['id']}", headers=coordinator.headers),
        client.get(URL, headers=coordinator.headers),
        client.get(f"{URL}/{hook['id']}/deliveries", headers=coordinator.headers),
        client.patch(f"{URL}/{hook['id']}", json={"url": "http://10.0.0.1/"}, headers=coordinator.headers),
        client.post(f"{URL}/{hook['id']}/enable", headers=coordinator.headers),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 422, 409]
    events = session.exec(select(AuditEvent).where(col(AuditEvent.entity_type).like("webhook%"))).all()
    assert {e.action for e in events} >= {
        "webhook_endpoint.create",
        "webhook_endpoint.rotate_secret",
        "webhook_endpoint.test",
    }
    rotation = next(e for e in events if e.action == "webhook_endpoint.rotate_secret")
    assert rotation.changes["overlap_seconds"] == 600
    trail = json.dumps([e.changes for e in events])
    for secret in secrets:
        key = secret.removeprefix("whsec_")
        assert key not in trail
        assert key not in caplog.text
        assert all(key not in a.text for a in answers)


# --- change of URL and events -----------------------------------------------------------------------

REFUSED = [
    "http://10.0.0.1/hooks",  # private
    "http://127.0.0.2/hooks",  # loopback (the tests allow 127.0.0.1/32 only)
    "http://[::1]/hooks",
    "http://localhost/hooks",
    "http://169.254.169.254/latest/meta-data",
    "http://2130706434/hooks",  # 127.0.0.2 spelled as a number
    "https://user:pass@crm.example.org/hooks",
]


@pytest.mark.parametrize("url", REFUSED)
def test_a_change_of_url_is_refused_exactly_as_a_registration(
    client: TestClient, coordinator: Actor, url: str
) -> None:
    hook = register(client, coordinator, "https://crm.example.org/hooks")
    created = client.post(
        URL, json={"url": url, "events": ["incident.reported"]}, headers=coordinator.headers
    )
    changed = client.patch(f"{URL}/{hook['id']}", json={"url": url}, headers=coordinator.headers)
    assert created.status_code == changed.status_code == 422
    assert created.json()["errors"] == changed.json()["errors"]
    assert [e["field"] for e in changed.json()["errors"]] == ["url"]
    after = client.get(f"{URL}/{hook['id']}", headers=coordinator.headers).json()
    assert (after["url"], after["updated_at"]) == (hook["url"], hook["updated_at"])


def test_a_change_of_url_and_events_is_where_and_what_is_sent_next(
    client: TestClient, coordinator: Actor, session: Session, receiver: Receiver, send: Callable[[], int]
) -> None:
    hook = register(client, coordinator, "https://old.example.org/hooks", ["incident.reported"])
    receiver.secret = hook["secret"]
    r = client.patch(
        f"{URL}/{hook['id']}",
        json={"url": receiver.url, "events": ["consent.withdrawn"], "description": "CRM v2"},
        headers={**coordinator.headers, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["url"], r.json()["events"], r.json()["description"]) == (
        receiver.url,
        ["consent.withdrawn"],
        "CRM v2",
    )
    assert r.headers["etag"] == '"2"'
    webhooks.emit(session, WebhookEvent.incident_reported, {"incident_id": uuid.uuid4()})
    webhooks.emit(session, WebhookEvent.consent_withdrawn, {"consent_id": uuid.uuid4()})
    session.commit()
    assert send() == 1
    assert receiver.verify(hook["secret"])["type"] == "consent.withdrawn"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "webhook_endpoint.update")).one()
    assert event.changes["url"] == {"before": "https://old.example.org/hooks", "after": receiver.url}
    assert event.changes["events"] == {"before": ["incident.reported"], "after": ["consent.withdrawn"]}


def test_bad_changes_are_4xx_naming_the_field(client: TestClient, coordinator: Actor) -> None:
    hook = register(client, coordinator, "https://crm.example.org/hooks")
    for body, name in (
        ({"url": None}, "url"),
        ({"events": None}, "events"),
        ({"events": []}, "events"),
        ({"events": ["pizza.ordered"]}, "events.0"),
        ({"secret": "mine"}, "secret"),
    ):
        r = client.patch(f"{URL}/{hook['id']}", json=body, headers=coordinator.headers)
        assert r.status_code == 422, body
        assert name in {e["field"] for e in r.json()["errors"]}, r.json()
    stale = client.patch(
        f"{URL}/{hook['id']}", json={"description": "x"}, headers={**coordinator.headers, "If-Match": '"9"'}
    )
    assert stale.status_code == 412


# --- re-enable --------------------------------------------------------------------------------------


def test_re_enabling_resets_the_failure_count_and_sends_again(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    receiver: Receiver,
    http: httpx.Client,
    send: Callable[[], int],
) -> None:
    hook = register(client, coordinator, receiver.url)
    receiver.secret = WRONG_SECRET  # the receiver lost the secret: every delivery is refused
    fail_for_good(session, http)
    assert receiver.verified == [False] * (len(BACKOFF) + 1)
    session.expire_all()
    got = client.get(f"{URL}/{hook['id']}", headers=coordinator.headers).json()
    assert got["failure_count"] == 1
    assert client.post(f"{URL}/{hook['id']}/enable", headers=coordinator.headers).status_code == 409
    client.post(f"{URL}/{hook['id']}/disable", headers=coordinator.headers)

    r = client.post(f"{URL}/{hook['id']}/enable", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["disabled_at"], r.json()["failure_count"]) == (None, 0)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "webhook_endpoint.enable")).one()
    assert event.changes["failure_count"] == {"before": 1, "after": 0}

    receiver.secret = hook["secret"]
    queue_test_event(client, coordinator, hook["id"])
    assert send() == 1
    assert receiver.verified[-1] is True
