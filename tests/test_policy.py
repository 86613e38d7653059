from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api import clock
from api.migrations import upgrade
from api.policy.clauses import clause, normalise
from api.policy.models import BOUNDS
from tests.kit.auth import Actor
from tests.kit.requests import refused_field, request_body
from tests.scratch import scratch_database, scratch_engine

URL = "/api/v1/policy-settings"
POLICY = Path(__file__).resolve().parent.parent / "api" / "policy" / "esafety-policy-v1.txt"


settings = request_body(
    {
        "min_group_admins": 3,
        "review_interval_days": 60,
        "risk_assessment_valid_days": 365,
        "training_valid_days": 365,
        "self_consent_min_age": 16,
        "parent_notification_days": 2,
        "official_email_domains": ["MoreMusic.org.uk", "moremusic.co.uk"],
    }
)


def test_defaults_until_changed(client: TestClient, coordinator: Actor) -> None:
    got = client.get(URL, headers=coordinator.headers).json()
    assert got["min_group_admins"] == 2
    assert got["self_consent_min_age"] == 18


def test_replace_then_read_back(client: TestClient, coordinator: Actor) -> None:
    r = client.put(URL, json=settings(), headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["official_email_domains"] == ["moremusic.org.uk", "moremusic.co.uk"]
    r2 = client.put(URL, json=settings(min_group_admins=4), headers=coordinator.headers)
    assert r2.json()["version"] == r.json()["version"] + 1
    assert client.get(URL, headers=coordinator.headers).json()["min_group_admins"] == 4


def test_bad_values_name_the_field(client: TestClient, coordinator: Actor) -> None:
    r = client.put(URL, json=settings(official_email_domains=["not a domain"]), headers=coordinator.headers)
    assert refused_field(r) == "official_email_domains.0"
    r = client.put(URL, json=settings(min_group_admins=0), headers=coordinator.headers)
    assert r.json()["errors"][0]["field"] == "min_group_admins"


def test_one_admin_is_refused_quoting_the_policy(client: TestClient, coordinator: Actor) -> None:
    r = client.put(URL, json=settings(min_group_admins=1), headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    [error] = r.json()["errors"]
    assert error["field"] == "min_group_admins"
    assert error["type"] == "policy_bound"
    assert (
        '"All More Music Facebook groups must have at least two current members of staff as admin officers"'
        in (error["message"])
    )
    assert client.get(URL, headers=coordinator.headers).json()["min_group_admins"] == 2


@pytest.mark.parametrize(("field", "low", "high"), [(f, b.low, b.high) for f, b in BOUNDS.items()])
def test_every_threshold_is_kept_within_the_policys_words(
    client: TestClient, coordinator: Actor, field: str, low: int, high: int
) -> None:
    text = clause(BOUNDS[field].clause_id).text
    assert text in normalise(POLICY.read_text())
    for refused in (low - 1, high + 1):
        r = client.put(URL, json=settings(**{field: refused}), headers=coordinator.headers)
        assert r.status_code == 422, (field, refused)
        [error] = r.json()["errors"]
        assert (error["field"], error["type"]) == (field, "policy_bound")
        assert f'"{text}"' in error["message"]
    for accepted in (low, high):
        r = client.put(URL, json=settings(**{field: accepted}), headers=coordinator.headers)
        assert r.status_code == 200, r.text
    # Not a number at all is still a type error, not a policy one.
    r = client.put(URL, json=settings(**{field: "many"}), headers=coordinator.headers)
    assert r.json()["errors"][0]["type"] != "policy_bound"


def test_the_spec_shows_each_bound(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["PolicySettingsUpdate"]["properties"]
    for field, bound in BOUNDS.items():
        assert (schema[field]["minimum"], schema[field]["maximum"]) == (bound.low, bound.high)


@pytest.mark.parametrize("domain", ["gmail.com", "Hotmail.co.uk"])
def test_personal_webmail_is_never_official(client: TestClient, coordinator: Actor, domain: str) -> None:
    r = client.put(
        URL, json=settings(official_email_domains=["moremusic.org.uk", domain]), headers=coordinator.headers
    )
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "official_email_domains.1"
    assert '"Using only official email accounts provided via the organization' in error["message"]


def test_the_upgrade_brings_saved_settings_back_within_the_policy() -> None:
    with scratch_database() as url:
        upgrade(url, "56d97493b4f6")
        with scratch_engine(url) as engine, engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO policy_settings (id, created_at, updated_at, version, min_group_admins, "
                    "review_interval_days, risk_assessment_valid_days, training_valid_days, "
                    "self_consent_min_age, parent_notification_days, official_email_domains) VALUES "
                    "(:id, :now, :now, 3, 1, 3000, 365, 365, 0, 60, :domains)"
                ),
                {
                    "id": uuid.uuid4().hex if conn.dialect.name == "sqlite" else uuid.uuid4(),
                    "now": clock.now(),
                    "domains": '["moremusic.org.uk"]',
                },
            )
        upgrade(url)
        with scratch_engine(url) as engine, engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT min_group_admins, review_interval_days, risk_assessment_valid_days, "
                    "training_valid_days, self_consent_min_age, parent_notification_days, version "
                    "FROM policy_settings"
                )
            ).one()
    assert tuple(row) == (2, 365, 365, 365, 13, 14, 4)
