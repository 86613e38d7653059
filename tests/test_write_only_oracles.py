"""A caller who may write a kind of record but not read it (a `sync:write` key) learns nothing stored from a
write's answer (issue 18's breaker). A partial push is validated against the stored record, so its answer
was an oracle: `{"joined_on": X}` answered 422 or 200 as X fell before or after the child's date of birth,
a binary search away from the exact date. Such a caller now pushes whole records only, and every caller's
stale If-Match is a 412 before any comparison with what is stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api import clock
from api.auth.roles import ApiKeyScope
from api.consents.models import Consent
from api.participants.models import Participant
from api.staff.models import Staff
from tests.kit.auth import Actor, make_api_key
from tests.kit.participants import make_participant

API = "/api/v1"
PARTICIPANTS = f"{API}/participants/by-external-id"
STAFF = f"{API}/staff/by-external-id"
CONSENTS = f"{API}/consents/by-external-id"
SYNC = f"{API}/sync"


def child(**overrides: Any) -> dict[str, Any]:
    return {"full_name": "Tamsin Vey", "date_of_birth": "2012-03-14", "joined_on": "2024-09-01", **overrides}


def adult(**overrides: Any) -> dict[str, Any]:
    return {
        "full_name": "Asha Patel",
        "email": "asha.patel@moremusic.org.uk",
        "employment_type": "sessional",
        "started_on": "2024-09-01",
        **overrides,
    }


def consent(**overrides: Any) -> dict[str, Any]:
    return {
        "participant_external_id": "crm-p-w1",
        "kind": "image_use",
        "purposes": ["website"],
        "given_by": "parent_carer",
        "given_by_name": "Ngozi Vey",
        "given_on": "2024-09-01",
        "evidence_ref": "FORM-1",
        **overrides,
    }


@pytest.fixture
def writer(session: Session) -> Actor:
    """A key that may write participants, staff and consents, and read none of them."""
    return make_api_key(session, (ApiKeyScope.sync_write,))


def _unplaced(problem: dict[str, Any]) -> dict[str, Any]:
    """A problem document without its `instance` (the path asked, which names the external id)."""
    return {k: v for k, v in problem.items() if k != "instance"}


def _probes(client: TestClient, key: Actor, external_id: str) -> list[tuple[int, Any]]:
    """The breaker's probes of a child's date of birth, answered as the key sees them."""
    sent = []
    for body, if_match in (
        ({"joined_on": "2012-01-01"}, None),
        ({"joined_on": "2012-06-01"}, None),
        ({"joined_on": "2012-06-01"}, '"99"'),
        ({"left_on": "1900-01-01"}, None),
        ({"joined_on": "2012-06-01", "left_on": "1900-01-01"}, None),
    ):
        headers = {**key.headers, **({"If-Match": if_match} if if_match else {})}
        r = client.patch(f"{PARTICIPANTS}/{external_id}", json=body, headers=headers)
        sent.append((r.status_code, _unplaced(r.json())))
    batch = [{"external_id": external_id, "joined_on": d} for d in ("2012-01-01", "2012-06-01")]
    r = client.post(f"{SYNC}/participants", json={"mode": "merge", "records": batch}, headers=key.headers)
    sent.append((r.status_code, r.json()))
    return sent


def test_a_write_only_key_cannot_find_a_child_s_date_of_birth(
    client: TestClient, session: Session, writer: Actor
) -> None:
    # Two children alike but for their dates of birth, either side of every probe.
    for external_id, born in (("crm-p-early", "2011-02-03"), ("crm-p-late", "2012-04-05")):
        r = client.put(
            f"{PARTICIPANTS}/{external_id}", json=child(date_of_birth=born), headers=writer.headers
        )
        assert r.status_code == 201, r.text
    early, late = _probes(client, writer, "crm-p-early"), _probes(client, writer, "crm-p-late")
    assert early == late
    for status, body in early:
        assert status == 403
        assert body["code"] == "whole_records_only"
    assert "PUT" in early[0][1]["detail"]
    assert [e["field"] for e in early[-1][1]["errors"]] == ["mode"]
    # Nothing was written by any probe.
    session.expire_all()
    probed = col(Participant.external_id).in_(["crm-p-early", "crm-p-late"])
    rows = session.exec(select(Participant).where(probed)).all()
    assert len(rows) == 2
    assert {(p.version, p.joined_on.isoformat(), p.left_on) for p in rows} == {(1, "2024-09-01", None)}


def test_an_unknown_external_id_answers_as_a_known_one(client: TestClient, writer: Actor) -> None:
    # A partial push that creates (201) or does not (422, or 409) would tell which ids exist.
    client.put(f"{PARTICIPANTS}/crm-p-known", json=child(), headers=writer.headers)
    answers = [
        client.patch(f"{PARTICIPANTS}/{external_id}", json={"carer_name": "Ade"}, headers=writer.headers)
        for external_id in ("crm-p-known", "crm-p-unknown")
    ]
    known, unknown = ((r.status_code, _unplaced(r.json())) for r in answers)
    assert known == unknown
    assert answers[0].status_code == 403


@pytest.mark.parametrize("kind", ["staff", "participants", "consents"])
def test_a_write_only_key_s_merge_batch_is_refused_whole_and_replace_works(
    client: TestClient, session: Session, writer: Actor, kind: str
) -> None:
    client.put(f"{PARTICIPANTS}/crm-p-w1", json=child(), headers=writer.headers)
    record = {"staff": adult(), "participants": child(), "consents": consent()}[kind]
    records = [{"external_id": f"crm-{kind}-1", **record}]
    merged = client.post(f"{SYNC}/{kind}", json={"mode": "merge", "records": records}, headers=writer.headers)
    assert merged.status_code == 403, merged.text
    assert merged.headers["content-type"].startswith("application/problem+json")
    assert merged.json()["code"] == "whole_records_only"
    assert [e["field"] for e in merged.json()["errors"]] == ["mode"]
    session.expire_all()
    external_id = f"crm-{kind}-1"
    written = {
        "staff": select(Staff.id).where(Staff.external_id == external_id),
        "participants": select(Participant.id).where(Participant.external_id == external_id),
        "consents": select(Consent.id).where(Consent.external_id == external_id),
    }[kind]
    assert session.exec(written).first() is None
    replaced = client.post(f"{SYNC}/{kind}", json={"records": records}, headers=writer.headers)
    assert replaced.status_code == 200, replaced.text
    assert [r["status"] for r in replaced.json()["results"]] == ["created"]


def test_a_write_only_key_cannot_learn_a_consent_by_withdrawing_it_by_merge(
    client: TestClient, writer: Actor
) -> None:
    # A merge fills what the push leaves out from the recorded consent: a withdrawal dated before the day
    # it was given would be refused naming the field, and an edit refused naming the fields that differ.
    client.put(f"{PARTICIPANTS}/crm-p-w1", json=child(), headers=writer.headers)
    assert client.put(f"{CONSENTS}/crm-c-w1", json=consent(), headers=writer.headers).status_code == 201
    for record in (
        {"external_id": "crm-c-w1", "withdrawn_on": "2024-08-01"},
        {"external_id": "crm-c-w1", "given_on": "2024-09-02"},
        {"external_id": "crm-c-w1", "withdrawn_on": "2025-01-01"},
    ):
        r = client.post(
            f"{SYNC}/consents", json={"mode": "merge", "records": [record]}, headers=writer.headers
        )
        assert r.status_code == 403
        assert "2024-09-01" not in r.text


def test_readers_still_patch_and_merge(client: TestClient, integration: Actor) -> None:
    made = client.patch(f"{PARTICIPANTS}/crm-p-r1", json=child(), headers=integration.headers)
    assert made.status_code == 201, made.text
    merged = client.post(
        f"{SYNC}/participants",
        json={"mode": "merge", "records": [{"external_id": "crm-p-r1", "carer_name": "Ade"}]},
        headers=integration.headers,
    )
    assert [r["status"] for r in merged.json()["results"]] == ["updated"]


def test_a_stale_if_match_is_412_before_any_check_against_the_stored_record(
    client: TestClient, integration: Actor, coordinator: Actor
) -> None:
    made = client.put(f"{PARTICIPANTS}/crm-p-s1", json=child(), headers=integration.headers)
    pid = made.json()["id"]
    # joined_on before the stored date of birth, and left_on before the stored joined_on: each a 422 with
    # a current If-Match, a 412 with a stale one, from every caller and every path that takes it.
    for caller in (integration, coordinator):
        for method, url in (("PATCH", f"{PARTICIPANTS}/crm-p-s1"), ("PATCH", f"{API}/participants/{pid}")):
            for body in ({"joined_on": "2000-01-01"}, {"left_on": "1900-01-01"}):
                stale = client.request(method, url, json=body, headers={**caller.headers, "If-Match": '"99"'})
                assert stale.status_code == 412, (method, url, body, stale.text)
                current = client.request(
                    method, url, json=body, headers={**caller.headers, "If-Match": '"1"'}
                )
                assert current.status_code == 422, (method, url, body, current.text)
        left = client.post(
            f"{API}/participants/{pid}/leave",
            json={"left_on": "1900-01-01"},
            headers={**caller.headers, "If-Match": '"99"'},
        )
        assert left.status_code == 412, left.text
    staff = client.put(f"{STAFF}/crm-s-s1", json=adult(), headers=integration.headers)
    assert staff.status_code == 201, staff.text
    for url in (f"{STAFF}/crm-s-s1", f"{API}/staff/{staff.json()['id']}"):
        stale = client.patch(
            url, json={"left_on": "1900-01-01"}, headers={**coordinator.headers, "If-Match": '"7"'}
        )
        assert stale.status_code == 412, stale.text


def test_an_identity_s_stale_if_match_is_412_before_its_checks(
    client: TestClient, session: Session, writer: Actor
) -> None:
    # Ending an identity checks the day against the day it was recorded (the 422 quotes it) and refuses one
    # already ended (409): a stale If-Match answers first, as on every other write.
    child_id = client.put(f"{PARTICIPANTS}/crm-p-i1", json=child(), headers=writer.headers).json()["id"]
    body = {"participant_id": child_id, "kind": "handle", "platform": "whatsapp", "value": "tam_v"}
    made = client.post(f"{API}/identities", json=body, headers=writer.headers)
    assert made.status_code == 201, made.text
    url = f"{API}/identities/{made.json()['id']}/end"
    stale = {**writer.headers, "If-Match": '"9"'}
    assert client.post(url, json={"ended_on": "2000-01-01"}, headers=stale).status_code == 412
    assert client.post(url, json={"ended_on": "2000-01-01"}, headers=writer.headers).status_code == 422
    today = clock.today().isoformat()
    assert client.post(url, json={"ended_on": today}, headers=writer.headers).status_code == 200
    assert client.post(url, json={"ended_on": today}, headers=stale).status_code == 412
    assert client.post(url, json={"ended_on": today}, headers=writer.headers).status_code == 409


# Found by the session-8 breaker, not yet fixed: a consent is append-only, so a push that differs from the
# stored one cannot be written, and its refusal is itself the answer to "is this what is stored?". Closing
# it needs a decision (see the report): e.g. a write-only key's push to an existing consent id is answered
# alike whether or not it differs (refused alike, or accepted as a new record of the CRM's), and a second
# record of a form is refused to it alike whatever the stored giver and day.
ORACLE = pytest.mark.xfail(
    strict=True,
    reason="a write-only key learns a stored consent's giver and day from a consent push's status",
)


@pytest.fixture
def recorded(client: TestClient, session: Session, coordinator: Actor) -> str:
    """The external id of a consent the coordinator recorded (`consent()`) for a child the CRM pushed."""
    make_participant(session, external_id="crm-p-w1")
    assert client.put(f"{CONSENTS}/crm-c-o1", json=consent(), headers=coordinator.headers).status_code == 201
    return "crm-c-o1"


@ORACLE
def test_a_write_only_key_cannot_confirm_a_stored_consent_s_giver_by_pushing_its_id(
    client: TestClient, writer: Actor, recorded: str
) -> None:
    right, wrong = (
        client.put(f"{CONSENTS}/{recorded}", json=consent(given_by_name=name), headers=writer.headers)
        for name in ("Ngozi Vey", "Someone Else")
    )
    # 200 `unchanged` for the stored carer's name, 409 `consent_is_append_only` for any other.
    assert right.status_code == wrong.status_code, (right.text, wrong.text)


@ORACLE
def test_a_write_only_key_cannot_confirm_a_stored_consent_s_giver_by_recording_the_form_again(
    client: TestClient, writer: Actor, recorded: str
) -> None:
    right, wrong = (
        client.put(
            f"{CONSENTS}/crm-c-{i}",
            json=consent(given_by_name=name, evidence_ref=None),
            headers=writer.headers,
        )
        for i, name in enumerate(("Ngozi Vey", "Someone Else"))
    )
    # 409 `consent_already_recorded` for the stored carer's name and day, 201 (recorded) for any other.
    assert right.status_code == wrong.status_code, (right.text, wrong.text)
