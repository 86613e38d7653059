from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from jose import jwt
from pydantic import ValidationError
from sqlmodel import Session, col, select

from api.audit.models import AuditEvent
from api.auth import passwords, service, throttle, tokens
from api.auth.models import User
from api.auth.roles import Role
from api.auth.throttle import LoginThrottle
from api.config import DEV_SECRET, Settings, get_settings
from api.db import utcnow
from api.errors import Conflict, TooManyRequests, Unauthorized, Unprocessable
from api.staff.models import Staff
from tests.kit.auth import PASSWORD, Actor, make_actor
from tests.kit.clock import TODAY
from tests.kit.staff import make_staff

TOKEN_URL = "/api/v1/auth/token"
ME_URL = "/api/v1/auth/me"
PASSWORD_URL = "/api/v1/auth/password"
NEW_PASSWORD = "a much longer new passphrase"


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    response: Response = client.post(TOKEN_URL, data={"username": email, "password": password})
    return response


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def claims_for(user: User, **overrides: Any) -> dict[str, Any]:
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": str(user.id),
        "ep": user.token_epoch,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=30)).timestamp()),
    }
    claims.update(overrides)
    return claims


def assert_401(response: Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "not_authenticated"


# --- sign-in -----------------------------------------------------------------------------------------


def test_sign_in_issues_a_working_token_and_is_audited(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    assert staff_actor.user is not None
    r = sign_in(client, staff_actor.user.email.upper())  # emails are matched case-insensitively
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == get_settings().access_token_minutes * 60
    me = client.get(ME_URL, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == str(staff_actor.user.id)
    assert me.json()["role"] == "staff"
    assert "password_hash" not in me.json()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_in")).one()
    assert (event.actor_type, event.actor_id) == ("user", staff_actor.user.id)
    assert event.entity_id == staff_actor.user.id
    session.refresh(staff_actor.user)
    assert staff_actor.user.last_login_at is not None


def test_failed_sign_ins_are_audited_without_saying_why_to_the_caller(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    assert staff_actor.user is not None
    wrong = sign_in(client, staff_actor.user.email, "not the password at all")
    unknown = sign_in(client, "nobody@moremusic.org.uk")
    for r in (wrong, unknown):
        assert_401(r)
    assert (
        wrong.json()["detail"] == unknown.json()["detail"]
    )  # the answer does not reveal which accounts exist
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed")).all()
    by_label = {e.actor_label: e for e in events}
    assert by_label[staff_actor.user.email].entity_id == staff_actor.user.id
    assert by_label[staff_actor.user.email].changes == {"reason": "wrong_password"}
    assert by_label[service.UNKNOWN_ACCOUNT].entity_id is None
    assert all(e.actor_type == "anonymous" for e in events)


def test_a_failed_sign_in_never_keeps_what_was_typed_for_an_unknown_account(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    # A password typed into the email field must not reach the append-only audit log, in any spelling.
    assert staff_actor.user is not None
    typed = "My Secret Pass 2026!"
    assert_401(sign_in(client, typed))
    assert_401(sign_in(client, f"  {staff_actor.user.email.upper()} ", "not the password at all"))
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed")).all()
    assert sorted((e.actor_label or "") for e in events) == sorted(
        [service.UNKNOWN_ACCOUNT, staff_actor.user.email]  # a known account: its own stored email
    )
    stored = json.dumps([e.model_dump(mode="json") for e in events]).casefold()
    assert "secret pass" not in stored


def test_disabled_or_departed_accounts_cannot_sign_in(client: TestClient, session: Session) -> None:
    disabled = make_actor(session, Role.staff)
    assert disabled.user is not None
    disabled.user.is_active = False
    session.add(disabled.user)
    departed = make_actor(session, Role.staff, left_on=TODAY)
    assert departed.user is not None
    session.commit()
    assert_401(sign_in(client, disabled.user.email))
    assert_401(sign_in(client, departed.user.email))
    reasons = {
        e.entity_id: e.changes["reason"]
        for e in session.exec(select(AuditEvent).where(AuditEvent.action == "auth.sign_in_failed"))
    }
    assert reasons == {disabled.user.id: "disabled", departed.user.id: "departed"}


def test_unknown_email_still_verifies_one_password(
    client: TestClient, staff_actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert staff_actor.user is not None
    calls: list[str] = []

    def spy(password: str, password_hash: str) -> bool:
        calls.append(password_hash)
        return passwords.verify_password(password, password_hash)

    monkeypatch.setattr(service, "verify_password", spy)
    assert_401(sign_in(client, "nobody@moremusic.org.uk"))
    assert calls == [passwords.dummy_hash()]
    calls.clear()
    assert_401(sign_in(client, staff_actor.user.email, "not the password at all"))
    assert calls == [staff_actor.user.password_hash]  # the same work as for an unknown email


# --- the lockout -------------------------------------------------------------------------------------


def test_sixth_failure_in_the_window_is_429_even_with_the_right_password(
    client: TestClient, staff_actor: Actor, coordinator: Actor
) -> None:
    assert staff_actor.user is not None
    assert coordinator.user is not None
    for _ in range(5):
        assert_401(sign_in(client, staff_actor.user.email, "wrong password guess"))
    r = sign_in(client, staff_actor.user.email)  # the right password: still refused
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "too_many_requests"
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert sign_in(client, staff_actor.user.email.upper(), "another guess").status_code == 429
    # Another account is not locked by someone guessing at this one.
    assert sign_in(client, coordinator.user.email).status_code == 200


def test_unknown_email_is_locked_out_too(client: TestClient) -> None:
    for _ in range(5):
        assert_401(sign_in(client, "nobody@moremusic.org.uk", "guess"))
    r = sign_in(client, "nobody@moremusic.org.uk", "guess")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) > 0


def test_failures_older_than_the_window_no_longer_count(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    assert staff_actor.user is not None
    for _ in range(5):
        assert_401(sign_in(client, staff_actor.user.email, "wrong password guess"))
    assert sign_in(client, staff_actor.user.email).status_code == 429
    counters = session.exec(select(LoginThrottle).order_by(col(LoginThrottle.scope))).all()
    # A refused attempt is not counted (nor can it extend the lock); no email or address is stored.
    assert [(c.scope, c.checks) for c in counters] == [("account", 5), ("client", 5)]
    assert all(staff_actor.user.email not in c.subject_hash for c in counters)
    for counter in counters:
        counter.window_started_at = utcnow() - timedelta(minutes=15, seconds=1)
        session.add(counter)
    session.commit()
    assert sign_in(client, staff_actor.user.email).status_code == 200


def test_successes_do_not_count_towards_the_lockout(client: TestClient, staff_actor: Actor) -> None:
    assert staff_actor.user is not None
    for _ in range(6):
        assert sign_in(client, staff_actor.user.email).status_code == 200


def test_one_client_guessing_across_accounts_is_throttled(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    """A common password tried against many emails from one address: after LOGIN_CLIENT_MAX_FAILURES
    failures, every account is refused from that address, the right password too, and no check is run."""
    assert coordinator.user is not None
    limit = get_settings().login_client_max_failures
    for n in range(limit):
        assert_401(sign_in(client, f"guess-{n}@moremusic.org.uk", "Summer2026!"))
    r = sign_in(client, coordinator.user.email)
    assert r.status_code == 429
    assert "your address" in r.json()["detail"]
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    # The account itself was not counted against: from another address it signs in.
    token, _ = service.sign_in(
        session=session, email=coordinator.user.email, password=PASSWORD, client="192.0.2.50"
    )
    assert token


@pytest.mark.parametrize(
    ("clients", "other"),
    [
        # One /64 is one client, whichever of its 2**64 addresses each guess comes from.
        (
            [f"2001:db8:1:2::{n:x}" for n in range(1, 40)] + ["2001:db8:1:2:ffff:ffff:ffff:ffff"],
            "2001:db8:1:3::1",
        ),
        # An IPv4-mapped address is the IPv4 client itself, in either spelling.
        (
            ["198.51.100.7", "::ffff:198.51.100.7", "::ffff:c633:6407", "0:0:0:0:0:ffff:198.51.100.7"],
            "198.51.100.8",
        ),
    ],
)
def test_the_client_limit_counts_an_ipv6_client_per_64_and_mapped_ipv4_as_ipv4(
    session: Session, coordinator: Actor, clients: list[str], other: str
) -> None:
    assert coordinator.user is not None
    limit = get_settings().login_client_max_failures
    for n in range(limit):
        with pytest.raises(Unauthorized):
            service.sign_in(
                session=session,
                email=f"guess-{n}@moremusic.org.uk",
                password="Summer2026!",
                client=clients[n % len(clients)],
            )
    for address in clients:
        with pytest.raises(TooManyRequests, match="your address"):
            service.sign_in(session=session, email=coordinator.user.email, password=PASSWORD, client=address)
    # The next network (or the next IPv4 address) is another client.
    assert service.sign_in(session=session, email=coordinator.user.email, password=PASSWORD, client=other)


@pytest.mark.parametrize(
    ("client_text", "subject"),
    [
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("203.0.113.9", "203.0.113.9"),
        ("::1", "::/64"),
        ("testclient", "testclient"),
    ],
)
def test_client_subject(client_text: str, subject: str) -> None:
    assert throttle.client_subject(client_text) == subject


def test_a_password_check_is_counted_and_committed_before_it_runs(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    actor = make_actor(session, Role.staff)
    assert actor.user is not None
    real = passwords.verify_password
    seen: list[list[tuple[str, int]]] = []

    def verify(password: str, hashed: str) -> bool:
        seen.append([(c.scope, c.checks) for c in session.exec(select(LoginThrottle)).all()])
        session.rollback()  # what it read must be committed already, not pending in this transaction
        return real(password, hashed)

    monkeypatch.setattr(service, "verify_password", verify)
    with pytest.raises(Unauthorized):
        service.sign_in(session=session, email=actor.user.email, password="wrong", client="192.0.2.1")
    assert sorted(seen[0]) == [("account", 1), ("client", 1)]
    # A success gives its place back: only failures hold the count.
    service.sign_in(session=session, email=actor.user.email, password=PASSWORD, client="192.0.2.1")
    assert sorted((c.scope, c.checks) for c in session.exec(select(LoginThrottle)).all()) == [
        ("account", 1),
        ("client", 1),
    ]


def test_token_errors_carry_oauth2_error_and_description(client: TestClient, staff_actor: Actor) -> None:
    """RFC 6749 §5.2, so Swagger UI's Authorize dialog can say why (and how long to wait)."""
    assert staff_actor.user is not None
    r = sign_in(client, staff_actor.user.email, "wrong password guess")
    assert (r.json()["error"], r.json()["error_description"]) == (
        "invalid_grant",
        "Incorrect email or password",
    )
    assert r.json()["code"] == "not_authenticated"  # the problem details are still all there
    r = client.post(TOKEN_URL, data={"username": staff_actor.user.email})
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"
    assert "password" in r.json()["error_description"]
    r = client.post(TOKEN_URL, data={"username": "a", "password": "b", "grant_type": "client_credentials"})
    assert (r.status_code, r.json()["error"]) == (422, "unsupported_grant_type")
    for _ in range(4):
        sign_in(client, staff_actor.user.email, "wrong password guess")
    r = sign_in(client, staff_actor.user.email)
    assert r.status_code == 429
    assert r.json()["error"] == "slow_down"
    assert f"try again in {r.headers['Retry-After']} seconds" in r.json()["error_description"]
    assert r.json()["retry_after"] == int(r.headers["Retry-After"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("203.0.113.9", [], "203.0.113.9"),
        # Not from a trusted proxy: whatever the client wrote is ignored.
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        # From our proxy: the nearest address it did not add itself.
        ("10.0.0.2", ["198.51.100.1, 203.0.113.7"], "203.0.113.7"),
        ("10.0.0.2", ["198.51.100.1, 203.0.113.7, 10.0.0.3"], "203.0.113.7"),
        ("10.0.0.2", ["198.51.100.1", "203.0.113.7"], "203.0.113.7"),
        ("10.0.0.2", ["not an address"], "10.0.0.2"),
        ("10.0.0.2", [], "10.0.0.2"),
        ("::1", ["2001:db8::5"], "2001:db8::5"),
        # A dual-stack socket reports an IPv4 peer as IPv4-mapped: still the trusted IPv4 proxy.
        ("::ffff:10.0.0.2", ["198.51.100.1, ::ffff:203.0.113.7"], "203.0.113.7"),
        ("testclient", ["198.51.100.1"], "testclient"),
        (None, [], "unknown"),
    ],
)
def test_the_forwarded_address_is_believed_only_from_trusted_proxies(
    monkeypatch: pytest.MonkeyPatch, peer: str | None, forwarded: list[str], expected: str
) -> None:
    monkeypatch.setattr(
        get_settings(), "trusted_proxies", Settings(trusted_proxies="10.0.0.0/8, ::1/128").trusted_proxies
    )
    assert throttle.client_address(peer, forwarded) == expected


def test_trusted_proxies_must_be_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, nonsense")
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES must be comma-separated networks"):
        Settings()
    monkeypatch.setenv("TRUSTED_PROXIES", "")
    assert Settings().trusted_proxies == []


# --- tokens ------------------------------------------------------------------------------------------


def test_expired_token_is_401(client: TestClient, staff_actor: Actor) -> None:
    assert staff_actor.user is not None
    token = tokens.issue(
        user_id=staff_actor.user.id,
        epoch=staff_actor.user.token_epoch,
        secret=get_settings().secret_key.get_secret_value(),
        minutes=30,
        now=utcnow() - timedelta(minutes=31),
    )
    assert_401(client.get(ME_URL, headers=bearer(token)))


def test_tampered_token_is_401(client: TestClient, staff_actor: Actor, coordinator: Actor) -> None:
    assert staff_actor.user is not None
    assert coordinator.user is not None
    header, _, signature = staff_actor.headers["Authorization"].removeprefix("Bearer ").split(".")
    # The staff member's signature on a payload claiming to be the coordinator.
    forged = f"{header}.{b64url(claims_for(coordinator.user))}.{signature}"
    assert_401(client.get(ME_URL, headers=bearer(forged)))
    other_secret = jwt.encode(claims_for(staff_actor.user), "another-secret-" + "y" * 40, algorithm="HS256")
    assert_401(client.get(ME_URL, headers=bearer(other_secret)))
    assert_401(client.get(ME_URL, headers=bearer("not.a.token")))


def test_another_algorithm_is_401(client: TestClient, staff_actor: Actor) -> None:
    assert staff_actor.user is not None
    hs512 = jwt.encode(
        claims_for(staff_actor.user), get_settings().secret_key.get_secret_value(), algorithm="HS512"
    )
    assert client.get(ME_URL, headers=bearer(hs512)).status_code == 401
    # `alg: none` is built by hand: no library will sign one.
    for alg in ("none", "None", "NONE"):
        unsigned = f"{b64url({'alg': alg, 'typ': 'JWT'})}.{b64url(claims_for(staff_actor.user))}."
        assert_401(client.get(ME_URL, headers=bearer(unsigned)))
    # The same claims under HS256 do work, so the 401s above are the algorithm's doing.
    good = jwt.encode(
        claims_for(staff_actor.user), get_settings().secret_key.get_secret_value(), algorithm="HS256"
    )
    assert client.get(ME_URL, headers=bearer(good)).status_code == 200


def test_token_missing_a_required_claim_is_401(client: TestClient, staff_actor: Actor) -> None:
    assert staff_actor.user is not None
    secret = get_settings().secret_key.get_secret_value()
    for claim in ("exp", "iat", "sub"):
        claims = claims_for(staff_actor.user)
        del claims[claim]
        assert_401(client.get(ME_URL, headers=bearer(jwt.encode(claims, secret, algorithm="HS256"))))


@pytest.mark.parametrize("days_after_leaving", [0, 1])
def test_departed_staff_token_is_401_from_the_day_they_leave(
    client: TestClient, session: Session, days_after_leaving: int
) -> None:
    actor = make_actor(session, Role.staff, left_on=TODAY - timedelta(days=days_after_leaving))
    assert_401(client.get(ME_URL, headers=actor.headers))


def test_staff_leaving_tomorrow_still_signs_in_today(client: TestClient, session: Session) -> None:
    actor = make_actor(session, Role.staff, left_on=TODAY + timedelta(days=1))
    assert client.get(ME_URL, headers=actor.headers).status_code == 200


def test_recording_leaving_ends_an_issued_token(
    client: TestClient, staff_actor: Actor, coordinator: Actor
) -> None:
    assert staff_actor.staff is not None
    assert client.get(ME_URL, headers=staff_actor.headers).status_code == 200
    r = client.post(
        f"/api/v1/staff/{staff_actor.staff.id}/leave",
        json={"left_on": str(TODAY)},
        headers=coordinator.headers,
    )
    assert r.status_code == 200
    assert_401(client.get(ME_URL, headers=staff_actor.headers))


# --- changing one's own password ---------------------------------------------------------------------


def test_change_password_revokes_old_tokens_and_answers_a_fresh_one(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    assert staff_actor.user is not None
    signed_in = sign_in(client, staff_actor.user.email).json()["access_token"]
    r = client.post(
        PASSWORD_URL,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=staff_actor.headers,
    )
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    # Every earlier token, from any device, stops at once; the fresh one works.
    assert_401(client.get(ME_URL, headers=staff_actor.headers))
    assert_401(client.get(ME_URL, headers=bearer(signed_in)))
    assert client.get(ME_URL, headers=bearer(fresh)).status_code == 200
    assert_401(sign_in(client, staff_actor.user.email, PASSWORD))
    assert sign_in(client, staff_actor.user.email, NEW_PASSWORD).status_code == 200
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.password_change")).one()
    assert (event.actor_type, event.actor_id, event.entity_id) == (
        "user",
        staff_actor.user.id,
        staff_actor.user.id,
    )
    assert event.changes == {"token_epoch": {"before": 0, "after": 1}}  # the hash itself is never logged
    assert NEW_PASSWORD not in json.dumps(event.changes)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"current_password": "not my password!", "new_password": NEW_PASSWORD}, "current_password"),
        ({"current_password": PASSWORD, "new_password": "too short"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, "new_password"),
        ({"current_password": PASSWORD}, "new_password"),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "role": "coordinator"}, "role"),
    ],
)
def test_change_password_refusals_name_the_field_and_keep_the_old_password(
    client: TestClient, staff_actor: Actor, session: Session, body: dict[str, str], field: str
) -> None:
    assert staff_actor.user is not None
    r = client.post(PASSWORD_URL, json=body, headers=staff_actor.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert client.get(ME_URL, headers=staff_actor.headers).status_code == 200  # nothing was revoked
    assert sign_in(client, staff_actor.user.email, PASSWORD).status_code == 200
    session.refresh(staff_actor.user)
    assert staff_actor.user.token_epoch == 0


def test_wrong_current_passwords_count_towards_the_lockout(client: TestClient, staff_actor: Actor) -> None:
    # A stolen token must not be a way to guess the password without limit.
    assert staff_actor.user is not None
    wrong = {"current_password": "a guess at it", "new_password": NEW_PASSWORD}
    for _ in range(5):
        assert client.post(PASSWORD_URL, json=wrong, headers=staff_actor.headers).status_code == 422
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.post(PASSWORD_URL, json=right, headers=staff_actor.headers).status_code == 429
    assert sign_in(client, staff_actor.user.email).status_code == 429


def test_an_api_key_has_no_password_to_change(client: TestClient, integration: Actor) -> None:
    r = client.post(
        PASSWORD_URL,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=integration.headers,
    )
    assert r.status_code == 403


# --- settings and bootstrap --------------------------------------------------------------------------


def test_production_refuses_the_placeholder_or_a_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    pg = "postgresql+psycopg://esafety@db/esafety"
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", database_url=pg)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", database_url=pg, secret_key=DEV_SECRET)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", database_url=pg, secret_key="short-but-not-the-placeholder")
    with pytest.raises(ValidationError, match="DATABASE_URL"):
        Settings(environment="production", database_url="sqlite:///x.db", secret_key="z" * 40)
    assert (
        Settings(environment="production", database_url=pg, secret_key="z" * 40).secret_key.get_secret_value()
        == "z" * 40
    )
    assert (
        Settings(environment="development").secret_key.get_secret_value() == DEV_SECRET
    )  # development may use it


def test_create_user_for_email_bootstraps_the_first_coordinator(client: TestClient, session: Session) -> None:
    user = service.create_user_for_email(
        session=session,
        email=" First.Coordinator@MoreMusic.org.uk ",
        role=Role.coordinator,
        password=PASSWORD,
        full_name="First Coordinator",
    )
    assert user.email == "first.coordinator@moremusic.org.uk"
    staff = session.get(Staff, user.staff_id)
    assert staff is not None
    assert staff.is_esafety_coordinator
    assert user.password_hash != PASSWORD
    assert passwords.verify_password(PASSWORD, user.password_hash)
    event = session.exec(select(AuditEvent).where(AuditEvent.entity_id == user.id)).one()
    assert (event.action, event.actor_label) == ("user.create", "esafety create-user")
    assert "password_hash" not in event.changes
    token = sign_in(client, "first.coordinator@moremusic.org.uk").json()["access_token"]
    assert client.get("/api/v1/users", headers=bearer(token)).status_code == 200


def test_create_user_for_email_uses_an_existing_staff_record(session: Session) -> None:
    staff = make_staff(session)
    user = service.create_user_for_email(
        session=session, email=staff.email, role=Role.staff, password=PASSWORD
    )
    assert user.staff_id == staff.id
    assert len(session.exec(select(Staff).where(col(Staff.email) == staff.email)).all()) == 1


def test_create_user_for_email_refusals(session: Session) -> None:
    staff = make_staff(session)
    with pytest.raises(Unprocessable) as short:
        service.create_user_for_email(session=session, email=staff.email, role=Role.staff, password="short")
    assert short.value.errors is not None
    assert short.value.errors[0].field == "password"
    with pytest.raises(Unprocessable) as no_name:
        service.create_user_for_email(
            session=session, email="new@moremusic.org.uk", role=Role.staff, password=PASSWORD
        )
    assert no_name.value.errors is not None
    assert no_name.value.errors[0].field == "name"
    with pytest.raises(Unprocessable) as key_role:
        service.create_user_for_email(
            session=session, email=staff.email, role=Role.integration, password=PASSWORD
        )
    assert key_role.value.errors is not None
    assert key_role.value.errors[0].field == "role"
    service.create_user_for_email(session=session, email=staff.email, role=Role.staff, password=PASSWORD)
    with pytest.raises(Conflict):
        service.create_user_for_email(
            session=session, email=staff.email.upper(), role=Role.trustee, password=PASSWORD
        )
    assert len(session.exec(select(User).where(User.staff_id == staff.id)).all()) == 1


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"username": "a" * 250 + "@moremusic.org.uk", "password": PASSWORD}, "username"),
        ({"username": "someone@moremusic.org.uk", "password": "p" * 257}, "password"),
    ],
)
def test_over_long_sign_in_fields_are_422_not_500(
    client: TestClient, session: Session, form: dict[str, str], field: str
) -> None:
    r = client.post(TOKEN_URL, data=form)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert session.exec(select(LoginThrottle)).all() == []


def test_no_transaction_is_open_while_a_password_is_hashed(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sign-in may write, so its transaction holds SQLite's write lock: the slow hash check runs outside
    it, or every other writer would wait for it too."""
    actor = make_actor(session, Role.staff)
    assert actor.user is not None
    real = passwords.verify_password
    checked: list[bool] = []

    def verify(password: str, hashed: str) -> bool:
        checked.append(session.in_transaction())
        return real(password, hashed)

    monkeypatch.setattr(service, "verify_password", verify)
    service.sign_in(session=session, email=actor.user.email, password=PASSWORD, client="192.0.2.1")
    assert checked == [False]
