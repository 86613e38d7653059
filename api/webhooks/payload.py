"""What a webhook may carry: ids, enums, dates and counts. Never a name, an address or free text.

Deliveries leave the service for systems we do not control and are kept in their logs, so a payload is
checked by type before it is stored: a plain string (which is where a name would hide) is refused.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

from api import crud

Scalar = uuid.UUID | Enum | date | int | None
Payload = Mapping[str, Any]


class UnsafePayload(ValueError):
    pass


def check(data: Payload, path: str = "data") -> None:
    """Raise UnsafePayload unless every value is an id, an enum member, a date or a count."""
    for key, value in data.items():
        _check_value(value, f"{path}.{key}")


def _check_value(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        check(value, where)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]")
    # bool is an int in Python, and a float is no count: both refused, as is every plain str.
    elif isinstance(value, bool) or not isinstance(value, uuid.UUID | Enum | date | int | None):
        raise UnsafePayload(f"{where}: a webhook payload holds only ids, enums, dates and counts")


def render(event_type: Enum, occurred_at: datetime, data: Payload) -> str:
    """The body sent: the Standard Webhooks envelope (type, timestamp, data) as compact JSON."""
    check(data)
    envelope = {"type": event_type.value, "timestamp": occurred_at.isoformat(), "data": crud.plain(data)}
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True)
