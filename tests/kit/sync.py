"""The CRM's bulk pushes (api/sync) as the compliance side sees them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.groups.models import Group
from tests.kit.auth import Actor


def assert_push_breaks_group(
    client: TestClient, caller: Actor, url: str, record: dict[str, Any], change: dict[str, Any], group: Group
) -> None:
    """Through the bulk push at `url`: `record`, as stored, answers `unchanged` and changes no group; then
    `record` with `change` answers `updated` and reports `group` going from compliant to non_compliant."""
    unchanged = client.post(url, json={"records": [record]}, headers=caller.headers).json()
    assert [r["status"] for r in unchanged["results"]] == ["unchanged"]
    assert unchanged["groups_changed"] == []
    changed = client.post(url, json={"records": [record | change]}, headers=caller.headers).json()
    assert [r["status"] for r in changed["results"]] == ["updated"]
    assert changed["groups_changed"] == [
        {"group_id": str(group.id), "before": "compliant", "after": "non_compliant"}
    ]
