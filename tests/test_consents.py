from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlmodel import Session, select

from api.audit.models import AuditEvent
from api.consents import logic
from api.consents.models import ConsentKind, GivenBy, Purpose
from api.participants.models import Participant
from api.policy.models import PolicySettings
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field
from tests.kit.statements import count_statements

URL = "/api/v1/consents"
CHECKS = "/api/v1/consent-checks"


def _id(participant: Participant | uuid.UUID) -> uuid.UUID:
    return participant if isinstance(participant, uuid.UUID) else participant.id


def body(participant: Participant | uuid.UUID, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "participant_id": str(_id(participant)),
        "kind": "image_use",
        "purposes": ["website", "promotional_material"],
        "given_by": "parent_carer",
        "given_by_name": "Priya Shah",
        "given_on": "2024-09-01",
        "evidence_ref": "FORM-2024-117",
    }
    data.update(overrides)
    return data


def check_url(participant: Participant | uuid.UUID) -> str:
    return f"/api/v1/participants/{_id(participant)}/consent-check"


def years_ago_today(years: int) -> date:
    try:
        return TODAY.replace(year=TODAY.year - years)
    except ValueError:  # today is 29 February
        pytest.skip("no same-day birthday in a non-leap year")


# --- records ----------------------------------------------------------------------------------------------


def test_create_read_and_audit_without_the_carers_name(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    child = make_participant(session)
    r = client.post(URL, json=body(child), headers=coordinator.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["purposes"] == ["promotional_material", "website"]
    assert created["in_force"] is True
    assert created["reconfirm_due"] is False
    assert created["withdrawn_on"] is None
    assert client.get(f"{URL}/{created['id']}", headers=coordinator.headers).json() == created
    event_ = session.exec(select(AuditEvent).where(AuditEvent.entity_id == uuid.UUID(created["id"]))).one()
    assert event_.action == "consent.create"
    assert "Priya Shah" not in str(event_.changes)  # the audit log keeps no personal values


def test_duplicate_purposes_are_merged(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session)
    r = client.post(
        URL, json=body(child, purposes=["website", "press", "website"]), headers=coordinator.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["purposes"] == ["website", "press"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"purposes": []}, "purposes"),
        ({"expires_on": "2024-09-01"}, "expires_on"),  # expiring the day it is given: never in force
        ({"expires_on": "2024-08-01"}, "expires_on"),
        ({"given_on": str(TODAY + timedelta(days=1))}, "given_on"),
        ({"given_on": "2001-01-01"}, "given_on"),  # before the child was born
        ({"purposes": ["website", "billboards"]}, "purposes.1"),
        ({"given_by": "teacher"}, "given_by"),
        ({"withdrawn_on": "2024-10-01"}, "withdrawn_on"),  # withdrawal is its own request
    ],
)
def test_invalid_consent_is_422_naming_the_field(
    client: TestClient, coordinator: Actor, session: Session, overrides: dict[str, Any], field: str
) -> None:
    child = make_participant(session)
    r = client.post(URL, json=body(child, **overrides), headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "consent.create")).first() is None


def test_unknown_participant_is_422_naming_it(client: TestClient, coordinator: Actor) -> None:
    r = client.post(URL, json=body(uuid.uuid4()), headers=coordinator.headers)
    assert refused_field(r) == "participant_id"


def test_other_kinds_may_have_no_purposes(client: TestClient, integration: Actor, session: Session) -> None:
    child = make_participant(session)
    r = client.post(URL, json=body(child, kind="esafety_agreement", purposes=[]), headers=integration.headers)
    assert r.status_code == 201, r.text


def test_records_are_never_edited_or_deleted(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    consent = make_consent(session, make_participant(session))
    assert client.patch(f"{URL}/{consent.id}", json={}, headers=coordinator.headers).status_code == 405
    assert client.delete(f"{URL}/{consent.id}", headers=coordinator.headers).status_code == 405


# --- withdrawal -------------------------------------------------------------------------------------------


def test_withdraw_today_takes_effect_today(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session)
    consent = make_consent(session, child, given_on=TODAY - timedelta(days=30))
    r = client.post(
        f"{URL}/{consent.id}/withdraw",
        json={"withdrawn_on": str(TODAY), "reason": "Parent changed their mind"},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["withdrawn_on"] == str(TODAY)
    assert r.json()["withdrawal_reason"] == "Parent changed their mind"
    assert r.json()["in_force"] is False
    assert r.json()["version"] == 2
    check = client.get(check_url(child), params={"purpose": "website"}, headers=coordinator.headers).json()
    assert check["allowed"] is False
    assert check["reason"] == "withdrawn"
    event_ = session.exec(select(AuditEvent).where(AuditEvent.action == "consent.withdraw")).one()
    assert event_.changes["withdrawn_on"] == {"before": None, "after": str(TODAY)}


def test_withdraw_on_the_day_given_is_accepted(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    consent = make_consent(session, make_participant(session), given_on=TODAY)
    r = client.post(
        f"{URL}/{consent.id}/withdraw", json={"withdrawn_on": str(TODAY)}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "withdrawn_on", [date(2024, 1, 9), TODAY + timedelta(days=1)], ids=["before_given", "future"]
)
def test_withdraw_on_a_bad_date_is_422(
    client: TestClient, coordinator: Actor, session: Session, withdrawn_on: date
) -> None:
    consent = make_consent(session, make_participant(session), given_on=date(2024, 1, 10))
    r = client.post(
        f"{URL}/{consent.id}/withdraw", json={"withdrawn_on": str(withdrawn_on)}, headers=coordinator.headers
    )
    assert refused_field(r) == "withdrawn_on"
    session.refresh(consent)
    assert consent.withdrawn_on is None


def test_withdrawing_twice_is_409(client: TestClient, coordinator: Actor, session: Session) -> None:
    consent = make_consent(session, make_participant(session))
    url = f"{URL}/{consent.id}/withdraw"
    assert (
        client.post(url, json={"withdrawn_on": "2024-03-01"}, headers=coordinator.headers).status_code == 200
    )
    r = client.post(url, json={"withdrawn_on": "2024-02-01"}, headers=coordinator.headers)
    assert r.status_code == 409
    assert r.json()["code"] == "conflict"
    session.refresh(consent)
    assert consent.withdrawn_on == date(2024, 3, 1)


# --- lists ------------------------------------------------------------------------------------------------


def test_list_filters_and_order(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session)
    other = make_participant(session)
    later = make_consent(session, child, given_on=date(2024, 5, 1), purposes=["press"])
    earlier = make_consent(session, child, given_on=date(2023, 5, 1))
    withdrawn = make_consent(session, child, given_on=date(2024, 2, 1), withdrawn_on=date(2024, 3, 1))
    agreement = make_consent(
        session, child, kind=ConsentKind.esafety_agreement, purposes=[], given_by=GivenBy.participant
    )
    make_consent(session, other)

    def ids(**params: Any) -> list[str]:
        r = client.get(URL, params={"participant_id": str(child.id), **params}, headers=coordinator.headers)
        assert r.status_code == 200, r.text
        assert r.json()["total"] == len(r.json()["items"])
        return [c["id"] for c in r.json()["items"]]

    assert ids() == [str(c.id) for c in (earlier, agreement, withdrawn, later)]
    assert ids(kind="esafety_agreement") == [str(agreement.id)]
    assert ids(purpose="press") == [str(later.id)]
    assert ids(purpose="website") == [str(c.id) for c in (earlier, withdrawn)]
    assert ids(given_by="participant") == [str(agreement.id)]
    assert ids(in_force=False) == [str(withdrawn.id)]
    assert ids(in_force=True) == [str(c.id) for c in (earlier, agreement, later)]
    page = client.get(URL, params={"limit": 2, "offset": 1}, headers=coordinator.headers).json()
    assert page["total"] == 5
    assert len(page["items"]) == 2


# --- reach ------------------------------------------------------------------------------------------------


@pytest.fixture
def reach(session: Session, staff_actor: Actor) -> dict[str, Participant]:
    """The member of staff is in one group with `mine`; `theirs` is in another group, `former` left theirs."""
    mine, theirs, former = (make_participant(session, full_name=n) for n in ("Mo Ng", "Di Ray", "Al Fox"))
    group, elsewhere = make_group(session), make_group(session)
    make_membership(session, group, staff=staff_actor.staff)
    make_membership(session, group, participant=mine)
    make_membership(session, elsewhere, participant=theirs)
    make_membership(session, group, participant=former, ended_on=TODAY)
    return {"mine": mine, "theirs": theirs, "former": former}


def test_staff_see_only_their_groups_participants(
    client: TestClient, staff_actor: Actor, session: Session, reach: dict[str, Participant]
) -> None:
    visible = make_consent(session, reach["mine"])
    hidden = [make_consent(session, reach[k]) for k in ("theirs", "former")]
    listed = client.get(URL, headers=staff_actor.headers).json()
    assert [c["id"] for c in listed["items"]] == [str(visible.id)]
    assert listed["total"] == 1
    assert client.get(f"{URL}/{visible.id}", headers=staff_actor.headers).status_code == 200
    for consent in hidden:
        assert client.get(f"{URL}/{consent.id}", headers=staff_actor.headers).status_code == 404
        r = client.post(
            f"{URL}/{consent.id}/withdraw", json={"withdrawn_on": str(TODAY)}, headers=staff_actor.headers
        )
        assert r.status_code == 404
        session.refresh(consent)
        assert consent.withdrawn_on is None


def test_staff_recording_for_a_child_out_of_reach_is_the_unknown_422(
    client: TestClient, staff_actor: Actor, session: Session, reach: dict[str, Participant]
) -> None:
    assert client.post(URL, json=body(reach["mine"]), headers=staff_actor.headers).status_code == 201
    out_of_reach = client.post(URL, json=body(reach["theirs"]), headers=staff_actor.headers)
    unknown = client.post(URL, json=body(uuid.uuid4()), headers=staff_actor.headers)
    # An id in a body: the same 422 naming the field for an unknown child and one out of reach.
    assert out_of_reach.status_code == unknown.status_code == 422
    assert out_of_reach.json()["detail"] == unknown.json()["detail"]  # existence is not revealed
    assert out_of_reach.json()["errors"] == unknown.json()["errors"]
    assert out_of_reach.json()["errors"][0]["field"] == "participant_id"
    assert str(reach["theirs"].id) not in out_of_reach.text
    assert "Di Ray" not in out_of_reach.text


def test_staff_checks_reach_only_their_groups(
    client: TestClient, staff_actor: Actor, session: Session, reach: dict[str, Participant]
) -> None:
    params = {"purpose": "website"}
    assert client.get(check_url(reach["mine"]), params=params, headers=staff_actor.headers).status_code == 200
    assert (
        client.get(check_url(reach["theirs"]), params=params, headers=staff_actor.headers).status_code == 404
    )
    status_url = f"/api/v1/participants/{reach['theirs'].id}/consent-status"
    assert client.get(status_url, headers=staff_actor.headers).status_code == 404
    r = client.post(
        CHECKS,
        json={"participant_ids": [str(reach["mine"].id), str(reach["theirs"].id)], "purpose": "website"},
        headers=staff_actor.headers,
    )
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["participant_ids.1"]


def test_trustees_are_refused(client: TestClient, trustee: Actor, session: Session) -> None:
    child = make_participant(session)
    assert client.get(URL, headers=trustee.headers).status_code == 403
    assert (
        client.get(check_url(child), params={"purpose": "website"}, headers=trustee.headers).status_code
        == 403
    )


# --- single checks on the edges ---------------------------------------------------------------------------


def ask(client: TestClient, actor: Actor, child: Participant, on: date, **params: Any) -> dict[str, Any]:
    params.setdefault("purpose", "website")
    r = client.get(check_url(child), params={"on": str(on), **params}, headers=actor.headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    assert result["detail"][0].isupper()
    assert result["detail"].endswith(".")
    return result


def test_withdrawn_that_day_is_refused(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session)
    consent = make_consent(session, child, withdrawn_on=date(2024, 6, 1))
    before = ask(client, coordinator, child, date(2024, 5, 31))
    assert before["allowed"] is True
    assert before["consent_id"] == str(consent.id)
    that_day = ask(client, coordinator, child, date(2024, 6, 1))
    assert that_day["allowed"] is False
    assert that_day["reason"] == "withdrawn"
    assert that_day["consent_id"] is None


def test_expired_that_day_is_refused(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session)
    make_consent(session, child, expires_on=date(2024, 6, 1))
    assert ask(client, coordinator, child, date(2024, 5, 31))["allowed"] is True
    that_day = ask(client, coordinator, child, date(2024, 6, 1))
    assert that_day["allowed"] is False
    assert that_day["reason"] == "expired"


def test_given_by_the_participant_below_the_age_is_refused(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    child = make_participant(session, date_of_birth=date(2008, 3, 1))
    make_consent(session, child, given_by=GivenBy.participant, given_on=date(2026, 2, 28))
    result = ask(client, coordinator, child, date(2026, 3, 5))
    assert result["allowed"] is False
    assert result["reason"] == "given_by_wrong_person"
    # From their 18th birthday their own consent counts.
    adult = make_participant(session, date_of_birth=date(2008, 3, 1))
    make_consent(session, adult, given_by=GivenBy.participant, given_on=date(2026, 3, 1))
    assert ask(client, coordinator, adult, date(2026, 3, 5))["allowed"] is True


def test_the_age_threshold_comes_from_the_policy_settings(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    session.add(PolicySettings(self_consent_min_age=13))
    session.commit()
    child = make_participant(session, date_of_birth=date(2010, 1, 1))
    make_consent(session, child, given_by=GivenBy.participant, given_on=date(2024, 1, 10))
    assert ask(client, coordinator, child, date(2024, 6, 1))["allowed"] is True


def test_a_purpose_not_covered_is_refused(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session)
    make_consent(session, child, purposes=[Purpose.internal, Purpose.website])
    result = ask(client, coordinator, child, date(2024, 6, 1), purpose="social_media")
    assert result["allowed"] is False
    assert result["reason"] == "wrong_purpose"


def test_several_consents_where_only_one_allows_it(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    child = make_participant(session)
    make_consent(session, child, purposes=[Purpose.press], given_on=date(2024, 3, 1))
    make_consent(session, child, given_on=date(2023, 1, 1), withdrawn_on=date(2023, 6, 1))
    allowing = make_consent(session, child, given_on=date(2022, 1, 1), expires_on=date(2025, 1, 1))
    make_consent(session, child, kind=ConsentKind.communication, purposes=[Purpose.website])
    result = ask(client, coordinator, child, date(2024, 6, 1))
    assert result["allowed"] is True
    assert result["consent_id"] == str(allowing.id)
    assert str(allowing.id) in result["detail"]


def test_none_and_not_yet_given(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session)
    assert ask(client, coordinator, child, date(2024, 6, 1))["reason"] == "none"
    make_consent(session, child, given_on=date(2024, 7, 1))
    assert ask(client, coordinator, child, date(2024, 6, 1))["reason"] == "not_yet_given"


def test_reconfirm_due_from_the_birthday(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session, date_of_birth=date(2006, 6, 15))
    make_consent(session, child, given_on=date(2020, 1, 1))
    eve = ask(client, coordinator, child, date(2024, 6, 14))
    birthday = ask(client, coordinator, child, date(2024, 6, 15))
    assert eve["allowed"] is birthday["allowed"] is True  # it still stands
    assert eve["reconfirm_due"] is False
    assert birthday["reconfirm_due"] is True
    assert "confirm it themselves" in birthday["detail"]


def test_public_record_flags_reconfirm_due_on_the_birthday(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    eighteen_today = make_participant(session, date_of_birth=years_ago_today(18))
    eighteen_tomorrow = make_participant(session, date_of_birth=years_ago_today(18) + timedelta(days=1))
    due = make_consent(session, eighteen_today)
    not_yet = make_consent(session, eighteen_tomorrow)
    own = make_consent(session, eighteen_today, given_by=GivenBy.participant, given_on=TODAY)
    flags = {
        c["id"]: c["reconfirm_due"] for c in client.get(URL, headers=coordinator.headers).json()["items"]
    }
    assert flags == {str(due.id): True, str(not_yet.id): False, str(own.id): False}


def test_image_use_needs_a_purpose(client: TestClient, coordinator: Actor, session: Session) -> None:
    child = make_participant(session)
    r = client.get(check_url(child), headers=coordinator.headers)
    assert refused_field(r) == "purpose"
    make_consent(session, child, kind=ConsentKind.esafety_agreement, purposes=[])
    agreement = client.get(
        check_url(child), params={"kind": "esafety_agreement"}, headers=coordinator.headers
    )
    assert agreement.json()["allowed"] is True


def test_unknown_participant_check_is_404(client: TestClient, coordinator: Actor) -> None:
    r = client.get(check_url(uuid.uuid4()), params={"purpose": "website"}, headers=coordinator.headers)
    assert r.status_code == 404


# --- status -----------------------------------------------------------------------------------------------


def test_status_per_kind_and_purpose(client: TestClient, integration: Actor, session: Session) -> None:
    child = make_participant(session)
    images = make_consent(
        session, child, purposes=[Purpose.website, Purpose.promotional_material], given_on=TODAY
    )
    make_consent(
        session, child, purposes=[Purpose.press], given_on=date(2024, 1, 1), withdrawn_on=date(2024, 2, 1)
    )
    r = client.get(f"/api/v1/participants/{child.id}/consent-status", headers=integration.headers)
    assert r.status_code == 200, r.text
    status = r.json()
    assert status["on"] == str(TODAY)
    kinds = {k["kind"]: k for k in status["kinds"]}
    assert set(kinds) == {k.value for k in ConsentKind}
    assert kinds["image_use"]["allowed"] is True
    assert kinds["esafety_agreement"]["reason"] == "none"
    assert kinds["esafety_agreement"]["purposes"] == []
    purposes = {p["purpose"]: p for p in kinds["image_use"]["purposes"]}
    assert set(purposes) == {p.value for p in Purpose}
    assert purposes["website"]["consent_id"] == str(images.id)
    assert purposes["promotional_material"]["allowed"] is True
    assert purposes["press"]["reason"] == "withdrawn"
    assert purposes["social_media"]["reason"] == "wrong_purpose"
    assert "full_name" not in r.text


# --- group checks -----------------------------------------------------------------------------------------


def test_group_check_lists_exactly_the_blockers(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    ok, withdrawn, nothing, wrong, ok_too = (make_participant(session) for _ in range(5))
    make_consent(session, ok)
    make_consent(session, ok_too, purposes=[Purpose.website, Purpose.press])
    make_consent(session, withdrawn, withdrawn_on=date(2024, 6, 1))
    make_consent(session, wrong, purposes=[Purpose.press])
    everyone = [ok, withdrawn, nothing, wrong, ok_too]
    r = client.post(
        CHECKS,
        json={"participant_ids": [str(p.id) for p in everyone], "purpose": "website", "on": "2024-06-01"},
        headers=coordinator.headers,
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["allowed"] is False
    assert result["checked"] == 5
    assert [(b["participant_id"], b["reason"]) for b in result["blockers"]] == [
        (str(withdrawn.id), "withdrawn"),
        (str(nothing.id), "none"),
        (str(wrong.id), "wrong_purpose"),
    ]
    assert all(b["detail"].endswith(".") for b in result["blockers"])
    fine = client.post(
        CHECKS,
        json={"participant_ids": [str(ok.id), str(ok_too.id)], "purpose": "website", "on": "2024-06-01"},
        headers=coordinator.headers,
    ).json()
    assert fine["allowed"] is True
    assert fine["blockers"] == []


def test_group_check_names_unknown_and_repeated_ids_by_index(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    child = make_participant(session)
    ids = [str(child.id), str(uuid.uuid4()), str(child.id)]
    r = client.post(CHECKS, json={"participant_ids": ids, "purpose": "website"}, headers=coordinator.headers)
    assert r.status_code == 422
    assert sorted(e["field"] for e in r.json()["errors"]) == ["participant_ids.1", "participant_ids.2"]


@pytest.mark.parametrize(
    "payload",
    [
        {"participant_ids": [], "purpose": "website"},
        {"participant_ids": [str(uuid.uuid4()) for _ in range(501)], "purpose": "website"},
        {"participant_ids": ["not-a-uuid"], "purpose": "website"},
    ],
    ids=["empty", "over_500", "bad_id"],
)
def test_group_check_bounds(client: TestClient, coordinator: Actor, payload: dict[str, Any]) -> None:
    r = client.post(CHECKS, json=payload, headers=coordinator.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"].startswith("participant_ids")


@pytest.fixture
def statements(connection: Connection) -> Iterator[list[str]]:
    with count_statements(connection, savepoints=True) as seen:
        yield seen


def test_group_check_queries_do_not_grow_with_the_group(
    client: TestClient, coordinator: Actor, session: Session, statements: list[str]
) -> None:
    def run(size: int) -> int:
        people = [make_participant(session) for _ in range(size)]
        for p in people:
            make_consent(session, p)
            make_consent(session, p, purposes=[Purpose.press])
        statements.clear()
        r = client.post(
            CHECKS,
            json={"participant_ids": [str(p.id) for p in people], "purpose": "website"},
            headers=coordinator.headers,
        )
        assert r.status_code == 200, r.text
        assert r.json()["allowed"] is True
        return sum("FROM consent" in s for s in statements)

    assert run(2) == run(25) == 1


# --- the shared decision (pure) ---------------------------------------------------------------------------


def fact(**overrides: Any) -> logic.ConsentFact:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": "image_use",
        "purposes": frozenset({"website"}),
        "given_by": "parent_carer",
        "given_on": date(2024, 1, 1),
        "expires_on": None,
        "withdrawn_on": None,
    }
    values.update(overrides)
    return logic.ConsentFact(**values)


def decide(*consents: logic.ConsentFact, purpose: str = "press") -> logic.ConsentDecision:
    return logic.decide(
        consents,
        kind="image_use",
        purpose=purpose,
        on=date(2024, 6, 1),
        date_of_birth=date(2010, 1, 1),
        self_consent_min_age=18,
    )


def test_the_reason_describes_the_consents_that_covered_the_purpose() -> None:
    website = fact()
    press_withdrawn = fact(purposes=frozenset({"press"}), withdrawn_on=date(2024, 3, 1))
    assert decide(website, press_withdrawn).reason is logic.Refusal.withdrawn
    assert decide(website).reason is logic.Refusal.wrong_purpose
    # A website consent that was withdrawn never covered press: the answer is the purpose.
    assert decide(fact(withdrawn_on=date(2024, 3, 1))).reason is logic.Refusal.wrong_purpose
    child_own = fact(purposes=frozenset({"press"}), given_by="participant")
    assert decide(press_withdrawn, child_own).reason is logic.Refusal.given_by_wrong_person


def test_in_force_and_reconfirmation_helpers() -> None:
    c = fact(expires_on=date(2024, 6, 1))
    assert logic.is_in_force(c, date(2024, 5, 31))
    assert not logic.is_in_force(c, date(2024, 6, 1))
    assert not logic.is_in_force(c, date(2023, 12, 31))
    kwargs: dict[str, Any] = {"date_of_birth": date(2006, 6, 1), "self_consent_min_age": 18}
    assert logic.needs_reconfirmation(c, on=date(2024, 6, 1), **kwargs)
    assert not logic.needs_reconfirmation(c, on=date(2024, 5, 31), **kwargs)
    assert not logic.needs_reconfirmation(fact(given_by="participant"), on=date(2024, 6, 1), **kwargs)
