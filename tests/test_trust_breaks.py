"""Trying to break the CRM push fixes from the outside (branch `trust`): a consent pushed already withdrawn
never seen in force, at the organisation's midnight too; a bulk sync mixing good and bad records; many
pushes of one record at once; the same If-Match sent by many at once."""

from __future__ import annotations

import io
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from api import crud
from api.audit.models import AuditEvent
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.consents import crm
from api.consents import service as consents_service
from api.consents.models import Consent, ConsentMerge, ConsentUpsert
from api.participants.models import Participant
from api.webhooks.models import WebhookDelivery, WebhookEvent
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.clock import TODAY, FixedClock
from tests.kit.databases import BACKEND, engine_for, throwaway_database
from tests.kit.participants import make_participant
from tests.kit.servers import live_app
from tests.test_concurrency import _staff_record, pushed_once, together
from tests.test_idempotency import keyed
from tests.test_operator_logs import CHILD, SECRETS
from tests.test_operator_logs import logs as logs  # a fixture
from tests.test_sync_consents import SYNC, URL, child, consent

API = "/api/v1"


def test_no_reader_sees_a_consent_pushed_withdrawn_in_force_while_many_are_pushed() -> None:
    """Readers of the consent check and of the in-force list while a CRM pushes consents already withdrawn,
    one after another: none is ever allowed, none ever listed in force."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            crm = make_api_key(session)
            person = make_participant(session, external_id="crm-p-readers")
        seen: Counter[str] = Counter()
        done = threading.Event()

        def read(_: int) -> None:
            with httpx.Client(base_url=base, headers=crm.headers, timeout=30) as http:
                while not done.is_set():
                    check = http.get(
                        f"{API}/participants/{person.id}/consent-check", params={"purpose": "website"}
                    )
                    seen[f"check {check.status_code} {check.json().get('allowed')}"] += 1
                    listed = http.get(
                        f"{API}/consents", params={"participant_id": str(person.id), "in_force": "true"}
                    )
                    seen[f"in force {listed.status_code} {listed.json().get('total')}"] += 1

        readers = [threading.Thread(target=read, args=(i,)) for i in range(4)]
        for t in readers:
            t.start()
        try:
            with httpx.Client(base_url=base, headers=crm.headers, timeout=30) as http:
                for n in range(20):
                    body = {
                        "participant_external_id": "crm-p-readers",
                        "kind": "image_use",
                        "purposes": ["website"],
                        "given_by": "parent_carer",
                        "given_by_name": f"Carer {n}",
                        "given_on": str(TODAY - timedelta(days=40 + n)),
                        "evidence_ref": f"FORM-R-{n}",
                        "withdrawn_on": str(TODAY - timedelta(days=n % 3)),
                    }
                    r = http.put(f"{API}/consents/by-external-id/crm-c-r-{n}", json=body)
                    assert r.status_code == 201, r.text
        finally:
            done.set()
            for t in readers:
                t.join()
        assert set(seen) == {"check 200 False", "in force 200 0"}, seen


def test_a_consent_pushed_withdrawn_at_the_organisations_midnight(
    fixed_clock: FixedClock, client: TestClient, integration: Actor, session: Session
) -> None:
    """00:30 in London, 23:30 the day before in UTC: a withdrawal dated the organisation's today is not in
    the future; the next day is, and stores nothing."""
    london_today = date(2026, 7, 2)
    child(session)
    today = client.put(
        f"{URL}/crm-c-mid-1", json=consent(withdrawn_on=str(london_today)), headers=integration.headers
    )
    assert (today.status_code, today.json()["in_force"]) == (201, False), today.text
    later = consent(withdrawn_on=str(london_today + timedelta(days=1)), evidence_ref="FORM-MID-2")
    refused = client.put(f"{URL}/crm-c-mid-2", json=later, headers=integration.headers)
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "withdrawn_on"), refused.text
    session.expire_all()
    assert (
        session.exec(select(Consent.external_id).where(col(Consent.external_id) == "crm-c-mid-2")).all() == []
    )


def test_a_bulk_sync_mixing_good_and_bad_withdrawn_consents_half_writes_nothing(
    client: TestClient, integration: Actor, coordinator: Actor, session: Session
) -> None:
    hook = {"url": "http://127.0.0.1:9/hooks", "events": [WebhookEvent.consent_withdrawn.value]}
    assert client.post(f"{API}/webhooks", json=hook, headers=coordinator.headers).status_code == 201
    child(session)
    given = TODAY - timedelta(days=30)

    def record(n: int, **more: Any) -> dict[str, Any]:
        return {
            **consent(given_on=str(given), evidence_ref=f"FORM-MIX-{n}", given_by_name=f"Carer {n}"),
            "external_id": f"crm-c-mix-{n}",
            **more,
        }

    records = [
        record(0, withdrawn_on=str(TODAY)),  # good, withdrawn
        record(1, withdrawn_on=str(given - timedelta(days=1))),  # before given
        record(2, withdrawn_on=str(TODAY + timedelta(days=1))),  # in the future
        record(3),  # good, in force
        {**record(4), "evidence_ref": "FORM-MIX-3"},  # a second record of form 3: 409
        record(5, withdrawal_reason="no date"),  # a reason without a withdrawn_on
        record(6, withdrawn_on=str(given), expires_on=str(given)),  # expires on the day it is given
        record(7, withdrawn_on=str(given)),  # good, withdrawn the day it was given
    ]
    r = client.post(SYNC, json={"records": records}, headers=integration.headers)
    assert r.status_code == 200, r.text
    statuses = [(x["external_id"], x["status"]) for x in r.json()["results"]]
    assert statuses == [  # details: [x.get("detail") for x in r.json()["results"]]
        ("crm-c-mix-0", "created"),
        ("crm-c-mix-1", "rejected"),
        ("crm-c-mix-2", "rejected"),
        ("crm-c-mix-3", "created"),
        ("crm-c-mix-4", "rejected"),
        ("crm-c-mix-5", "rejected"),
        ("crm-c-mix-6", "rejected"),
        ("crm-c-mix-7", "created"),
    ], statuses
    session.expire_all()
    stored = session.exec(select(Consent).order_by(col(Consent.external_id))).all()
    assert [(c.external_id, c.withdrawn_on) for c in stored] == [
        ("crm-c-mix-0", TODAY),
        ("crm-c-mix-3", None),
        ("crm-c-mix-7", given),
    ]
    ids: dict[uuid.UUID | None, str | None] = {c.id: c.external_id for c in stored}
    audited = session.exec(
        select(AuditEvent.entity_id, AuditEvent.action).where(col(AuditEvent.action).like("consent.%"))
    ).all()
    assert sorted((ids.get(e, "?"), a) for e, a in audited) == [
        ("crm-c-mix-0", "consent.create"),
        ("crm-c-mix-0", "consent.withdraw"),
        ("crm-c-mix-3", "consent.create"),
        ("crm-c-mix-7", "consent.create"),
        ("crm-c-mix-7", "consent.withdraw"),
    ]
    deliveries = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.event_type == WebhookEvent.consent_withdrawn)
    ).all()
    assert len(deliveries) == 2


def test_thirty_two_mixed_puts_and_patches_of_one_staff_record_all_land() -> None:
    with live_app() as (base, engine):
        url, crm = pushed_once(base, engine, "staff", _staff_record("CRM-MIX32"))

        def push(i: int) -> httpx.Response:
            if i % 2:
                return httpx.patch(url, json={"job_title": f"Patched {i}"}, headers=crm.headers, timeout=60)
            whole = _staff_record("CRM-MIX32", job_title=f"Put {i}")
            return httpx.put(url, json=whole, headers=crm.headers, timeout=60)

        responses = together(32, push)
        assert [r.status_code for r in responses] == [200] * 32, [
            (r.status_code, r.text[:200]) for r in responses if r.status_code != 200
        ]
        stored = httpx.get(f"{base}/api/v1/staff?external_id=CRM-MIX32", headers=crm.headers).json()["items"][
            0
        ]
        assert stored["version"] == 33


def test_sixteen_patches_on_one_if_match_give_one_200_and_fifteen_412() -> None:
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            crm = make_api_key(session)
        url = f"{base}/api/v1/participants/by-external-id/CRM-IFM16"
        created = httpx.put(
            url,
            json={
                "full_name": "Participant Ifm",
                "date_of_birth": str(TODAY - timedelta(days=15 * 365)),
                "joined_on": str(TODAY - timedelta(days=100)),
            },
            headers=crm.headers,
        )
        assert created.status_code == 201, created.text
        etag = created.headers["etag"]

        def push(i: int) -> int:
            body = {"carer_name": f"Carer {i}"}
            return httpx.patch(
                url, json=body, headers={**crm.headers, "If-Match": etag}, timeout=60
            ).status_code

        assert sorted(together(16, push)) == [200] + [412] * 15


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite serialises writers: no write can land in between")
def test_a_consent_merge_racing_a_withdrawal_answers_as_after_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bulk sync's `merge` of a consent fills what it leaves out from the recorded consent, read before the
    push locks it (api/consents/crm.py `merge_by_external_id`): a withdrawal committed in between made a
    merge that changes nothing (the evidence_ref sent again) a 409 `consent_is_append_only`, "a different
    withdrawn_on". After the withdrawal, the same merge is unchanged; so must it be at the same moment."""
    with throwaway_database(migrated=True) as url, engine_for(url) as engine:
        with Session(engine, expire_on_commit=False) as session:
            actor = make_actor(session, Role.coordinator, coordinator=True)
            make_participant(session, external_id="crm-p-1")
        assert actor.user is not None
        reach = Reach.of(user_principal(actor.user))
        with Session(engine, expire_on_commit=False) as session:
            crm.upsert_by_external_id(
                session=session,
                reach=reach,
                external_id="crm-c-race",
                data=ConsentUpsert.model_validate(consent()),
            )
        completed = crud.completed
        withdrawal = threading.Thread(target=withdraw, args=(engine, reach))

        def withdrawn_meanwhile(*args: Any, **kwargs: Any) -> Any:
            # Another writer withdraws it now: given a second to land, or to wait for the merge's lock.
            monkeypatch.setattr(crud, "completed", completed)
            withdrawal.start()
            withdrawal.join(timeout=1)
            return completed(*args, **kwargs)

        monkeypatch.setattr(crud, "completed", withdrawn_meanwhile)
        with Session(engine, expire_on_commit=False) as session:
            _, outcome = crm.merge_by_external_id(
                session=session,
                reach=reach,
                external_id="crm-c-race",
                data=ConsentMerge.model_validate({"evidence_ref": consent()["evidence_ref"]}),
            )
        withdrawal.join()
        assert outcome == "unchanged"
        with Session(engine) as session:
            stored = session.exec(select(Consent).where(Consent.external_id == "crm-c-race")).one()
            assert (stored.withdrawn_on, stored.version) == (TODAY, 2)


def withdraw(engine: Engine, reach: Reach) -> None:
    with Session(engine, expire_on_commit=False) as other:
        found = other.exec(select(Consent).where(Consent.external_id == "crm-c-race")).one()
        consents_service.withdraw(
            session=other, reach=reach, consent=found, withdrawn_on=TODAY, reason="Asked"
        )


def test_sixteen_pushes_of_one_new_consent_half_of_them_withdrawn_end_withdrawn_once() -> None:
    """The CRM sends one new consent sixteen times at once, eight of them already withdrawn: each answer is
    one a sequential run could give (201, 200, or 409 for an in-force push after the withdrawal), none a
    5xx, and the consent ends recorded once and withdrawn once."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            key = make_api_key(session)
            make_participant(session, external_id="crm-p-1")
        url = f"{base}{URL}/crm-c-sixteen"

        def push(i: int) -> httpx.Response:
            body = consent(withdrawn_on=str(TODAY)) if i % 2 else consent()
            return httpx.put(url, json=body, headers=key.headers, timeout=60)

        answers = Counter(r.status_code for r in together(16, push))
        assert set(answers) <= {200, 201, 409}, answers
        assert answers[201] == 1, answers
        with Session(engine) as session:
            [stored] = session.exec(select(Consent).where(Consent.external_id == "crm-c-sixteen")).all()
            assert (stored.withdrawn_on, stored.version) == (TODAY, 2)
            history = session.exec(select(AuditEvent.action).where(AuditEvent.entity_id == stored.id)).all()
            assert sorted(history) == ["consent.create", "consent.withdraw"]


def test_a_consent_batch_failing_at_a_withdrawal_keeps_what_came_before_and_its_retry_finishes(
    client: TestClient,
    integration: Actor,
    coordinator: Actor,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database goes away at the second record's withdrawal, after its creation was flushed: the first
    record stays saved, the second is not (no consent, no history, no webhook), the 503 says so, and the
    same batch sent again with its Idempotency-Key finishes it."""
    hook = {"url": "http://127.0.0.1:9/hooks", "events": [WebhookEvent.consent_withdrawn.value]}
    assert client.post(f"{API}/webhooks", json=hook, headers=coordinator.headers).status_code == 201
    child(session)
    batch = [
        {**consent(evidence_ref=f"FORM-F-{n}", given_by_name=f"Carer {n}"), "external_id": f"crm-c-f-{n}"}
        | {"withdrawn_on": str(TODAY)}
        for n in range(3)
    ]
    real = consents_service.withdraw
    down = iter([False, True])  # the second withdrawal meets a database that went away

    def fails_second(**kwargs: Any) -> Any:
        if next(down, False):
            raise OperationalError("UPDATE", {}, Exception("server closed the connection unexpectedly"))
        return real(**kwargs)

    monkeypatch.setattr(consents_service, "withdraw", fails_second)
    failed = client.post(SYNC, json={"records": batch}, headers=keyed(integration, "brk-batch"))
    assert failed.status_code == 503, failed.text
    problem = failed.json()
    assert (problem["code"], problem["records_saved"], problem["failed_at"]) == ("sync_interrupted", 1, 1)
    assert "record 1 was not saved" in problem["detail"]
    session.expire_all()
    stored = session.exec(select(Consent)).all()
    assert [(c.external_id, c.withdrawn_on) for c in stored] == [("crm-c-f-0", TODAY)]
    assert len(session.exec(select(AuditEvent).where(col(AuditEvent.action).like("consent.%"))).all()) == 2
    hooks = select(WebhookDelivery).where(WebhookDelivery.event_type == WebhookEvent.consent_withdrawn)
    assert len(session.exec(hooks).all()) == 1

    monkeypatch.undo()
    retried = client.post(SYNC, json={"records": batch}, headers=keyed(integration, "brk-batch"))
    assert retried.status_code == 200, retried.text
    assert [r["status"] for r in retried.json()["results"]] == ["unchanged", "created", "created"]
    session.expire_all()
    assert len(session.exec(hooks).all()) == 3
    replayed = client.post(SYNC, json={"records": batch}, headers=keyed(integration, "brk-batch"))
    assert replayed.json() == retried.json()
    other = client.post(SYNC, json={"records": batch[:1]}, headers=keyed(integration, "brk-batch"))
    assert other.status_code == 422, other.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        pytest.param("PUT", URL, lambda: consent(withdrawn_on=str(TODAY)), id="consent-put"),
        pytest.param(
            "PATCH",
            f"{API}/participants/by-external-id",
            lambda: {"full_name": "Nobody Yet", "date_of_birth": "2012-01-01", "joined_on": "2025-01-01"},
            id="participant-patch",
        ),
    ],
)
def test_if_match_star_on_a_push_of_a_record_nobody_has_is_412_and_creates_nothing(
    client: TestClient,
    integration: Actor,
    session: Session,
    method: str,
    path: str,
    body: Callable[[], dict[str, Any]],
) -> None:
    """A CRM that sends `If-Match: *` means "only if you have it" (RFC 9110 §13.1.1: false when there is no
    current representation), as a withdrawal of a consent it believes was synced; the push must not
    record a new consent, or a new child, instead."""
    child(session)
    headers = {**integration.headers, "If-Match": "*"}
    r = client.request(method, f"{path}/crm-star-1", json=body(), headers=headers)
    assert (r.status_code, r.json()["code"]) == (412, "precondition_failed"), r.text
    for table in (Consent, Participant):
        assert session.exec(select(table).where(table.external_id == "crm-star-1")).all() == []
    # Once the record exists, `*` holds for whatever version it is at.
    created = client.request(method, f"{path}/crm-star-1", json=body(), headers=integration.headers)
    assert created.status_code == 201, created.text
    again = client.request(method, f"{path}/crm-star-1", json=body(), headers=headers)
    assert (again.status_code, again.json()["version"]) == (200, created.json()["version"]), again.text


def test_eight_merge_batches_withdrawing_the_same_consents_in_opposite_orders_all_answer() -> None:
    """Bulk sync's merge now locks each consent it fills from: eight batches at once, half in reverse
    order, withdrawing the same ten consents, each answered 200 with every record withdrawn once."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            key = make_api_key(session)
            make_participant(session, external_id="crm-p-1")
        sync = f"{base}{SYNC}"
        recorded = [
            {**consent(evidence_ref=f"FORM-M-{n}", given_by_name=f"Carer {n}"), "external_id": f"crm-c-m-{n}"}
            for n in range(10)
        ]
        assert httpx.post(sync, json={"records": recorded}, headers=key.headers).status_code == 200
        withdrawals = [{"external_id": f"crm-c-m-{n}", "withdrawn_on": str(TODAY)} for n in range(10)]

        def batch(i: int) -> httpx.Response:
            records = withdrawals if i % 2 else withdrawals[::-1]
            return httpx.post(
                sync, json={"mode": "merge", "records": records}, headers=key.headers, timeout=60
            )

        answers = together(8, batch)
        assert [r.status_code for r in answers] == [200] * 8, [r.text[:200] for r in answers]
        counts: Counter[str] = Counter()
        for r in answers:
            counts.update(x["status"] for x in r.json()["results"])
        assert counts == {"updated": 10, "unchanged": 70}, counts


def test_nothing_of_a_child_reaches_a_log_audit_or_webhook_from_pushes_of_withdrawn_consents(
    logs: io.StringIO, client: TestClient, integration: Actor, coordinator: Actor, session: Session
) -> None:
    """A child's and her carer's names where a consent push carries a person's text (the giver's name, the
    withdrawal's reason; the participant's CRM id in the logs), pushed already withdrawn, again as a
    second record of its form, with bad dates, and in a batch: none of it in a log line, an audit event or
    a webhook's body (`evidence_ref` and the ids the CRM sends too: tests/test_crm_identifiers.py)."""
    hook = {"url": "http://127.0.0.1:9/hooks", "events": [WebhookEvent.consent_withdrawn.value]}
    assert client.post(f"{API}/webhooks", json=hook, headers=coordinator.headers).status_code == 201
    make_participant(session, external_id="Zephyrine-Quillfeather", full_name=CHILD)
    named = {
        "participant_external_id": "Zephyrine-Quillfeather",
        "given_by_name": "Wilhelmina Quillfeather",
        "evidence_ref": "FORM-Z-1",
        "withdrawal_reason": "Zephyrine Quillfeather's carer asked, 07700 900456",
    }
    withdrawn = consent(**named, withdrawn_on=str(TODAY))
    in_force = {k: v for k, v in consent(**named).items() if k != "withdrawal_reason"}
    answers = [
        client.put(f"{URL}/crm-c-z-1", json=withdrawn, headers=integration.headers).status_code,
        client.put(f"{URL}/crm-c-z-2", json=in_force, headers=integration.headers).status_code,
        client.put(f"{URL}/crm-c-z-3", json=in_force, headers=integration.headers).status_code,
        client.put(
            f"{URL}/crm-c-z-4",
            json={**withdrawn, "withdrawn_on": "2001-01-01"},
            headers=integration.headers,
        ).status_code,
    ]
    assert answers == [201, 201, 409, 422]
    batch = [{**withdrawn, "external_id": "crm-c-z-5", "evidence_ref": "FORM-Z-5"}]
    assert client.post(SYNC, json={"records": batch}, headers=integration.headers).status_code == 200
    assert [s for s in SECRETS if s.lower() in logs.getvalue().lower()] == []
    said = json.dumps(
        [
            [e.model_dump(mode="json") for e in session.exec(select(AuditEvent)).all()],
            [d.body for d in session.exec(select(WebhookDelivery)).all()],
        ]
    )
    assert "consent.withdraw" in said
    assert [s for s in SECRETS if s.lower() in said.lower()] == []
