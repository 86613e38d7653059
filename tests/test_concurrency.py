"""Two systems writing the same record at the same moment never silently overwrite each other."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from sqlmodel import Session

from api.auth.roles import Role
from tests import conftest
from tests.factories import make_actor, make_group, make_staff
from tests.live import live_app

pytestmark = pytest.mark.skipif(
    conftest.BACKEND != "postgresql",
    reason="real concurrent writers need a server database; SQLite serialises every writer",
)


def race(
    url: str, headers: dict[str, str], body: Callable[[int, int], dict[str, str]], rounds: int = 5
) -> None:
    """Each round, two PATCHes sent at the same moment with the ETag just read: one 200 and one 412."""
    for attempt in range(rounds):  # several rounds, so both orders of arrival are exercised
        etag = httpx.get(url, headers=headers).headers["etag"]
        barrier = threading.Barrier(2)
        results: list[int] = []

        def patch(
            i: int,
            attempt: int = attempt,
            etag: str = etag,
            barrier: threading.Barrier = barrier,
            results: list[int] = results,
        ) -> None:
            barrier.wait()
            r = httpx.patch(url, json=body(attempt, i), headers={**headers, "If-Match": etag}, timeout=30)
            results.append(r.status_code)

        threads = [threading.Thread(target=patch, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 412], results


def test_concurrent_patches_with_the_same_etag_give_one_200_and_one_412() -> None:
    with live_app() as (base, engine):
        with Session(engine) as session:
            coordinator = make_actor(session, Role.coordinator, coordinator=True)
            staff = make_staff(session)
            url = f"{base}/api/v1/staff/{staff.id}"
        race(url, coordinator.headers, lambda attempt, i: {"job_title": f"title {attempt} {i}"})
        final = httpx.get(url, headers=coordinator.headers).json()
        assert final["version"] == 6  # exactly one write per round


def test_concurrent_group_patches_agree_with_the_row_lock() -> None:
    """Groups are changed under a row lock: the writer that waited for it sees the version the first one
    left, so its stale ETag is a 412 rather than a second write."""
    with live_app() as (base, engine):
        with Session(engine) as session:
            coordinator = make_actor(session, Role.coordinator, coordinator=True)
            group = make_group(session)
            url = f"{base}/api/v1/groups/{group.id}"
        race(url, coordinator.headers, lambda attempt, i: {"project": f"project {attempt} {i}"})
        final = httpx.get(url, headers=coordinator.headers)
        assert final.json()["version"] == 6  # exactly one write per round
        assert final.headers["etag"] == '"6"'
