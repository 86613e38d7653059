"""The CRM's id for a record (`external_id`): one type for a path parameter, a query filter, a body field."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

# An external id (the CRM's id for a record, in a path, a query filter or a body): what the record is matched
# on, so every character of it must be one a person can see and type. Control (Cc: tab, line feed, NUL, the
# C1 range), format (Cf: U+202E, a zero-width space), surrogate and private-use characters would make two ids
# that look alike differ (or be refused by PostgreSQL, a NUL, where SQLite stores it); U+FFFD is what an
# undecodable byte in a URL (a%FFb) becomes, so it stands for an id nobody sent; a line or paragraph
# separator breaks a line. Spaces at either end would make "CRM-1" and "CRM-1 " two records.
_EXTERNAL_ID_REFUSED = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
EXTERNAL_ID_MAX = 100


def _external_id(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if not value.strip():
        raise PydanticCustomError("blank", "Must not be blank: an external id is the CRM's id for the record")
    if value != value.strip():
        raise PydanticCustomError("external_id", "Must not begin or end with a space")
    for ch in value:
        if ch == "\ufffd" or unicodedata.category(ch) in _EXTERNAL_ID_REFUSED:
            raise PydanticCustomError(
                "external_id",
                f"Must hold only visible characters and spaces, not U+{ord(ch):04X} (a control, format or "
                "undecodable character)",
            )
    return value


EXTERNAL_ID = BeforeValidator(_external_id)
# A body field is `ExternalId | None = Field(default=None, min_length=1, max_length=EXTERNAL_ID_MAX)`; a
# path or query parameter `Annotated[str, Path(min_length=1, max_length=EXTERNAL_ID_MAX), EXTERNAL_ID]`
# (after the Path, as DIGITS_ONLY, so its bounds show in the spec). tests/test_external_ids.py checks every
# field, parameter and filter named *external_id to hold it.
ExternalId = Annotated[str, EXTERNAL_ID]
