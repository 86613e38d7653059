"""Two systems writing the same record at the same moment never silently overwrite each other."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlmodel import Session

from api.auth.roles import Role
from tests import conftest
from tests.factories import make_actor, make_staff
from tests.live import live_app


@pytest.mark.skipif(
    conftest.BACKEND != "postgresql",
    reason="real concurrent writers need a server database; SQLite serialises every writer",
)
def test_concurrent_patches_with_the_same_etag_give_one_200_and_one_412() -> None:
    with live_app() as (base, engine):
        with Session(engine) as session:
            coordinator = make_actor(session, Role.coordinator, coordinator=True)
            staff = make_staff(session)
            url = f"{base}/api/v1/staff/{staff.id}"
        for attempt in range(5):  # several rounds, so both orders of arrival are exercised
            etag = httpx.get(url, headers=coordinator.headers).headers["etag"]
            barrier = threading.Barrier(2)
            results: list[int] = []

            def patch(
                title: str,
                etag: str = etag,
                barrier: threading.Barrier = barrier,
                results: list[int] = results,
            ) -> None:
                barrier.wait()
                r = httpx.patch(
                    url,
                    json={"job_title": title},
                    headers={**coordinator.headers, "If-Match": etag},
                    timeout=30,
                )
                results.append(r.status_code)

            threads = [threading.Thread(target=patch, args=(f"title {attempt} {i}",)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert sorted(results) == [200, 412], results
        final = httpx.get(url, headers=coordinator.headers).json()
        assert final["version"] == 6  # exactly one write per round
