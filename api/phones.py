"""Phone numbers are stored in one form, E.164 ("+447700900123"), read as UK numbers unless they say
otherwise, so the same number is the same text whoever typed it and however."""

from __future__ import annotations

from typing import Annotated

import phonenumbers
from pydantic import AfterValidator

REGION = "GB"


def normalise(value: str | None) -> str | None:
    """E.164 when `phonenumbers` reads a possible number; otherwise the value as sent, trimmed (a number it
    cannot read is still a detail to protect, and refusing it would lose it)."""
    if value is None:
        return None
    stripped = value.strip()
    try:
        number = phonenumbers.parse(stripped, REGION)
    except phonenumbers.NumberParseException:
        return stripped
    if not phonenumbers.is_possible_number(number):
        return stripped
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[str, AfterValidator(normalise)]
