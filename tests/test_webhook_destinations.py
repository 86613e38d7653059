"""Webhook destinations: internal addresses refused in every spelling, at registration and at each send on
the address actually resolved (DNS rebinding), credentials refused, error classes without socket text."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session, select

from api.config import Settings, get_settings
from api.db import utcnow
from api.webhooks import destinations
from api.webhooks import service as webhooks
from api.webhooks.destinations import RefusedDestination, check_url, literal_address, refusal, vet
from api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent
from api.webhooks.worker import deliver_due
from tests.kit.auth import Actor
from tests.kit.requests import refused_field
from tests.test_webhooks import URL, Receiver, receiver  # noqa: F401  (the receiver fixture)

INTERNAL_URLS = [
    # The list
    "https://127.0.0.1:5432/",
    "https://[::1]/",
    "https://2130706433/",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.5/",
    # Other spellings of this machine
    "https://0x7f000001/",
    "https://0x7f.1/",
    "https://0177.0.0.1/",
    "https://017700000001/",
    "https://127.1/",
    "https://127.0.0.1./",
    "https://%31%32%37.0.0.1/",
    "https://[::ffff:127.0.0.1]/",
    "https://[::ffff:7f00:1]/",
    "https://[::127.0.0.1]/",
    "https://[0:0:0:0:0:0:0:1]/",
    "https://localhost/",
    "https://LOCALHOST./",
    "https://api.localhost/",
    # Unspecified
    "https://0.0.0.0/",
    "https://0/",
    "https://[::]/",
    # Private, shared, link-local, unique-local, site-local
    "https://192.168.1.1/",
    "https://172.16.0.1/",
    "https://10.1/",
    "https://100.64.0.1/",
    "https://169.254.1.1/",
    "https://[fe80::1]/",
    "https://[fc00::1]/",
    "https://[fd12:3456::1]/",
    "https://[fec0::1]/",
    # NAT64 and 6to4 of internal addresses
    "https://[64:ff9b::a00:5]/",
    "https://[64:ff9b::7f00:1]/",
    "https://[2002:7f00:1::]/",
    # Multicast, reserved, broadcast, documentation
    "https://224.0.0.1/",
    "https://233.1.1.1/",
    "https://[ff02::1]/",
    "https://240.0.0.1/",
    "https://255.255.255.255/",
    "https://192.0.2.1/",
    "https://[2001:db8::1]/",
    # Cloud metadata
    "https://100.100.100.200/",
    "https://[fd00:ec2::254]/",
    "https://metadata.google.internal/computeMetadata/v1/",
]


@pytest.fixture
def nothing_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test settings allow 127.0.0.1 for the tests' own receivers; these tests need the default.
    monkeypatch.setattr(get_settings(), "webhook_allowed_networks", ())


def post(client: TestClient, actor: Actor, url: str) -> httpx.Response:
    r: httpx.Response = client.post(
        URL, json={"url": url, "events": ["consent.withdrawn"]}, headers=actor.headers
    )
    return r


def test_internal_destinations_are_refused_at_registration(
    client: TestClient, coordinator: Actor, nothing_allowed: None
) -> None:
    for url in INTERNAL_URLS:
        r = post(client, coordinator, url)
        assert r.status_code == 422, (url, r.text)
        assert [e["field"] for e in r.json()["errors"]] == ["url"], r.json()
    assert client.get(URL, headers=coordinator.headers).json()["total"] == 0


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_destinations_are_refused_as_written(url: str) -> None:
    """The same URLs unnormalised (the API's URL type rewrites `2130706433` to `127.0.0.1` first): the
    check reads them as the resolver would."""
    with pytest.raises(RefusedDestination):
        check_url(url, production=False)


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0", "0.0.0.0"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("crm.example.org", None),
        ("1e1", None),  # not a number to inet_aton: a name
    ],
)
def test_numeric_hosts_are_read_as_the_resolver_reads_them(spelling: str, address: str | None) -> None:
    expected = None if address is None else ipaddress.ip_address(address)
    assert literal_address(spelling) == expected
    if address is not None and ":" not in spelling:
        # What getaddrinfo itself does with the spelling (numeric: no DNS involved).
        (info,) = socket.getaddrinfo(spelling.rstrip("."), 443, socket.AF_INET, socket.SOCK_STREAM)
        assert info[4][0] == address


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "93.184.215.14", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]
)
def test_public_addresses_are_accepted(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_allowed_networks_let_a_private_crm_in_but_never_a_metadata_service() -> None:
    allowed = [ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("169.254.0.0/16")]
    assert refusal(ipaddress.ip_address("10.20.3.4"), allowed) is None
    assert refusal(ipaddress.ip_address("::ffff:10.20.3.4"), allowed) is None
    assert refusal(ipaddress.ip_address("10.21.0.1"), allowed) is not None
    assert refusal(ipaddress.ip_address("169.254.169.254"), allowed) == "a cloud metadata address"
    check_url("https://10.20.3.4/hooks", production=True, allowed=allowed)


def test_a_private_network_in_the_setting_is_accepted_at_registration(
    client: TestClient, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "webhook_allowed_networks", (ipaddress.ip_network("10.0.0.0/8"),))
    assert post(client, coordinator, "https://10.0.0.5/hooks").status_code == 201
    assert post(client, coordinator, "https://192.168.0.5/hooks").status_code == 422


def test_credentials_in_the_url_are_refused_and_not_echoed(client: TestClient, coordinator: Actor) -> None:
    for url in ("https://crm:hunter2-secret@crm.example.org/hooks", "https://token-abc123@crm.example.org/"):
        r = post(client, coordinator, url)
        assert r.status_code == 422
        assert [e["field"] for e in r.json()["errors"]] == ["url"]
        assert "hunter2" not in r.text
        assert "abc123" not in r.text


def test_production_accepts_https_only(
    client: TestClient, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "environment", "production")
    r = post(client, coordinator, "http://crm.example.org/hooks")
    assert refused_field(r) == "url"
    assert post(client, coordinator, "https://crm.example.org/hooks").status_code == 201


def test_the_allowed_networks_setting_is_comma_separated_cidr() -> None:
    s = Settings(webhook_allowed_networks="10.20.0.0/16, fd00:1::/64")
    assert s.webhook_allowed_networks == (
        ipaddress.ip_network("10.20.0.0/16"),
        ipaddress.ip_network("fd00:1::/64"),
    )
    assert Settings(webhook_allowed_networks="").webhook_allowed_networks == ()
    with pytest.raises(ValidationError, match="WEBHOOK_ALLOWED_NETWORKS"):
        Settings(webhook_allowed_networks="10.20.0.0/33")


# --- at each send --------------------------------------------------------------------------------------


class Resolver:
    """A DNS under the test's control: each name answers what the test says, and lookups are counted."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> list[destinations.IPAddress]:
        self.lookups.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in self.answers[host]]


@pytest.fixture
def recorded() -> Iterator[tuple[list[httpx.Request], httpx.Client]]:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        yield sent, client


def queue_one(client: TestClient, actor: Actor, session: Session, url: str) -> WebhookDelivery:
    r = post(client, actor, url)
    assert r.status_code == 201, r.text
    webhooks.emit(session, WebhookEvent.consent_withdrawn, {"consent_id": uuid.uuid4()})
    session.commit()
    (delivery,) = session.exec(select(WebhookDelivery)).all()
    return delivery


@pytest.mark.parametrize(
    "answer", [["127.0.0.1"], ["10.0.0.5"], ["169.254.169.254"], ["::1"], ["93.184.215.14", "127.0.0.1"]]
)
def test_a_name_that_resolves_internally_is_refused_at_send_time(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    nothing_allowed: None,
    recorded: tuple[list[httpx.Request], httpx.Client],
    answer: list[str],
) -> None:
    """Registered while the name was public; by the time of the send it answers with an internal address."""
    delivery = queue_one(client, coordinator, session, "https://rebind.example.org/hooks")
    sent, http = recorded
    dns = Resolver({"rebind.example.org": answer})
    assert deliver_due(session, utcnow(), http, resolve=dns) == 1
    assert sent == []  # nothing went out
    assert dns.lookups == ["rebind.example.org"]
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.pending  # retried later, when the name may be fixed
    assert delivery.last_error == "destination refused"


def test_a_name_that_does_not_resolve_is_destination_refused(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    recorded: tuple[list[httpx.Request], httpx.Client],
) -> None:
    delivery = queue_one(client, coordinator, session, "https://gone.example.org/hooks")
    sent, http = recorded
    assert deliver_due(session, utcnow(), http, resolve=Resolver({})) == 1
    session.refresh(delivery)
    assert (sent, delivery.last_error) == ([], "destination refused")


def test_the_send_goes_to_the_vetted_address_with_the_name_in_host_and_sni(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    recorded: tuple[list[httpx.Request], httpx.Client],
) -> None:
    queue_one(client, coordinator, session, "https://crm.example.org:8443/hooks?x=1")
    sent, http = recorded
    dns = Resolver({"crm.example.org": ["93.184.215.14"]})
    assert deliver_due(session, utcnow(), http, resolve=dns) == 1
    (request,) = sent
    assert str(request.url) == "https://93.184.215.14:8443/hooks?x=1"
    assert request.headers["host"] == "crm.example.org:8443"
    assert request.extensions["sni_hostname"] == "crm.example.org"


def test_the_tests_receiver_is_reached_through_a_name_and_the_allowed_network(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    receiver: Receiver,  # noqa: F811
) -> None:
    """A real connection: the name resolves (by the test's DNS) to 127.0.0.1, which the test settings
    allow; the receiver gets the request with the name as Host."""
    receiver.statuses = [200]
    port = httpx.URL(receiver.url).port
    delivery = queue_one(client, coordinator, session, f"http://receiver.example.org:{port}/hooks")
    with httpx.Client(trust_env=False) as http:
        deliver_due(session, utcnow(), http, resolve=Resolver({"receiver.example.org": ["127.0.0.1"]}))
    session.refresh(delivery)
    assert delivery.status is DeliveryStatus.delivered, delivery.last_error
    ((headers, _),) = receiver.requests
    assert headers["host"] == f"receiver.example.org:{port}"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_closed_port_is_logged_as_a_class_not_the_socket_text(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    delivery = queue_one(client, coordinator, session, f"http://127.0.0.1:{_closed_port()}/hooks")
    with httpx.Client(trust_env=False) as http:
        deliver_due(session, utcnow(), http)
    session.refresh(delivery)
    assert delivery.last_error == "connection refused"


def _failing(exc: Exception) -> httpx.Client:
    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.Client(transport=httpx.MockTransport(fail))


def _connect_error_from(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError("[Errno 111] Connection refused to 10.0.0.5:5432") from inner
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "status", "expected"),
    [
        (_connect_error_from(ConnectionRefusedError(111, "Connection refused")), None, "connection refused"),
        (httpx.ConnectTimeout("timed out connecting to 10.0.0.5"), None, "timeout"),
        (httpx.ReadTimeout("read timed out"), None, "timeout"),
        (
            _connect_error_from(ssl.SSLCertVerificationError("certificate verify failed: self-signed")),
            None,
            "TLS error",
        ),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            None,
            "connection failed",
        ),
        (None, 503, "HTTP 5xx"),
        (None, 404, "HTTP 4xx"),
        (None, 302, "HTTP 3xx"),
    ],
)
def test_the_delivery_log_holds_a_generic_error_class(
    client: TestClient,
    coordinator: Actor,
    session: Session,
    exc: Exception | None,
    status: int | None,
    expected: str,
) -> None:
    delivery = queue_one(client, coordinator, session, "https://crm.example.org/hooks")
    http = (
        _failing(exc)
        if exc is not None
        else httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(status or 500)))
    )
    deliver_due(session, utcnow(), http, resolve=Resolver({"crm.example.org": ["93.184.215.14"]}))
    session.refresh(delivery)
    assert delivery.last_error == expected
    assert delivery.last_status_code == status
    log: dict[str, Any] = client.get(
        f"{URL}/{delivery.endpoint_id}/deliveries", headers=coordinator.headers
    ).json()
    assert log["items"][0]["attempt_log"][0]["error"] == expected


def test_vet_returns_the_first_address_only_when_all_are_allowed() -> None:
    dns = Resolver({"a.example.org": ["93.184.215.14", "2606:4700::1111"]})
    assert vet("a.example.org", 443, resolve=dns) == ipaddress.ip_address("93.184.215.14")
    assert vet("8.8.8.8", 443, resolve=dns) == ipaddress.ip_address("8.8.8.8")
    assert dns.lookups == ["a.example.org"]  # an address is not looked up
