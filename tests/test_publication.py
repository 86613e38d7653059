"""POST /api/v1/publication-checks: who is protected, what each caller is told, photos, limits and audit.
The spellings themselves are tested, pure, in test_publication_matching.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api import clock
from api.audit.models import AuditEvent
from api.config import get_settings
from api.consents.models import ConsentKind, GivenBy, Purpose
from api.participants.models import Participant
from tests.kit.auth import Actor, limit_user_action
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.requests import refused_field
from tests.kit.staff import make_staff

URL = "/api/v1/publication-checks"
HIDDEN = "A protected person's detail"


def spans(text: str, body: dict[str, Any]) -> list[tuple[str, str | None, list[str]]]:
    """Each match as (the original text it covers, kind, roles of the people named)."""
    return [
        (text[m["start"] : m["end"]], m["kind"], [p["role"] for p in m["people"]]) for m in body["matches"]
    ]


def post(client: TestClient, caller: Actor, **body: Any) -> Any:
    r = client.post(URL, json=body, headers=caller.headers)
    assert r.status_code == 200, r.text
    return r.json()


def in_group_of(session: Session, staff_caller: Actor, *participants: Participant) -> None:
    group = make_group(session)
    assert staff_caller.staff is not None
    make_membership(session, group, staff=staff_caller.staff)
    for p in participants:
        make_membership(session, group, participant=p)


# --- everyone the policy protects, as the coordinator sees it --------------------------------------------


def test_every_protected_detail_is_found_in_any_spelling(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    child = make_participant(
        session,
        full_name="Søren Dahl",
        personal_email="soren.d@example.org",
        personal_phone="+447700900111",
        carer_name="Niamh O'Brien",
        carer_email="niamh.obrien@example.org",
        carer_phone="07700 900777",
    )
    make_consent(session, child, given_by_name="Mary-Jane Okoro")
    leader = make_staff(session, full_name="Łukasz Wiśniewski", personal_phone="07700 900222")
    text = (
        "<p>Well done <b>Soren</b>&nbsp;Dahl! Thanks to Niamh O Brien (07700/900777) and Mary Jane Okoro.</p>"
        "<p>Led by Lukasz Wisniewski, 07700.900.222; soren.d@exam\u00adple.org, 07700 900111.</p>"
    )
    body = post(client, coordinator, text=text)
    assert body["clean"] is False
    assert body["read_as"] == "text/html"
    assert spans(text, body) == [
        ("Soren</b>&nbsp;Dahl", "name", ["participant"]),
        ("Niamh O Brien", "name", ["carer"]),
        ("07700/900777", "phone", ["carer"]),
        ("Mary Jane Okoro", "name", ["consent_giver"]),
        ("07700.900.222", "phone", ["staff"]),
        ("soren.d@exam\u00adple.org", "email", ["participant"]),
        ("07700 900111", "phone", ["participant"]),
    ]
    people = [m["people"][0] for m in body["matches"]]
    assert {p["participant_id"] for p in people if p["role"] != "staff"} == {str(child.id)}
    assert {p["staff_id"] for p in people if p["role"] == "staff"} == {str(leader.id)}
    assert body["matches"][1]["description"] == "A participant's carer's name"


def test_plain_text_with_no_protected_detail_is_clean(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    make_participant(session, full_name="Sam Lee", carer_phone="07700 900123")
    body = post(client, coordinator, text="Sam Leeds Youth Orchestra played on Saturday; call 0161 496 0000.")
    assert body == {"clean": True, "read_as": "text/plain", "matches": [], "purpose": None, "pictured": []}


def test_the_directory_follows_changes_to_the_records(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    child = make_participant(session, full_name="Ellis Fairweather")
    assert post(client, coordinator, text="Ellis Fairweather")["clean"] is False
    r = client.patch(
        f"/api/v1/participants/{child.id}", json={"full_name": "Ellis Brook"}, headers=coordinator.headers
    )
    assert r.status_code == 200, r.text
    assert post(client, coordinator, text="Ellis Fairweather")["clean"] is True
    assert post(client, coordinator, text="Ellis Brook")["clean"] is False


# --- not a directory for staff ----------------------------------------------------------------------------


def test_staff_learn_only_the_span_for_people_outside_their_reach(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    mine = make_participant(session, full_name="Kit Fairbrook", carer_phone="07700 900456")
    other = make_participant(
        session, full_name="Ellis Fairweather", carer_name="Joanne Brennan", carer_phone="07700 900777"
    )
    in_group_of(session, staff_actor, mine)
    text = (
        "Kit Fairbrook and Ellis Fair\u00adweather; Joanne Brennan on 07700 900777; Kit's carer 07700 900456"
    )
    r = client.post(URL, json={"text": text}, headers=staff_actor.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert spans(text, body) == [
        ("Kit Fairbrook", "name", ["participant"]),
        ("Ellis Fair\u00adweather", None, []),
        ("Joanne Brennan", None, []),
        ("07700 900777", None, []),
        ("07700 900456", "phone", ["carer"]),
    ]
    hidden = [m for m in body["matches"] if m["kind"] is None]
    assert {m["description"] for m in hidden} == {HIDDEN}
    assert str(other.id) not in r.text
    assert "carer" not in str(hidden)
    assert body["matches"][0]["people"][0]["participant_id"] == str(mine.id)


def test_a_staff_member_is_told_about_their_own_record_not_a_colleagues(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    assert staff_actor.staff is not None
    staff_actor.staff.personal_phone = "07700 900333"
    session.add(staff_actor.staff)
    session.flush()
    colleague = make_staff(session, full_name="Tomás Reyes", personal_email="tomas@example.net")
    text = "Call 07700 900333 or Tomas Reyes (tomas@example.net)"
    body = post(client, staff_actor, text=text)
    assert [(m["kind"], [p["staff_id"] for p in m["people"]]) for m in body["matches"]] == [
        ("phone", [str(staff_actor.staff.id)]),
        (None, []),
    ]
    assert str(colleague.id) not in str(body)


def test_staff_names_and_official_addresses_are_not_protected(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    # The policy protects staff's "personal (non-official) email and phone where recorded": their names and
    # their addresses at the organisation's own domains are how the public is meant to reach them.
    make_staff(
        session,
        full_name="Tomás Reyes",
        email="tomas.reyes@moremusic.org.uk",
        personal_email="tomas.reyes@gmail.com",
    )
    make_staff(session, full_name="Ada Brook", personal_email="ada@MoreMusic.org.uk")
    text = (
        "Tomas Reyes (tomas.reyes@moremusic.org.uk, tomas.reyes@gmail.com); Ada Brook, ada@moremusic.org.uk"
    )
    body = post(client, coordinator, text=text)
    assert spans(text, body) == [("tomas.reyes@gmail.com", "email", ["staff"])]


def test_a_thousand_phone_numbers_are_refused(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    text = "\n".join(f"07700 9{i:05d}" for i in range(1000))
    r = client.post(URL, json={"text": text}, headers=staff_actor.headers)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["errors"][0]["field"] == "text"
    assert "1000 phone-number- or email-shaped strings" in problem["detail"]
    limit = get_settings().publication_max_contact_shapes
    just_under = " ".join(f"x{i}@example.org" for i in range(limit))
    assert client.post(URL, json={"text": just_under}, headers=staff_actor.headers).status_code == 200


def test_checks_are_rate_limited_per_user(
    client: TestClient, staff_actor: Actor, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit_user_action(monkeypatch, "publication_checks_per_minute", 2)
    for _ in range(2):
        assert client.post(URL, json={"text": "hello"}, headers=staff_actor.headers).status_code == 200
    r = client.post(URL, json={"text": "hello"}, headers=staff_actor.headers)
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["Retry-After"]) >= 1
    assert "2 publication checks a minute" in r.json()["detail"]
    # Per user: another caller is not held back by the first one's checks.
    assert client.post(URL, json={"text": "hello"}, headers=coordinator.headers).status_code == 200


def test_every_check_is_audited_without_its_text(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    make_participant(session, full_name="Kit Fairbrook", carer_phone="07700 900456")
    post(client, coordinator, text="Kit Fairbrook, 07700 900456, and friends")
    client.post(URL, json={"text": " ".join(["07700 900456"] * 60)}, headers=coordinator.headers)
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.entity_type) == "publication_check")
        .order_by(col(AuditEvent.seq))
    ).all()
    assert [e.action for e in events] == ["publication_check.run", "publication_check.refused"]
    assert all(e.actor_id == coordinator.user.id for e in events if coordinator.user)
    assert events[0].changes["matches"] == 2
    assert events[1].changes["contact_shapes"] == 60
    for event in events:
        assert "Kit" not in str(event.changes)
        assert "900456" not in str(event.changes)


# --- photos in the same check -----------------------------------------------------------------------------


def test_a_photo_of_two_children_one_without_website_consent(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    covered = make_participant(session)
    make_consent(session, covered, purposes=[Purpose.website, Purpose.social_media])
    not_covered = make_participant(session)
    make_consent(session, not_covered, purposes=[Purpose.social_media])
    in_group_of(session, staff_actor, covered, not_covered)
    ids = [str(covered.id), str(not_covered.id)]
    body = post(
        client, staff_actor, text="The winter concert", pictured_participant_ids=ids, purpose="website"
    )
    assert body["clean"] is False
    assert body["matches"] == []
    assert body["purpose"] == "website"
    assert [(p["participant_id"], p["allowed"], p["reason"]) for p in body["pictured"]] == [
        (ids[0], True, None),
        (ids[1], False, "wrong_purpose"),
    ]
    social = post(
        client, staff_actor, text="The winter concert", pictured_participant_ids=ids, purpose="social_media"
    )
    assert social["clean"] is True


def test_consent_decisions_are_the_compliance_engines(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    withdrawn = make_participant(session)
    make_consent(session, withdrawn, withdrawn_on=clock.today() - timedelta(days=1))
    never = make_participant(session)
    make_consent(session, never, kind=ConsentKind.esafety_agreement, purposes=[])
    body = post(
        client,
        coordinator,
        text="Photos",
        pictured_participant_ids=[str(withdrawn.id), str(never.id)],
        purpose="website",
    )
    assert [p["reason"] for p in body["pictured"]] == ["withdrawn", "none"]
    assert all(p["detail"] for p in body["pictured"])


def test_pictured_outside_reach_is_refused_exactly_as_an_unknown_id(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    mine = make_participant(session)
    make_consent(session, mine)
    in_group_of(session, staff_actor, mine)
    elsewhere = make_participant(session)
    make_consent(session, elsewhere)

    def refusal(pid: uuid.UUID) -> dict[str, Any]:
        r = client.post(
            URL,
            json={
                "text": "Photos",
                "pictured_participant_ids": [str(mine.id), str(pid)],
                "purpose": "website",
            },
            headers=staff_actor.headers,
        )
        assert r.status_code == 422, r.text
        problem: dict[str, Any] = r.json()
        return problem

    out_of_reach, unknown = refusal(elsewhere.id), refusal(uuid.uuid4())
    assert out_of_reach == unknown
    assert [e["field"] for e in unknown["errors"]] == ["pictured_participant_ids.1"]
    # Refused checks are audited as every other: who, when, the counts; never the ids or the text.
    events = session.exec(
        select(AuditEvent)
        .where(col(AuditEvent.entity_type) == "publication_check")
        .order_by(col(AuditEvent.seq))
    ).all()
    assert [e.action for e in events] == ["publication_check.refused"] * 2
    assert staff_actor.user is not None
    assert all(e.actor_id == staff_actor.user.id for e in events)
    assert all(e.changes == {"pictured": 2, "characters": 6} for e in events)
    assert str(elsewhere.id) not in str([e.changes for e in events])


def test_a_list_of_names_to_try_is_refused(
    client: TestClient, staff_actor: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One out-of-reach child among thousands of guesses would otherwise be pointed out by its span.
    make_participant(session, full_name="Ellis Fairweather")
    monkeypatch.setattr(get_settings(), "publication_max_name_starts", 50)
    guesses = "\n".join(f"Ellis Surname{i}" for i in range(50))
    r = client.post(URL, json={"text": guesses + "\nEllis Fairweather"}, headers=staff_actor.headers)
    assert refused_field(r) == "text"
    # The count would say whether one more word begins a name. Each spelling's first word counts: "Ellis"
    # 51 times, and "Fairweather" (as in "Fairweather, Ellis").
    assert "52" not in r.json()["detail"]
    assert "Fairweather" not in r.text
    event = session.exec(
        select(AuditEvent).where(col(AuditEvent.action) == "publication_check.refused")
    ).one()
    assert event.changes["name_starts"] == 52
    # Up to the limit, the check runs.
    text = "\n".join(f"Ellis Surname{i}" for i in range(48)) + "\nEllis Fairweather"
    assert client.post(URL, json={"text": text}, headers=staff_actor.headers).status_code == 200


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"pictured_participant_ids": ["PID"]}, "purpose"),
        ({"pictured_participant_ids": ["PID", "PID"], "purpose": "website"}, "pictured_participant_ids.1"),
        ({"purpose": "billboard"}, "purpose"),
        ({"content_type": "application/pdf"}, "content_type"),
    ],
)
def test_bad_photo_requests_name_the_field(
    client: TestClient, coordinator: Actor, session: Session, extra: dict[str, Any], field: str
) -> None:
    pid = str(make_participant(session).id)
    body = {
        "text": "Photos",
        **{
            k: [pid if v == "PID" else v for v in vs] if isinstance(vs, list) else vs
            for k, vs in extra.items()
        },
    }
    r = client.post(URL, json=body, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]


# --- the request ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "x" * 100_001])
def test_text_length_is_bounded(client: TestClient, coordinator: Actor, text: str) -> None:
    r = client.post(URL, json={"text": text}, headers=coordinator.headers)
    assert refused_field(r) == "text"


def test_trustees_and_other_systems_may_not_check(
    client: TestClient, trustee: Actor, integration: Actor
) -> None:
    for caller in (trustee, integration):
        assert client.post(URL, json={"text": "hello"}, headers=caller.headers).status_code == 403


def test_unknown_fields_are_rejected(client: TestClient, coordinator: Actor) -> None:
    r = client.post(
        URL, json={"text": "hi", "participant_id": str(uuid.uuid4())}, headers=coordinator.headers
    )
    assert r.status_code == 422


def test_a_young_persons_own_signature_is_their_name_and_staff_personal_numbers_stay_unread(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    child = make_participant(session, full_name="Aoife Byrne")
    make_consent(session, child, given_by=GivenBy.participant, given_by_name="Aoife M. Byrne")
    r = client.post(
        "/api/v1/staff",
        json={
            "full_name": "Hamish Campbell",
            "email": "hamish.campbell@moremusic.org.uk",
            "employment_type": "volunteer",
            "started_on": "2025-01-06",
            "personal_email": "hamish.c@example.net",
            "personal_phone": "07700 900333",
        },
        headers=coordinator.headers,
    )
    assert r.status_code == 201, r.text
    assert "personal_phone" not in r.json()
    assert "900333" not in r.text
    text = "Aoife M Byrne, hamish.c@example.net, 07700-900-333"
    body = post(client, coordinator, text=text)
    assert spans(text, body) == [
        ("Aoife M Byrne", "name", ["participant"]),
        ("hamish.c@example.net", "email", ["staff"]),
        ("07700-900-333", "phone", ["staff"]),
    ]
