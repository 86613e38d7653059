"""Standard Webhooks signatures: HMAC-SHA256 over "{id}.{timestamp}.{body}" with the endpoint's secret.

While a rotated secret overlaps the new one, a delivery carries one signature per secret in
`webhook-signature`, separated by spaces, as the Standard Webhooks specification allows ("multiple
signatures ... delimited by a space"), so a receiver holding either secret verifies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random
from collections.abc import Sequence

PREFIX = "whsec_"


def new_secret() -> str:
    """A new signing secret: `whsec_` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(random.token_bytes(32)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """One signature: "v1," and the base64 HMAC."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The Standard Webhooks headers, `webhook-signature` holding a signature for each of `secrets` (the
    current one first), space-separated."""
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
    }
