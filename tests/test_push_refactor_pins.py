"""What issue 14's shared push (api/pushes.py) promised to keep identical, pinned where the suite left a
gap: the If-Match on an identical consent push (its own re-check was removed, `crud.upsert_by_external_id`
now the only one), a staff email sent in another case by every way of pushing (the `stored` hook), and a
bulk sync's writes answered for by the key that sent them (the verbs now told the caller's reach)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from api import facts, facts_people
from api.audit.models import AuditEvent
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.consents import service as consents_service
from api.consents.models import Consent
from api.staff import service as staff_service
from api.staff.models import Staff, StaffCreate, StaffUpdate
from api.webhooks.models import WebhookDelivery, WebhookEvent
from tests.kit.auth import Actor
from tests.kit.clock import TODAY
from tests.kit.staff import STAFF_BODY
from tests.test_sync_consents import URL as CONSENTS
from tests.test_sync_consents import child, consent

API = "/api/v1"
STAFF = f"{API}/staff/by-external-id"


def test_an_identical_consent_push_on_a_stale_if_match_is_refused(
    client: TestClient, integration: Actor, session: Session
) -> None:
    child(session)
    url = f"{CONSENTS}/crm-c-pin"
    assert client.put(url, json=consent(), headers=integration.headers).status_code == 201
    stale = client.put(url, json=consent(), headers={**integration.headers, "If-Match": '"4"'})
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition_failed"), stale.text
    fresh = client.put(url, json=consent(), headers={**integration.headers, "If-Match": '"1"'})
    assert (fresh.status_code, fresh.json()["version"]) == (200, 1), fresh.text


def _stored_email(session: Session, external_id: str) -> str:
    session.expire_all()
    found = session.exec(select(Staff).where(col(Staff.external_id) == external_id)).one()
    return found.email


def test_a_staff_email_in_another_case_is_stored_lower_by_every_push_and_changes_nothing_after(
    client: TestClient, integration: Actor, session: Session
) -> None:
    shouted = {**STAFF_BODY, "email": "Pin.Person@MoreMusic.ORG.uk"}
    lower = "pin.person@moremusic.org.uk"
    # A create by PATCH (every field a create needs) and by PUT, and one by each of sync's modes.
    by_patch = client.patch(f"{STAFF}/crm-pin-1", json=shouted, headers=integration.headers)
    assert (by_patch.status_code, by_patch.json()["email"]) == (201, lower), by_patch.text
    again = {**shouted, "email": "PIN.PERSON@moremusic.org.uk"}
    for method in ("PUT", "PATCH"):
        same = client.request(method, f"{STAFF}/crm-pin-1", json=again, headers=integration.headers)
        assert (same.status_code, same.json()["version"]) == (200, 1), same.text
    assert _stored_email(session, "crm-pin-1") == lower

    for n, mode in ((2, "replace"), (3, "merge")):
        record = {**shouted, "email": f"Pin.Person{n}@MoreMusic.ORG.uk", "external_id": f"crm-pin-{n}"}
        synced = client.post(
            f"{API}/sync/staff", json={"mode": mode, "records": [record]}, headers=integration.headers
        )
        assert [r["status"] for r in synced.json()["results"]] == ["created"], synced.text
        assert _stored_email(session, f"crm-pin-{n}") == f"pin.person{n}@moremusic.org.uk"
        again = client.post(
            f"{API}/sync/staff",
            json={"mode": mode, "records": [{**record, "email": record["email"].upper()}]},
            headers=integration.headers,
        )
        assert [r["status"] for r in again.json()["results"]] == ["unchanged"], again.text


def test_a_sync_write_is_answered_for_by_the_key_that_sent_it(
    client: TestClient, integration: Actor, session: Session
) -> None:
    record = {**STAFF_BODY, "external_id": "crm-pin-actor"}
    for mode, change in (("replace", {}), ("merge", {"job_title": "Pinned"})):
        synced = client.post(
            f"{API}/sync/staff",
            json={"mode": mode, "records": [{**record, **change}]},
            headers=integration.headers,
        )
        assert synced.status_code == 200, synced.text
    staff_id = session.exec(select(Staff.id).where(col(Staff.external_id) == "crm-pin-actor")).one()
    events = session.exec(
        select(AuditEvent.action, AuditEvent.actor_type).where(
            col(AuditEvent.entity_id) == uuid.UUID(str(staff_id))
        )
    ).all()
    assert sorted(events) == [("staff.create", "api_key"), ("staff.update", "api_key")]


# --- found while trying to break it (at 9f9c171 as at 0a9c632) ------------------------------------------


def test_a_consent_pushed_already_withdrawn_is_never_left_stored_in_force(
    client: TestClient, integration: Actor, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new consent pushed with its `withdrawn_on` was stored in one commit and withdrawn in a second
    (api/consents/crm.py `create_it`): when the database failed between the two, the answer was a 503 but
    the consent stayed recorded as given and in force, though the family had withdrawn it. Now the push
    stores both or neither."""
    child(session)

    def fails(**_: Any) -> Any:
        raise OperationalError("UPDATE", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(consents_service, "withdraw", fails)
    withdrawn = consent(withdrawn_on=str(TODAY), withdrawal_reason="The family withdrew it")
    failed = client.put(f"{CONSENTS}/crm-c-half", json=withdrawn, headers=integration.headers)
    assert failed.status_code == 503, failed.text
    session.expire_all()
    stored = session.exec(select(Consent).where(col(Consent.external_id) == "crm-c-half")).all()
    assert [(c.withdrawn_on, c.version) for c in stored] == [], "recorded in force, not withdrawn"

    audited = session.exec(select(AuditEvent).where(col(AuditEvent.action).like("consent.%"))).all()
    assert audited == []


def _people_counter(session: Session) -> int:
    return facts_people.people_of(session.execute(facts.READ, facts.params_of(uuid.uuid4())).all())


def test_a_consent_pushed_already_withdrawn_is_one_commit_with_its_history_and_webhook(
    client: TestClient, integration: Actor, coordinator: Actor, session: Session
) -> None:
    """Until that one commit no other reader can see the consent at all, so none sees it in force."""
    hook = {"url": "http://127.0.0.1:9/hooks", "events": [WebhookEvent.consent_withdrawn.value]}
    assert client.post(f"{API}/webhooks", json=hook, headers=coordinator.headers).status_code == 201
    person = child(session)
    # A consent is a young person's own fact: it moves the young people's counter (and their groups').
    facts_before = _people_counter(session)
    # The consent's audit events by the commit that stored them (the push's other commits write
    # bookkeeping: the key's rate-limit count, its last use).
    commits: list[list[str]] = [[]]

    def flushed(flushing: Session, _: object) -> None:
        commits[-1].extend(o.action for o in flushing.new if isinstance(o, AuditEvent))

    def committed(_: Session) -> None:
        commits.append([])

    event.listen(session, "after_flush", flushed)
    event.listen(session, "after_commit", committed)
    try:
        withdrawn = consent(withdrawn_on=str(TODAY), withdrawal_reason="The family withdrew it")
        pushed = client.put(f"{CONSENTS}/crm-c-whole", json=withdrawn, headers=integration.headers)
    finally:
        event.remove(session, "after_flush", flushed)
        event.remove(session, "after_commit", committed)
    assert pushed.status_code == 201, pushed.text
    assert (pushed.json()["withdrawn_on"], pushed.json()["in_force"], pushed.json()["version"]) == (
        str(TODAY),
        False,
        2,
    )
    stored = [c for c in commits if any(a.startswith("consent.") for a in c)]
    assert stored == [["consent.create", "consent.withdraw"]], "committed in force before its withdrawal"
    assert _people_counter(session) != facts_before
    history = session.exec(
        select(AuditEvent.action)
        .where(AuditEvent.entity_id == uuid.UUID(pushed.json()["id"]))
        .order_by(col(AuditEvent.occurred_at))
    ).all()
    assert history == ["consent.create", "consent.withdraw"]
    deliveries = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.event_type == WebhookEvent.consent_withdrawn)
    ).all()
    assert [json.loads(d.body)["data"]["participant_id"] for d in deliveries] == [str(person.id)]


class _WholeAndPartial(StaffCreate, StaffUpdate):
    """A body model that is both: which push it is must not depend on which one isinstance sees."""


def test_a_push_is_whole_or_partial_as_the_caller_says_never_as_the_bodys_model(
    session: Session, coordinator: Actor
) -> None:
    assert coordinator.user is not None
    reach = Reach.of(user_principal(coordinator.user))
    record = {**STAFF_BODY, "job_title": "Lead music leader"}
    staff_service.upsert_by_external_id(
        session=session, reach=reach, external_id="crm-pin-mode", data=StaffCreate.model_validate(record)
    )
    without_title = {k: v for k, v in record.items() if k != "job_title"}
    sent = _WholeAndPartial.model_validate({**without_title, "full_name": "Renamed Person"})
    merged, outcome = staff_service.merge_by_external_id(
        session=session, reach=reach, external_id="crm-pin-mode", data=sent
    )
    assert (outcome, merged.full_name, merged.job_title) == ("updated", "Renamed Person", "Lead music leader")
    replaced, outcome = staff_service.upsert_by_external_id(
        session=session, reach=reach, external_id="crm-pin-mode", data=sent
    )
    assert (outcome, replaced.job_title) == ("updated", None)
