"""An ordinary change of a record by its id without If-Match (PATCH, or a verb) reads the record, then writes
it with a compare-and-set on its version: on PostgreSQL, of several sent at once all but the first lost the
compare and answered 409 for a change that clashed with nothing (found last session on `PATCH /staff/{id}`).
Each such change now re-reads the row under its lock (api/records.py, `Records.change`), as the CRM's pushes
do (`crud.locked`): many at once, each changing another field, all answer 200 and all are kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from api.auth.roles import Role
from api.policy.models import PolicySettingsUpdate
from tests.kit.auth import make_actor, make_api_key
from tests.kit.clock import TODAY
from tests.kit.participants import make_participant
from tests.kit.servers import live_app
from tests.kit.staff import make_staff
from tests.test_concurrency import together

STAFF_FIELDS: list[tuple[str, Any]] = [
    ("full_name", "Renamed Person"),
    ("job_title", "Music leader"),
    ("email", "moved@moremusic.org.uk"),
    ("employment_type", "sessional"),
    ("uses_social_media_for_work", True),
    ("code_of_conduct_signed_on", str(TODAY - timedelta(days=3))),
    ("esafety_training_completed_on", str(TODAY - timedelta(days=2))),
    ("started_on", str(TODAY - timedelta(days=500))),
]
PARTICIPANT_FIELDS: list[tuple[str, Any]] = [
    ("full_name", "Renamed Child"),
    ("carer_name", "A Carer"),
    ("carer_email", "carer@example.org"),
    ("carer_phone", "+447700900111"),
    ("personal_email", "child@example.org"),
    ("is_vulnerable_adult", True),
    ("joined_on", str(TODAY - timedelta(days=210))),
    ("date_of_birth", str(TODAY - timedelta(days=16 * 365))),
]
Make = Callable[[Session], Any]
KINDS: dict[str, tuple[str, Make, list[tuple[str, Any]]]] = {
    "staff": ("staff", make_staff, STAFF_FIELDS),
    "participants": ("participants", make_participant, PARTICIPANT_FIELDS),
}


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_patches_of_different_fields_all_land(kind: str) -> None:
    collection, make, fields = KINDS[kind]
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            key = make_api_key(session)
            record = make(session)
        url = f"{base}/api/v1/{collection}/{record.id}"

        def patch(i: int) -> httpx.Response:
            name, value = fields[i]
            return httpx.patch(url, json={name: value}, headers=key.headers, timeout=60)

        answers = together(len(fields), patch)
        assert [r.status_code for r in answers] == [200] * len(fields), [
            (r.status_code, r.text[:200]) for r in answers if r.status_code != 200
        ]
        stored = httpx.get(url, headers=key.headers).json()
        assert {name: stored[name] for name, _ in fields} == dict(fields)
        assert stored["version"] == record.version + len(fields)


def test_concurrent_replacements_of_the_policy_settings_all_land() -> None:
    """`PUT /policy-settings` without If-Match read the settings without a lock, as the PATCHes did."""
    with live_app() as (base, engine):
        with Session(engine, expire_on_commit=False) as session:
            admin = make_actor(session, Role.coordinator, coordinator=True)
        url = f"{base}/api/v1/policy-settings"
        settings = httpx.get(url, headers=admin.headers).json()
        body = {k: settings[k] for k in PolicySettingsUpdate.model_fields}
        assert httpx.put(url, json=body, headers=admin.headers).status_code == 200

        def put(i: int) -> httpx.Response:
            return httpx.put(
                url, json={**body, "review_interval_days": 30 + i}, headers=admin.headers, timeout=60
            )

        answers = together(8, put)
        assert [r.status_code for r in answers] == [200] * 8, [r.text[:200] for r in answers]
        stored = httpx.get(url, headers=admin.headers).json()
        assert stored["version"] == 2 + 8
        assert stored["review_interval_days"] in range(30, 38)
