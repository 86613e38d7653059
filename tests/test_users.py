from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.accounts import user_service
from api.audit.models import AuditEvent
from api.auth.models import User, UserUpdate
from api.auth.principal import user_principal
from api.auth.roles import Role
from api.errors import Conflict
from tests.kit.auth import PASSWORD, Actor, make_actor
from tests.kit.clock import TODAY
from tests.kit.staff import make_staff

URL = "/api/v1/users"
ME_URL = "/api/v1/auth/me"


def body(staff_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "staff_id": str(staff_id),
        "email": "Asha.Patel@MoreMusic.org.uk",
        "role": "staff",
        "password": PASSWORD,
    }
    data.update(overrides)
    return data


def test_create_then_sign_in_and_audit(client: TestClient, coordinator: Actor, session: Session) -> None:
    staff = make_staff(session)
    r = client.post(URL, json=body(staff.id), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["email"] == "asha.patel@moremusic.org.uk"
    assert created["role"] == "staff"
    assert created["is_active"] is True
    assert "password_hash" not in created
    assert "password" not in created
    assert client.get(f"{URL}/{created['id']}", headers=coordinator.headers).json() == created
    signed_in = client.post(
        "/api/v1/auth/token", data={"username": "asha.patel@moremusic.org.uk", "password": PASSWORD}
    )
    assert signed_in.status_code == 200
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.create")).one()
    assert coordinator.user is not None
    assert (event.actor_type, event.actor_id) == ("user", coordinator.user.id)
    assert event.entity_id == uuid.UUID(created["id"])
    assert "password_hash" not in event.changes
    assert event.changes["role"] == {"before": None, "after": "staff"}


def test_unknown_or_departed_staff_is_422_naming_staff_id(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    r = client.post(URL, json=body(uuid.uuid4()), headers=coordinator.headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["staff_id"]
    gone = make_staff(session, left_on=TODAY)
    r = client.post(URL, json=body(gone.id), headers=coordinator.headers)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["staff_id"]


def test_one_account_per_staff_record_and_per_email(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    first, second = make_staff(session), make_staff(session)
    assert client.post(URL, json=body(first.id), headers=coordinator.headers).status_code == 201
    same_staff = client.post(
        URL, json=body(first.id, email="other@moremusic.org.uk"), headers=coordinator.headers
    )
    assert same_staff.status_code == 409
    assert same_staff.json()["field"] == "staff_id"
    same_email = client.post(
        URL, json=body(second.id, email="ASHA.PATEL@moremusic.org.uk"), headers=coordinator.headers
    )
    assert same_email.status_code == 409
    assert same_email.json()["field"] == "email"
    assert len(session.exec(select(User).where(User.staff_id == second.id)).all()) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"role": "integration"}, "role"),
        ({"role": "superuser"}, "role"),
        ({"password": "too short"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"password_hash": "x"}, "password_hash"),
    ],
)
def test_invalid_accounts_name_the_field(
    client: TestClient, coordinator: Actor, session: Session, overrides: dict[str, Any], field: str
) -> None:
    staff = make_staff(session)
    r = client.post(URL, json=body(staff.id, **overrides), headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_list_filters_and_pages_without_password_hashes(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    for _ in range(3):
        make_actor(session, Role.trustee)
    page = client.get(URL, params={"role": "trustee", "limit": 2}, headers=coordinator.headers).json()
    assert page["total"] == 3
    assert len(page["items"]) == 2
    assert all("password_hash" not in u for u in page["items"])
    emails = [u["email"] for u in page["items"]]
    assert emails == sorted(emails)
    rest = client.get(URL, params={"role": "trustee", "limit": 2, "offset": 2}, headers=coordinator.headers)
    assert len(rest.json()["items"]) == 1
    assert rest.json()["items"][0]["email"] not in emails
    assert client.get(URL, params={"is_active": False}, headers=coordinator.headers).json()["total"] == 0


def test_unknown_user_is_404(client: TestClient, coordinator: Actor) -> None:
    r = client.get(f"{URL}/{uuid.uuid4()}", headers=coordinator.headers)
    assert r.status_code == 404
    assert (
        client.patch(f"{URL}/{uuid.uuid4()}", json={"role": "staff"}, headers=coordinator.headers).status_code
        == 404
    )


@pytest.mark.parametrize("change", [{"role": "trustee"}, {"is_active": False}])
def test_role_change_or_disable_revokes_tokens_at_once(
    client: TestClient, coordinator: Actor, staff_actor: Actor, session: Session, change: dict[str, Any]
) -> None:
    assert staff_actor.user is not None
    assert client.get(ME_URL, headers=staff_actor.headers).status_code == 200
    r = client.patch(f"{URL}/{staff_actor.user.id}", json=change, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    refused = client.get(ME_URL, headers=staff_actor.headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "user.update")).one()
    assert event.changes["token_epoch"] == {"before": 0, "after": 1}
    field = next(iter(change))
    assert event.changes[field]["after"] == change[field]
    assert coordinator.user is not None
    assert event.actor_id == coordinator.user.id


def test_disabled_account_cannot_sign_in_until_enabled(
    client: TestClient, coordinator: Actor, staff_actor: Actor
) -> None:
    assert staff_actor.user is not None
    form = {"username": staff_actor.user.email, "password": PASSWORD}
    client.patch(f"{URL}/{staff_actor.user.id}", json={"is_active": False}, headers=coordinator.headers)
    assert client.post("/api/v1/auth/token", data=form).status_code == 401
    r = client.patch(f"{URL}/{staff_actor.user.id}", json={"is_active": True}, headers=coordinator.headers)
    assert r.json()["is_active"] is True
    assert client.post("/api/v1/auth/token", data=form).status_code == 200


def test_an_unchanged_patch_keeps_tokens(client: TestClient, coordinator: Actor, staff_actor: Actor) -> None:
    assert staff_actor.user is not None
    r = client.patch(f"{URL}/{staff_actor.user.id}", json={"role": "staff"}, headers=coordinator.headers)
    assert r.status_code == 200
    assert client.get(ME_URL, headers=staff_actor.headers).status_code == 200


@pytest.mark.parametrize(
    "change", [{"role": "staff"}, {"is_active": False}, {"role": "trustee", "is_active": False}]
)
def test_a_coordinator_cannot_disable_or_demote_themselves(
    client: TestClient, coordinator: Actor, session: Session, change: dict[str, Any]
) -> None:
    make_actor(session, Role.coordinator, coordinator=True)  # another coordinator exists: still refused
    assert coordinator.user is not None
    r = client.patch(f"{URL}/{coordinator.user.id}", json=change, headers=coordinator.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    assert client.get(ME_URL, headers=coordinator.headers).json()["role"] == "coordinator"
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "user.update")).all() == []


def test_a_coordinator_can_demote_another_coordinator(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    other = make_actor(session, Role.coordinator, coordinator=True)
    assert other.user is not None
    r = client.patch(f"{URL}/{other.user.id}", json={"role": "staff"}, headers=coordinator.headers)
    assert r.status_code == 200
    assert r.json()["role"] == "staff"
    assert client.get(URL, headers=other.headers).status_code == 401  # their coordinator token is gone


def test_the_last_active_coordinator_cannot_be_demoted_or_disabled(session: Session) -> None:
    # Over HTTP the caller is always another active coordinator; the rule still guards every other path
    # (a departed coordinator's account, or two coordinators demoting each other at once).
    last = make_actor(session, Role.coordinator, coordinator=True)
    departed = make_actor(session, Role.coordinator, coordinator=True, left_on=TODAY)
    assert last.user is not None
    assert departed.user is not None
    acting = user_principal(departed.user)  # a coordinator who no longer counts
    for change in (UserUpdate(role=Role.staff), UserUpdate(is_active=False)):
        with pytest.raises(Conflict, match="last active coordinator"):
            user_service.update(session=session, caller=acting, user=last.user, data=change)
    session.refresh(last.user)
    assert (last.user.role, last.user.is_active, last.user.token_epoch) == (Role.coordinator, True, 0)
    # The departed coordinator's own account can be demoted: the last active one remains.
    demoted = user_service.update(
        session=session,
        caller=user_principal(last.user),
        user=departed.user,
        data=UserUpdate(role=Role.staff),
    )
    assert demoted.role is Role.staff


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"role": None}, "role"),
        ({"is_active": None}, "is_active"),
        ({"role": "integration"}, "role"),
        ({"email": "x@y.org"}, "email"),
    ],
)
def test_invalid_changes_name_the_field(
    client: TestClient, coordinator: Actor, staff_actor: Actor, change: dict[str, Any], field: str
) -> None:
    assert staff_actor.user is not None
    r = client.patch(f"{URL}/{staff_actor.user.id}", json=change, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert client.get(ME_URL, headers=staff_actor.headers).status_code == 200
