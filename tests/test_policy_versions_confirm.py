"""Publishing policy versions, third tester (issue 15, F4-F6): every enforced sentence removed is confirmed,
not only whole rules; confirmations are bound to the previewed plan by its token; a version is withdrawn only
after the versions that follow it, and a difference defaults to the version followed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.policy import publishing
from api.policy.versions import PolicyVersion
from tests.clock import FixedClock
from tests.kit.auth import Actor
from tests.policy_publish import publish_confirmed
from tests.test_policy_versions_publish import V1_TEXT, _body, _policy, _published, _versions

VERSIONS = "/api/v1/policy/versions"
TWO_ADMINS = "at least two current members"


def _preview(client: TestClient, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"{VERSIONS}/preview", json=body, headers=actor.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# --- F4: an enforced sentence removed needs confirming even when its rules go on ------------------------


def test_removing_sentences_of_a_rule_citing_several_needs_each_confirmed(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    """Tester's repro: leaving out REC-NO-YOUNG-FRIENDS and REC-PROFILE-PRIVATE (STF-SOCIAL-MEDIA-DECLARATION
    cites four sentences) gave rules_stopped [] and published with no confirmation."""
    body = _body(_policy(REC_NO_YOUNG_FRIENDS=None, REC_PROFILE_PRIVATE=None), fixed_clock.today)
    p = _preview(client, coordinator, body)
    assert p["rules_stopped"] == []
    removed = {c["clause_id"]: c for c in p["enforced_removed"]}
    assert set(removed) == {"REC-NO-YOUNG-FRIENDS", "REC-PROFILE-PRIVATE"}
    assert "STF-SOCIAL-MEDIA-DECLARATION" in removed["REC-NO-YOUNG-FRIENDS"]["rules"]
    assert removed["REC-PROFILE-PRIVATE"]["before"].startswith("Staff must set their Facebook profile")
    assert set(p["unconfirmed_removed"]) == set(removed)

    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "confirmation_required"
    assert set(r.json()["removed"]) == set(removed)
    partly = body | {"confirm_removed": ["REC-PROFILE-PRIVATE"], "preview_token": p["token"]}
    r = client.post(VERSIONS, json=partly, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["removed"] == ["REC-NO-YOUNG-FRIENDS"]
    assert _versions(client, coordinator) == 1

    confirmed = partly | {"confirm_removed": list(removed)}
    r = client.post(VERSIONS, json=confirmed, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "policy_version.publish")).all()
    assert event.changes is not None
    assert set(event.changes["removed_confirmed"]) == set(removed)


def test_a_co_cited_sentence_reworded_past_recognition_is_a_removal_to_confirm(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    """Tester's repro: rewording a co-cited clause past the similarity threshold gave it a new id silently."""
    body = _body(
        _policy(REC_NO_YOUNG_FRIENDS="Befriending under-18s online through any personal account is fine."),
        fixed_clock.today,
    )
    p = _preview(client, coordinator, body)
    assert p["rules_stopped"] == []
    assert p["reworded"] == []
    assert [c["clause_id"] for c in p["enforced_removed"]] == ["REC-NO-YOUNG-FRIENDS"]
    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["removed"] == ["REC-NO-YOUNG-FRIENDS"]


def test_an_unenforced_sentence_removed_needs_no_confirmation_nor_token(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    body = _body(_policy(RECOGNISE_ICT_ESSENTIAL=None), fixed_clock.today)
    p = _preview(client, coordinator, body)
    assert p["enforced_removed"] == []
    # A token, when sent, is checked all the same: a stale one means the body is not what was previewed.
    r = client.post(VERSIONS, json=body | {"preview_token": "0" * 64}, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["preview_token"] == p["token"]
    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text


# --- F5: confirmations are bound to the plan previewed ---------------------------------------------------


def test_confirmations_of_one_text_do_not_carry_over_to_another(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    """Tester's repro: confirm_reworded for a harmless rewording, then publish a text where that sentence
    says the opposite: 201."""
    harmless = _body(
        _policy(
            REC_FB_TWO_ADMINS=f"Every More Music Facebook group must have {TWO_ADMINS} of "
            "staff as admin officers"
        ),
        fixed_clock.today,
    )
    p = _preview(client, coordinator, harmless)
    [reworded] = p["reworded"]
    confirmations = {"confirm_reworded": [reworded["clause_id"]], "preview_token": p["token"]}

    opposite = _body(
        _policy(
            REC_FB_TWO_ADMINS="All More Music Facebook groups must have at most two current members of staff "
            "as admin officers"
        ),
        fixed_clock.today,
    )
    q = _preview(client, coordinator, opposite)
    assert [c["clause_id"] for c in q["reworded"]] == [reworded["clause_id"]]  # same id, other words
    assert q["token"] != p["token"]
    r = client.post(VERSIONS, json=opposite | confirmations, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "preview_token"
    assert r.json()["preview_token"] == q["token"]
    # No token at all, though every id is confirmed: 409 too.
    r = client.post(
        VERSIONS, json=opposite | {"confirm_reworded": [reworded["clause_id"]]}, headers=coordinator.headers
    )
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "preview_token"
    assert _versions(client, coordinator) == 1

    r = client.post(VERSIONS, json=harmless | confirmations, headers=coordinator.headers)
    assert r.status_code == 201, r.text


def test_the_token_follows_the_date_and_the_latest_version_but_not_the_confirmations(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    text = _policy(REC_FB_TWO_ADMINS=None)
    body = _body(text, fixed_clock.today + timedelta(days=5))
    token = _preview(client, coordinator, body)["token"]
    confirmed = body | {
        "confirm_rules_stopped": ["GRP-TWO-STAFF-ADMINS"],
        "confirm_removed": ["REC-FB-TWO-ADMINS"],
    }
    assert _preview(client, coordinator, confirmed)["token"] == token
    assert (
        _preview(client, coordinator, body | {"effective_on": str(fixed_clock.today + timedelta(6))})["token"]
        != token
    )
    _published(client, coordinator, V1_TEXT.replace("all our lives", "everyone's life"), fixed_clock.today)
    assert _preview(client, coordinator, body)["token"] != token


def test_a_confirmation_naming_nothing_planned_is_a_422_naming_the_field_and_ids(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    body = _body(_policy(RECOGNISE_ICT_ESSENTIAL=None), fixed_clock.today)
    for field, ids in (
        ("confirm_rules_stopped", ["GRP-TWO-STAFF-ADMINS"]),
        ("confirm_reworded", ["REC-FB-TWO-ADMINS"]),
        ("confirm_removed", ["REC-NO-YOUNG-FRIENDS", "NOPE"]),
        ("declare_removed", ["NOPE"]),
    ):
        for url in (VERSIONS, f"{VERSIONS}/preview"):
            r = client.post(url, json=body | {field: ids}, headers=coordinator.headers)
            assert r.status_code == 422, (field, r.text)
            [error] = r.json()["errors"]
            assert error["field"] == field
            assert all(i in error["message"] for i in ids)
    assert _versions(client, coordinator) == 1


# --- F6: withdrawing in order; the difference from the version followed ----------------------------------


def test_a_version_is_withdrawn_only_after_the_later_ones(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    """Tester's repro: withdrawing version 2 while version 3 (judged against 2) was live left 3 live,
    stopping rules nobody confirmed for it."""
    today = fixed_clock.today
    _published(client, coordinator, _policy(REC_FB_TWO_ADMINS=None), today + timedelta(days=10))
    _published(
        client,
        coordinator,
        _policy(REC_FB_TWO_ADMINS=None, RECOGNISE_ICT_ESSENTIAL=None),
        today + timedelta(days=20),
    )
    r = client.post(f"{VERSIONS}/2/withdraw", json={"reason": "Wrong."}, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert "withdraw version 3 first" in r.json()["detail"]
    listed = {v["number"]: v for v in client.get(VERSIONS, headers=coordinator.headers).json()["items"]}
    assert listed[2]["withdrawn_on"] is None

    for n in (3, 2):
        r = client.post(f"{VERSIONS}/{n}/withdraw", json={"reason": "Wrong."}, headers=coordinator.headers)
        assert r.status_code == 200, r.text


def test_a_publish_planned_against_a_version_withdrawn_meanwhile_is_refused(
    fixed_clock: FixedClock,
    client: TestClient,
    session: Session,
    coordinator: Actor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race the other way round: a publish judged against version 2, which is withdrawn between its
    plan and its write, must not be stored (its confirmations were for a predecessor no longer there)."""
    today = fixed_clock.today
    _published(client, coordinator, _policy(REC_FB_TWO_ADMINS=None), today + timedelta(days=10))
    body = _body(_policy(REC_FB_TWO_ADMINS=None, RECOGNISE_ICT_ESSENTIAL=None), today + timedelta(days=20))
    p = _preview(client, coordinator, body)
    planned = publishing._planned

    def withdrawn_meanwhile(*args: Any, **kwargs: Any) -> Any:
        plan = planned(*args, **kwargs)
        two = session.exec(select(PolicyVersion).where(PolicyVersion.number == 2)).one()
        two.withdrawn_on = today
        session.add(two)
        session.commit()
        return plan

    monkeypatch.setattr(publishing, "_planned", withdrawn_meanwhile)
    r = client.post(VERSIONS, json=body | {"preview_token": p["token"]}, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert "withdrawn" in r.json()["detail"]
    assert _versions(client, coordinator) == 2


def test_a_difference_defaults_to_the_version_followed_not_a_withdrawn_one(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    today = fixed_clock.today
    _published(client, coordinator, _policy(REC_FB_TWO_ADMINS=None), today + timedelta(days=10))
    r = client.post(f"{VERSIONS}/2/withdraw", json={"reason": "Wrong."}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    r = publish_confirmed(client, coordinator.headers, _body(_policy(RECOGNISE_ICT_ESSENTIAL=None), today))
    assert r.status_code == 201, r.text
    diff = client.get(f"{VERSIONS}/3/diff", headers=coordinator.headers).json()
    assert diff["before"] == 1
    assert [(c["clause_id"], c["change"]) for c in diff["changes"]] == [
        ("RECOGNISE-ICT-ESSENTIAL", "removed")
    ]
    assert client.get(f"{VERSIONS}/2/diff", headers=coordinator.headers).json()["before"] == 1
    assert client.get(f"{VERSIONS}/1/diff", headers=coordinator.headers).json()["before"] == 1
    assert client.get(f"{VERSIONS}/3/diff?against=2", headers=coordinator.headers).json()["before"] == 2


def test_withdraw_and_publish_wait_for_the_versions_rows(
    fixed_clock: FixedClock, client: TestClient, session: Session, engine: Engine, coordinator: Actor
) -> None:
    """PostgreSQL (SQLite's write transactions are serial already): while another transaction holds the
    versions' rows, as a publish or a withdrawal does from its check to its commit, neither a withdrawal
    nor a publish gets past its check; a short lock_timeout stands for waiting, so nothing is timed."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers with BEGIN IMMEDIATE")
    today = fixed_clock.today
    body = _body(_policy(RECOGNISE_ICT_ESSENTIAL=None), today + timedelta(days=20))
    with engine.connect() as other:
        other.execute(sa.text("SELECT id FROM policy_version FOR UPDATE"))  # version 1, the one it sees
        # Version 2, for a later day, written in this test's own transaction (a publish would lock too).
        session.add(
            PolicyVersion(
                number=2,
                effective_on=today + timedelta(days=10),
                published_on=today,
                text="Later.",
                published_by_label="test",
            )
        )
        session.commit()
        session.execute(sa.text("SET LOCAL lock_timeout = '50ms'"))
        r = client.post(f"{VERSIONS}/2/withdraw", json={"reason": "Wrong."}, headers=coordinator.headers)
        assert r.status_code >= 500, r.text
        r = client.post(VERSIONS, json=body, headers=coordinator.headers)
        assert r.status_code >= 500, r.text
        other.rollback()
    r = client.post(f"{VERSIONS}/2/withdraw", json={"reason": "Wrong."}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
