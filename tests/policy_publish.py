"""Publishing a policy version in tests the way a coordinator does: preview, then confirm what it lists."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

VERSIONS = "/api/v1/policy/versions"


def publish_confirmed(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Response:
    """Preview `body`, then publish it with the preview's token, confirming every rule it stops, every
    enforced clause it rewords and every enforced clause it removes (the answer of the publish; a preview
    refused is answered as it stands)."""
    preview: Response = client.post(f"{VERSIONS}/preview", json=body, headers=headers)
    if preview.status_code != 200:
        return preview
    p = preview.json()
    confirmed = body | {
        "confirm_rules_stopped": [r["rule_id"] for r in p["rules_stopped"]],
        "confirm_reworded": [c["clause_id"] for c in p["reworded"]],
        "confirm_removed": [c["clause_id"] for c in p["enforced_removed"]],
        "preview_token": p["token"],
    }
    published: Response = client.post(VERSIONS, json=confirmed, headers=headers)
    return published
