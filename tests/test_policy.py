from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.factories import Actor

URL = "/api/v1/policy-settings"


def settings(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "min_group_admins": 3,
        "review_interval_days": 60,
        "risk_assessment_valid_days": 365,
        "training_valid_days": 365,
        "self_consent_min_age": 16,
        "parent_notification_days": 2,
        "official_email_domains": ["MoreMusic.org.uk", "moremusic.co.uk"],
    }
    data.update(overrides)
    return data


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
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "official_email_domains.0"
    r = client.put(URL, json=settings(min_group_admins=0), headers=coordinator.headers)
    assert r.json()["errors"][0]["field"] == "min_group_admins"
