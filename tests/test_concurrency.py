"""Several systems writing at the same moment, over real concurrent requests to a live server, on SQLite and
PostgreSQL alike: writers queue rather than fail, two writers on one ETag never both win, and identical
pushes racing each other answer as a sequential retry would (never a 409 or `rejected` for a valid record).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from api.auth.roles import Role
from api.groups.models import Group
from api.staff.models import Staff
from tests.kit.auth import Actor, make_actor, make_api_key
from tests.kit.clock import TODAY
from tests.kit.consents import image_use_body
from tests.kit.etags import read_tag
from tests.kit.groups import make_group
from tests.kit.participants import make_participant
from tests.kit.servers import live_app
from tests.kit.staff import make_staff

T = TypeVar("T")


def together(n: int, call: Callable[[int], T]) -> list[T]:
    """Run `call(0)` … `call(n - 1)` in n threads released at the same moment; their results, by index."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = call(i)
        except BaseException as exc:  # surfaced below, in the test's own thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def race(
    url: str, headers: dict[str, str], body: Callable[[int, int], dict[str, str]], rounds: int = 5
) -> None:
    """Each round, two PATCHes sent at the same moment with the ETag just read: one 200 and one 412."""
    for attempt in range(rounds):  # several rounds, so both orders of arrival are exercised
        etag = httpx.get(url, headers=headers).headers["etag"]

        def patch(i: int, attempt: int = attempt, etag: str = etag) -> int:
            r = httpx.patch(url, json=body(attempt, i), headers={**headers, "If-Match": etag}, timeout=30)
            return r.status_code

        results = together(2, patch)
        assert sorted(results) == [200, 412], results


@pytest.mark.parametrize(
    ("make", "collection", "field"),
    [
        pytest.param(make_staff, "staff", "job_title", id="staff"),
        pytest.param(make_group, "groups", "project", id="group"),
    ],
)
def test_concurrent_patches_with_the_same_etag_give_one_200_and_one_412(
    make: Callable[[Session], Staff | Group], collection: str, field: str
) -> None:
    """Exactly one write a round, on a record of each kind. Groups are changed under a row lock: the writer
    that waited for it sees the version the first one left, so its stale ETag is a 412 rather than a second
    write."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            coordinator = make_actor(session, Role.coordinator, coordinator=True)
            record = make(session)
            url = f"{base}/api/v1/{collection}/{record.id}"
        race(url, coordinator.headers, lambda attempt, i: {field: f"{field} {attempt} {i}"})
        final = httpx.get(url, headers=coordinator.headers)
        assert final.json()["version"] == 6  # exactly one write per round
        assert final.headers["etag"] == read_tag(6, final)


def pushed_once(base: str, engine: Engine, collection: str, record: dict[str, Any]) -> tuple[str, Actor]:
    """A CRM key, and the record it first pushed whole to `collection` by its external id: that push's URL."""
    with Session(engine, expire_on_commit=False) as session:
        crm = make_api_key(session)
    url = f"{base}/api/v1/{collection}/by-external-id/{record['external_id']}"
    assert httpx.put(url, json=record, headers=crm.headers).status_code == 201
    return url, crm


def _staff_record(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "full_name": f"Staff {external_id}",
        "email": f"{external_id.lower()}@moremusic.org.uk",
        "employment_type": "employee",
        "started_on": str(TODAY - timedelta(days=300)),
        "external_id": external_id,
        **fields,
    }


def _participant_record(external_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "full_name": f"Participant {external_id}",
        "date_of_birth": str(TODAY - timedelta(days=15 * 365)),
        "joined_on": str(TODAY - timedelta(days=100)),
        "external_id": external_id,
        **fields,
    }


def test_two_writers_of_fifteen_writes_each_all_succeed() -> None:
    """Two CRM writers pushing at once (each read turns into a write): every write lands, none is a 503."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            crm = make_api_key(session)
            coordinator = make_actor(session, Role.coordinator, coordinator=True)
            staff = [make_staff(session), make_staff(session)]

        def write(i: int) -> list[int]:
            codes = []
            with httpx.Client(timeout=60) as client:
                for n in range(15):
                    if i == 0:
                        r = client.put(
                            f"{base}/api/v1/staff/by-external-id/W{i}",
                            json=_staff_record(f"W{i}", job_title=f"title {n}"),
                            headers=crm.headers,
                        )
                    else:
                        r = client.patch(
                            f"{base}/api/v1/staff/{staff[n % 2].id}",
                            json={"job_title": f"title {n}"},
                            headers=coordinator.headers,
                        )
                    codes.append(r.status_code)
            return codes

        first, second = together(2, write)
        assert first == [201] + [200] * 14, first
        assert second == [200] * 15, second


def _identical_puts(
    base: str, path: str, headers: dict[str, str], body: dict[str, Any]
) -> list[httpx.Response]:
    def put(_: int) -> httpx.Response:
        return httpx.put(f"{base}{path}", json=body, headers=headers, timeout=60)

    return together(10, put)


def _one_created_nine_unchanged(responses: list[httpx.Response]) -> None:
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 1, 200: 9}, [(r.status_code, r.text[:200]) for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert {r.json()["version"] for r in responses} == {1}  # the nine wrote nothing


def test_ten_identical_concurrent_staff_pushes_create_once_and_agree() -> None:
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            crm = make_api_key(session)
        body = _staff_record("CRM-S-RACE")
        _one_created_nine_unchanged(
            _identical_puts(base, "/api/v1/staff/by-external-id/CRM-S-RACE", crm.headers, body)
        )


def test_ten_identical_concurrent_participant_pushes_create_once_and_agree() -> None:
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            crm = make_api_key(session)
        path = "/api/v1/participants/by-external-id/CRM-P-RACE"
        _one_created_nine_unchanged(
            _identical_puts(base, path, crm.headers, _participant_record("CRM-P-RACE"))
        )


def test_ten_identical_concurrent_consent_pushes_create_once_and_agree() -> None:
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            crm = make_api_key(session)
            child = make_participant(session)
        body = image_use_body(child, TODAY - timedelta(days=10), evidence_ref="IMG-RACE")
        path = "/api/v1/consents/by-external-id/CRM-C-RACE"
        _one_created_nine_unchanged(_identical_puts(base, path, crm.headers, body))


def test_two_different_concurrent_pushes_of_a_new_record_create_then_update() -> None:
    """As if sent one after the other: one creates it, the other replaces it; neither is told it conflicts."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            crm = make_api_key(session)
        path = f"{base}/api/v1/participants/by-external-id/CRM-P-TWO"

        def put(i: int) -> httpx.Response:
            body = _participant_record("CRM-P-TWO", carer_name=f"Carer {i}")
            return httpx.put(path, json=body, headers=crm.headers, timeout=60)

        for _ in range(3):
            responses = together(2, put)
            assert sorted(r.status_code for r in responses) in ([200, 201], [200, 200]), [
                (r.status_code, r.text[:200]) for r in responses
            ]
        final = httpx.get(
            path.replace("/by-external-id/CRM-P-TWO", "?external_id=CRM-P-TWO"), headers=crm.headers
        )
        assert final.json()["total"] == 1


def test_ten_identical_concurrent_bulk_syncs_reject_nothing() -> None:
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            crm = make_api_key(session)
        records = [_participant_record(f"CRM-P-BULK-{n}") for n in range(20)]

        def sync(_: int) -> httpx.Response:
            return httpx.post(
                f"{base}/api/v1/sync/participants",
                json={"records": records},
                headers=crm.headers,
                timeout=120,
            )

        responses = together(10, sync)
        assert [r.status_code for r in responses] == [200] * 10, [r.text[:300] for r in responses]
        counts = Counter[str]()
        for r in responses:
            counts.update({k: v for k, v in r.json()["counts"].items() if v})
        # Every record created exactly once across the ten batches, and found unchanged by the other nine.
        assert counts == {"created": 20, "unchanged": 180}, counts


@pytest.mark.parametrize(
    ("collection", "record", "first", "second", "many"),
    [
        pytest.param(
            "staff",
            _staff_record,
            {"code_of_conduct_signed_on": str(TODAY - timedelta(days=3))},
            {"esafety_training_completed_on": str(TODAY - timedelta(days=2))},
            "job_title",
            id="staff",
        ),
        pytest.param(
            "participants",
            _participant_record,
            {"carer_name": "Carer of the first push"},
            {"carer_email": "second.push@example.org"},
            "full_name",
            id="participant",
        ),
    ],
)
def test_sixteen_concurrent_partial_pushes_of_one_record_all_land_and_keep_every_change(
    collection: str,
    record: Callable[..., dict[str, Any]],
    first: dict[str, str],
    second: dict[str, str],
    many: str,
) -> None:
    """api/pushes.py: two partial pushes at once keep both changes. Sixteen at once, no If-Match, each
    changing something: each is a 200, each a version of its own, the first two's fields both kept."""
    with live_app() as (base, engine):
        url, crm = pushed_once(base, engine, collection, record("CRM-SIXTEEN"))

        def push(i: int) -> httpx.Response:
            body = first if i == 0 else second if i == 1 else {many: f"Pushed {i}"}
            return httpx.patch(url, json=body, headers=crm.headers, timeout=60)

        responses = together(16, push)
        assert [r.status_code for r in responses] == [200] * 16, [
            (r.status_code, r.text[:200]) for r in responses if r.status_code != 200
        ]
        listed = httpx.get(f"{base}/api/v1/{collection}?external_id=CRM-SIXTEEN", headers=crm.headers)
        [stored] = listed.json()["items"]
        assert stored["version"] == 17
        assert {**stored, **first, **second} == stored
        assert stored[many] in {f"Pushed {i}" for i in range(2, 16)}
