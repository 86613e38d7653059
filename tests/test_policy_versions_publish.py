"""Publishing policy versions safely (issue 15, second tester): clause ids never lost for good, nothing a
rule enforces turned off or reworded without a person confirming it, effective dates bounded and a version
not yet in force withdrawable, findings citing only clauses in force."""

from __future__ import annotations

from datetime import date, timedelta
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.db import may_write
from api.policy import text as policy_text
from api.policy.clauses import CLAUSES
from api.policy.versions import MAX_DAYS_AHEAD
from api.webhooks.models import WebhookDelivery, WebhookEvent
from tests.clock import FixedClock
from tests.kit.auth import Actor, token_headers
from tests.kit.compliance import make_compliant_group as compliance_compliant_group
from tests.kit.declarations import EVERY_STATEMENT_HELD
from tests.kit.declarations import make_declaration as compliance_declaration
from tests.kit.requests import refused_field
from tests.kit.webhooks import subscribe
from tests.policy_publish import publish_confirmed

V1_TEXT = (Path(__file__).resolve().parent.parent / "api" / "policy" / "esafety-policy-v1.txt").read_text()
VERSIONS = "/api/v1/policy/versions"
CLOSED = "All Facebook groups must be set as closed and only admins can approve new members to the group."
OPEN = "All Facebook groups must be set as open and anyone can approve new members to the group."


def _body(text: str, effective_on: date, **more: Any) -> dict[str, Any]:
    return {"text": text, "effective_on": str(effective_on), **more}


def _published(client: TestClient, actor: Actor, text: str, effective_on: date) -> dict[str, Any]:
    r = publish_confirmed(client, actor.headers, _body(text, effective_on))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _versions(client: TestClient, actor: Actor) -> int:
    total: int = client.get(VERSIONS, headers=actor.headers).json()["total"]
    return total


def _policy(**changes: str | None) -> str:
    """Version 1 written out a sentence to a bullet under its heading, with the sentences named by clause id
    (dashes as underscores) reworded, or left out for None."""
    lines: list[str] = []
    section = None
    for cid, s in zip(CLAUSES, policy_text.sentences(V1_TEXT), strict=True):
        words = changes.get(cid.replace("-", "_"), s.text)
        if words is None:
            continue
        if s.section != section:
            lines += ["", f"{s.section}:", ""]
            section = s.section
        lines.append(f"- {words}")
    return "\n".join(lines) + "\n"


def test_the_builder_writes_version_one_sentence_for_sentence() -> None:
    assert policy_text.sentences(_policy()) == policy_text.sentences(V1_TEXT)


# --- 1: a sentence that comes back gets its id back -------------------------------------------------------


def test_a_sentence_that_comes_back_gets_its_old_id_back(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    """Tester's repro: a nearly empty version 2 removed all 40 clauses; re-publishing version 1's text got
    all-new ids (V3-01 ...), so every rule was 'not applied' for good."""
    today = fixed_clock.today
    two = _published(
        client, coordinator, "E-safety Policy\n\nWe keep young people safe.\n", today + timedelta(1)
    )
    assert [c["clause_id"] for c in two["version"]["clauses"]] == ["V2-01"]
    three = _published(client, coordinator, V1_TEXT, today + timedelta(2))
    assert [c["clause_id"] for c in three["version"]["clauses"]] == list(CLAUSES)  # back, under their ids
    changes = {(c["clause_id"], c["change"]) for c in three["diff"]["changes"]}
    assert changes == {(cid, "added") for cid in CLAUSES} | {("V2-01", "removed")}

    assert coordinator.staff is not None
    assert coordinator.user is not None
    group = compliance_compliant_group(session, coordinator.staff)
    fixed_clock.advance(days=3)
    r = client.get(f"/api/v1/groups/{group.id}/compliance", headers=token_headers(coordinator.user))
    assert r.status_code == 200, r.text
    assert not [f["rule_id"] for f in r.json()["findings"] if f["message"].startswith("Not applied")]


def test_matching_gives_back_an_id_with_its_latest_words() -> None:
    known = {"A": "Groups are closed and reviewed.", "B": "Staff are trained every single year."}
    matched = policy_text.match(known, [policy_text.Sentence("", "Staff are trained every year.")], "V4")
    assert [(m.clause_id, m.previous_text) for m in matched] == [("B", known["B"])]


# --- 4: rules that would stop being applied are named and confirmed --------------------------------------


def test_a_publish_that_stops_rules_says_so_and_needs_each_confirmed(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    body = _body(_policy(REC_PERIODIC_REVIEW=None), fixed_clock.today)
    preview = client.post(f"{VERSIONS}/preview", json=body, headers=coordinator.headers)
    assert preview.status_code == 200, preview.text
    p = preview.json()
    stopped = {r["rule_id"]: r for r in p["rules_stopped"]}
    assert {"GRP-NO-DEPARTED-STAFF", "GRP-ROSTER-RECONCILED"} <= set(stopped)
    assert stopped["GRP-NO-DEPARTED-STAFF"]["severity"] == "critical"
    assert [(c["clause_id"], c["change"]) for c in p["diff"]["changes"]] == [
        ("REC-PERIODIC-REVIEW", "removed")
    ]
    assert set(p["unconfirmed_rules_stopped"]) == set(stopped)
    assert _versions(client, coordinator) == 1  # a preview stores nothing

    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "confirmation_required"
    assert set(r.json()["rules_stopped"]) == set(stopped)
    partly = body | {"confirm_rules_stopped": ["GRP-NO-DEPARTED-STAFF"]}
    r = client.post(VERSIONS, json=partly, headers=coordinator.headers)
    assert r.status_code == 409
    assert "GRP-NO-DEPARTED-STAFF" not in r.json()["rules_stopped"]
    assert _versions(client, coordinator) == 1  # nothing stored

    # The clause left out is enforced: its removal is confirmed too, and the whole with the preview's token.
    assert [c["clause_id"] for c in p["enforced_removed"]] == ["REC-PERIODIC-REVIEW"]
    confirmed = body | {"confirm_rules_stopped": list(stopped), "confirm_removed": ["REC-PERIODIC-REVIEW"]}
    r = client.post(VERSIONS, json=confirmed, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["field"] == "preview_token"
    r = client.post(VERSIONS, json=confirmed | {"preview_token": p["token"]}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "policy_version.publish")).all()
    assert event.changes is not None
    assert set(event.changes["rules_stopped"]) == set(stopped)


# --- 3: an enforced clause reworded keeps its id only when confirmed --------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (CLOSED, OPEN),
        ("at least two current members", "at most two current members"),
        ("can only be seen by friends", "can be seen by anyone"),
    ],
)
def test_rewording_an_enforced_clause_needs_a_person_to_confirm_it(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, old: str, new: str
) -> None:
    """Tester's repro: sentences reworded to mean the opposite kept their ids silently, so findings quoted
    words contradicting their verdict. No word list can judge meaning: the coordinator must."""
    [(cid, words)] = [(cid, c.text) for cid, c in CLAUSES.items() if old in c.text]
    text = _policy(**{cid.replace("-", "_"): words.replace(old, new)})
    body = _body(text, fixed_clock.today)
    p = client.post(f"{VERSIONS}/preview", json=body, headers=coordinator.headers).json()
    [reworded] = p["reworded"]
    assert new in reworded["after"]
    assert old in reworded["before"]
    assert reworded["rules"]
    assert p["unconfirmed_reworded"] == [reworded["clause_id"]]

    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == 409, r.text
    assert r.json()["reworded"] == [reworded["clause_id"]]
    assert _versions(client, coordinator) == 1

    confirmed = body | {"confirm_reworded": [reworded["clause_id"]], "preview_token": p["token"]}
    r = client.post(VERSIONS, json=confirmed, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    ids = {c["clause_id"] for c in r.json()["version"]["clauses"]}
    assert reworded["clause_id"] in ids


def test_a_rewording_declared_a_removal_gets_a_new_id_and_its_rules_stop_with_confirmation(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    body = _body(
        _policy(REC_FB_CLOSED_ADMIN_APPROVAL=OPEN),
        fixed_clock.today,
        declare_removed=["REC-FB-CLOSED-ADMIN-APPROVAL"],
    )
    p = client.post(f"{VERSIONS}/preview", json=body, headers=coordinator.headers).json()
    assert p["reworded"] == []
    assert {r["rule_id"] for r in p["rules_stopped"]} == {"GRP-VISIBILITY-CLOSED", "GRP-ADMIN-APPROVAL"}
    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == 409
    # Declaring the removal confirms it: no confirm_removed is needed for the declared clause.
    assert p["unconfirmed_removed"] == []
    r = client.post(
        VERSIONS,
        json=body
        | {
            "confirm_rules_stopped": ["GRP-VISIBILITY-CLOSED", "GRP-ADMIN-APPROVAL"],
            "preview_token": p["token"],
        },
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    changes = {(c["change"], c["after"] or c["before"]) for c in r.json()["diff"]["changes"]}
    assert changes == {("removed", CLOSED), ("added", OPEN)}


def test_a_negation_is_a_hint_in_the_preview_never_a_verdict(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    turned = CLOSED.replace("must be set", "must not be set")
    body = _body(_policy(REC_FB_CLOSED_ADMIN_APPROVAL=turned), fixed_clock.today)
    p = client.post(f"{VERSIONS}/preview", json=body, headers=coordinator.headers).json()
    [hint] = p["turned_round"]
    assert hint["removed"] == "REC-FB-CLOSED-ADMIN-APPROVAL"
    assert hint["after"] == turned
    assert {r["rule_id"] for r in p["rules_stopped"]} == {"GRP-VISIBILITY-CLOSED", "GRP-ADMIN-APPROVAL"}


def test_an_unenforced_sentence_reworded_needs_no_confirmation(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    old = "The use of information technology is an essential part of all our lives."
    assert old in V1_TEXT
    body = _body(
        V1_TEXT.replace(old, "Information technology is an essential part of all our lives."),
        fixed_clock.today,
    )
    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    [change] = r.json()["diff"]["changes"]
    assert (change["clause_id"], change["change"]) == ("RECOGNISE-ICT-ESSENTIAL", "reworded")


# --- 2: effective_on bounded; a version not yet in force can be withdrawn --------------------------------


def test_an_effective_date_far_ahead_is_refused(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    text = V1_TEXT.replace("essential part of all our lives", "essential part of everyone's lives")
    for far in (date(9999, 12, 31), fixed_clock.today + timedelta(days=MAX_DAYS_AHEAD + 1)):
        r = client.post(VERSIONS, json=_body(text, far), headers=coordinator.headers)
        assert refused_field(r) == "effective_on"
    r = client.post(
        VERSIONS,
        json=_body(text, fixed_clock.today + timedelta(days=MAX_DAYS_AHEAD)),
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text


def test_a_withdrawn_version_never_comes_into_force_nor_bounds_later_dates(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    subscribe(session, WebhookEvent.policy_version_withdrawn)
    today = fixed_clock.today
    two = _published(
        client, coordinator, _policy(REC_FB_CLOSED_ADMIN_APPROVAL=OPEN), today + timedelta(days=300)
    )
    assert two["version"]["number"] == 2
    # Version 2 holds every later date back until it is withdrawn.
    later = V1_TEXT.replace("essential part of all our lives", "essential part of everyone's lives")
    r = client.post(VERSIONS, json=_body(later, today + timedelta(days=10)), headers=coordinator.headers)
    assert r.status_code == 422

    url = f"{VERSIONS}/2/withdraw"
    assert client.post(url, json={}, headers=coordinator.headers).status_code == 422  # a reason is needed
    r = client.post(url, json={"reason": "Wrong date."}, headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn_on"] == str(today)
    assert client.post(url, json={"reason": "Again."}, headers=coordinator.headers).status_code == 409
    assert (
        client.post(f"{VERSIONS}/1/withdraw", json={"reason": "x"}, headers=coordinator.headers).status_code
        == 409
    )
    assert (
        client.post(f"{VERSIONS}/9/withdraw", json={"reason": "x"}, headers=coordinator.headers).status_code
        == 404
    )

    three = _published(client, coordinator, later, today + timedelta(days=10))
    assert three["version"]["number"] == 3
    assert three["diff"]["before"] == 1  # compared with the version it follows, not the withdrawn one
    listed = {v["number"]: v for v in client.get(VERSIONS, headers=coordinator.headers).json()["items"]}
    assert listed[2]["withdrawn_on"] == str(today)
    assert _versions(client, coordinator) == 3  # records end, they are not deleted

    fixed_clock.advance(days=301)
    assert coordinator.user is not None
    coverage = client.get("/api/v1/policy/coverage", headers=token_headers(coordinator.user)).json()
    assert coverage["version"] == 3
    assert OPEN not in [s["text"] for s in coverage["sentences"]]

    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "policy_version.withdraw")).all()
    assert event.changes is not None
    assert "Wrong date." not in str(event.changes)
    [delivery] = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.event_type == WebhookEvent.policy_version_withdrawn)
    ).all()
    assert '"number":2' in delivery.body
    assert "Wrong date" not in delivery.body


def test_no_declaration_is_made_for_a_withdrawn_version(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    _published(
        client, coordinator, _policy(REC_FB_CLOSED_ADMIN_APPROVAL=OPEN), fixed_clock.today + timedelta(days=5)
    )
    assert (
        client.post(f"{VERSIONS}/2/withdraw", json={"reason": "r"}, headers=coordinator.headers).status_code
        == 200
    )
    r = client.post(
        f"/api/v1/staff/{coordinator.staff.id}/declarations",
        json={
            "policy_version": 2,
            **EVERY_STATEMENT_HELD,
        },
        headers=coordinator.headers,
    )
    assert refused_field(r) == "policy_version"


# --- 5: findings cite only clauses in force ---------------------------------------------------------------


def test_a_finding_cites_only_the_clauses_in_force(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    """Tester's repro: STF-CODE-OF-CONDUCT quoted the withdrawn "should sign a code of conduct document"
    because PROMOTE-CODES-OF-CONDUCT survived; STF-SOCIAL-MEDIA-DECLARATION listed REC-NO-YOUNG-FRIENDS."""
    assert coordinator.staff is not None
    assert coordinator.user is not None
    group = compliance_compliant_group(session, coordinator.staff)
    compliance_declaration(session, coordinator.staff)
    text = _policy(REC_CODE_OF_CONDUCT=None, REC_NO_YOUNG_FRIENDS=None)
    _published(client, coordinator, text, fixed_clock.today)
    headers = token_headers(coordinator.user)
    r = client.get(f"/api/v1/groups/{group.id}/compliance", headers=headers)
    assert r.status_code == 200, r.text
    cited = {
        f["rule_id"]: (f["clause"]["id"], [c["id"] for c in f.get("also", [])]) for f in r.json()["findings"]
    }
    r = client.get(f"/api/v1/staff/{coordinator.staff.id}/compliance", headers=headers)
    assert r.status_code == 200, r.text
    for f in r.json()["findings"]:
        cited[f["rule_id"]] = (f["clause"]["id"], [c["id"] for c in f.get("also", [])])
    assert cited["STF-CODE-OF-CONDUCT"] == ("PROMOTE-CODES-OF-CONDUCT", [])
    primary, also = cited["STF-SOCIAL-MEDIA-DECLARATION"]
    assert primary == "REC-PROFILE-PRIVATE"
    assert "REC-NO-YOUNG-FRIENDS" not in also
    rules = {r["id"]: r for r in client.get("/api/v1/compliance/rules", headers=headers).json()}
    assert rules["STF-CODE-OF-CONDUCT"]["clause"]["id"] == "PROMOTE-CODES-OF-CONDUCT"

    coverage = client.get("/api/v1/policy/coverage", headers=headers).json()
    gone = {w["clause_id"]: w for w in coverage["withdrawn"]}
    assert "STF-CODE-OF-CONDUCT" in [r["id"] for r in gone["REC-CODE-OF-CONDUCT"]["rules"]]
    assert gone["REC-CODE-OF-CONDUCT"]["rules_not_applied"] == []


# --- 15: before the first version; a long text against a long text ---------------------------------------


def test_a_day_before_the_first_version_answers_the_first_version(
    client: TestClient, coordinator: Actor
) -> None:
    """Findings on such a day quote version 1's words; the coverage map answers version 1 too."""
    r = client.get("/api/v1/policy/coverage?as_of=1999-12-31", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert [s["clause_id"] for s in r.json()["sentences"]] == list(CLAUSES)


def test_matching_a_long_text_measures_few_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 100,000-character version against another used to measure every pair of sentences (seconds, under
    the write lock). Counted, not timed: the pairs measured stay near one per sentence."""
    calls = 0
    ratio = SequenceMatcher.ratio

    def counted(self: SequenceMatcher[str]) -> float:
        nonlocal calls
        calls += 1
        return ratio(self)

    monkeypatch.setattr(SequenceMatcher, "ratio", counted)
    old = {
        f"C{i}": f"Rule number {i} says staff keep record {i * 7} of group {i * 13} safely."
        for i in range(1200)
    }
    new = [
        policy_text.Sentence("", f"Rule number {i} says staff keep the record {i * 7} of group {i * 13}.")
        for i in range(1200)
    ]
    matched = policy_text.match(old, new, "V2")
    assert [m.clause_id for m in matched] == list(old)
    assert calls < 20 * len(new)


# --- 10: the forecast sees versions coming into force -----------------------------------------------------


def test_the_forecast_shows_a_version_coming_into_force_and_cites_it(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    """Tester's repro: a version 2 in force in 15 days makes declarations due again, but the forecast did
    not show it, and its later findings quoted version 1's words."""
    assert coordinator.staff is not None
    group = compliance_compliant_group(session, coordinator.staff)
    private = "Staff must set their Facebook profile so that only their friends can see their content"
    effective = fixed_clock.today + timedelta(days=15)
    _published(client, coordinator, _policy(REC_PROFILE_PRIVATE=private), effective)
    r = client.get(
        f"/api/v1/groups/{group.id}/compliance/forecast", params={"days": 30}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text
    [day] = [d for d in r.json()["days"] if d["on"] == str(effective)]
    [change] = [c for c in day["changes"] if c["finding"]["rule_id"] == "GRP-STAFF-DECLARATIONS"]
    assert change["finding"]["outcome"] == "warn"
    assert change["finding"]["clause"] == {"id": "REC-PROFILE-PRIVATE", "text": private}
    # A withdrawn version is not forecast.
    assert (
        client.post(f"{VERSIONS}/2/withdraw", json={"reason": "r"}, headers=coordinator.headers).status_code
        == 200
    )
    r = client.get(
        f"/api/v1/groups/{group.id}/compliance/forecast", params={"days": 30}, headers=coordinator.headers
    )
    assert str(effective) not in [d["on"] for d in r.json()["days"]]


def test_the_matching_runs_outside_the_write_lock(
    fixed_clock: FixedClock, client: TestClient, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long publish held SQLite's write lock while it matched (a sign-in waited seconds): the matching now
    runs in a transaction begun without taking it (api/db.py `may_write`)."""
    seen: list[bool] = []
    match = policy_text.match

    def watched(*args: Any) -> list[policy_text.Matched]:
        seen.append(may_write.get())
        return match(*args)

    monkeypatch.setattr(policy_text, "match", watched)
    body = _body(_policy(RECOGNISE_ICT_ESSENTIAL="IT matters to us all."), fixed_clock.today)
    assert client.post(f"{VERSIONS}/preview", json=body, headers=coordinator.headers).status_code == 200
    r = client.post(VERSIONS, json=body, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert seen == [False, False]


def test_a_declared_statement_whose_sentence_is_withdrawn_is_no_breach(
    fixed_clock: FixedClock, client: TestClient, session: Session, coordinator: Actor
) -> None:
    assert coordinator.staff is not None
    compliance_declaration(session, coordinator.staff, no_young_friends=False)
    url = f"/api/v1/staff/{coordinator.staff.id}/compliance"

    def declaration() -> dict[str, Any]:
        r = client.get(url, headers=coordinator.headers)
        assert r.status_code == 200, r.text
        [f] = [f for f in r.json()["findings"] if f["rule_id"] == "STF-SOCIAL-MEDIA-DECLARATION"]
        return f  # type: ignore[no-any-return]

    assert declaration()["outcome"] == "fail"
    _published(client, coordinator, _policy(REC_NO_YOUNG_FRIENDS=None), fixed_clock.today)
    after = declaration()
    # Due again (a new version), but no longer a breach of a sentence the policy has dropped.
    assert after["outcome"] == "warn", after
    assert "friends" not in after["message"]
