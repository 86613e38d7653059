"""The publication check's keys: how a protected person's stored name, email address and phone number
are looked for (in canonical form, api/consents/canonical.py), what the index holds (`Entry`) and what a
search finds (`Match`). The rules are in api/consents/publication.py."""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Annotated, Literal

import phonenumbers

from api.consents.canonical import fold
from api.described import Values

Detail = Annotated[
    Literal["name", "email", "phone"],
    Values(
        "Which kind of personal detail was found in a text for publication.",
        {
            "name": "A protected person's name, in any of its spellings.",
            "email": "An email address of a protected person.",
            "phone": "A phone number of a protected person (compared as E.164).",
        },
    ),
]

# A stored phone number shorter than this would match too much ordinary text to be useful.
MIN_PHONE_DIGITS = 7
# A name found from fewer letters than this would flag ordinary words ("Jo" in "Jo's").
MIN_NAME_LETTERS = 2
# A one-part name ("Mum", "Ma", "Bo") shorter than this is an ordinary word far more often than a name.
MIN_SINGLE_NAME_LETTERS = 4
# Parts of a name read at most: bounds the work per text word (a 99-part stored name would make reading a
# text of repeated first parts quadratic). A longer stored name is looked for by its first parts.
MAX_NAME_PARTS = 8
# What people call a carer or a consent giver when no name was recorded: never identifying on its own.
_RELATIVES = frozenset(
    [
        "mum",
        "mom",
        "mam",
        "mummy",
        "mommy",
        "mother",
        "dad",
        "daddy",
        "father",
        "nan",
        "nana",
        "nanna",
        "nanny",
        "gran",
        "granny",
        "grandma",
        "grandmother",
        "grandad",
        "granddad",
        "grandpa",
        "grandfather",
        "aunt",
        "auntie",
        "aunty",
        "uncle",
        "carer",
        "parent",
        "parents",
        "guardian",
        "foster",
        "sister",
        "brother",
    ]
)
_TITLE = re.compile(r"^(?:dr|mr|mrs|ms|miss|mx|prof|rev|revd|sir|dame|lady|lord)\b\.?\s*")
_BRACKETED = re.compile(r"\s*[(\[][^()\[\]]*[)\]]\s*")
_NICKNAME = re.compile(r"[a-z0-9'-]+\s*[(\[]([^()\[\]]*)[)\]]")
_WORDS = re.compile(r"[^\s,]+")
_CONNECTORS = frozenset({"&", "/", "+", "and"})

ATOM = re.compile(r"[a-z0-9]+")
EMAIL = re.compile(
    r"(?<![a-z0-9._%+'-])[a-z0-9._%+'-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+(?![a-z0-9-])(?!\.[a-z0-9])"
)
DIGITS = re.compile(r"[0-9]+")
GB = 44


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing to look for, and its owner (the caller's key for whose detail it is)."""

    kind: Detail
    value: str
    owner: Hashable


@dataclass(frozen=True, slots=True)
class Match:
    """The detail at original[start:end] and everyone it belongs to (two people may share a name)."""

    start: int
    end: int
    kind: Detail
    owners: frozenset[Hashable]


def name_keys(value: str) -> list[tuple[str, frozenset[int], frozenset[int]]]:
    """Every spelling of a stored name to look for (as written, last word first, without a title or a
    bracketed nickname, with the nickname), each as `name_key` gives it."""
    folded = fold(value).strip()
    spellings = {folded, _BRACKETED.sub(" ", folded).strip(), _NICKNAME.sub(r"\1", folded)}
    for spelling in list(spellings):
        untitled = _TITLE.sub("", spelling)
        if len(_WORDS.findall(untitled)) >= 2:
            spellings.add(untitled)
    for spelling in list(spellings):
        words = _WORDS.findall(spelling)
        if len(words) >= 3:
            # Without the middle names ("Ellis James Fairweather" is "Ellis Fairweather"); two people with
            # one surname ("Joanne & Paul Fairbrook") each by their own name.
            spellings.add(f"{words[0]} {words[-1]}")
            for k, word in enumerate(words[1:-1], 1):
                if word in _CONNECTORS:
                    spellings.add(" ".join(words[k + 1 :]))
    for spelling in list(spellings):
        words = _WORDS.findall(spelling)
        if len(words) >= 2:
            spellings.add(" ".join([words[-1], *words[:-1]]))
    keys = (name_key(spelling) for spelling in sorted(spellings))
    return [key for key in keys if key is not None]


def name_key(value: str) -> tuple[str, frozenset[int], frozenset[int]] | None:
    """A stored name as its letters run together, with where separators must (a space) and may (any
    punctuation) fall; None when it is too short, or too ordinary a word, to look for."""
    folded = fold(value)
    key: list[str] = []
    required: set[int] = set()
    optional: set[int] = set()
    length = 0
    last_end: int | None = None
    for atom in itertools.islice(ATOM.finditer(folded), MAX_NAME_PARTS):
        if last_end is not None:
            gap = folded[last_end : atom.start()]
            (required if gap.isspace() else optional).add(length)
        key.append(atom.group())
        length += len(atom.group())
        last_end = atom.end()
    if len(key) == 1 and (length < MIN_SINGLE_NAME_LETTERS or key[0] in _RELATIVES):
        return None
    if length < MIN_NAME_LETTERS:
        return None
    return "".join(key), frozenset(required), frozenset(optional)


def email_key(value: str) -> str | None:
    key = fold(value.strip())
    return key if EMAIL.fullmatch(key) else None


def phone_key(value: str) -> tuple[Literal["gb", "intl"], str] | None:
    """("gb", national significant number) for a UK number, ("intl", country code + number) for another;
    None when it has too few digits. Read by `phonenumbers` (region GB); digits as written otherwise."""
    folded = fold(value)
    digits = "".join(DIGITS.findall(folded))
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    try:
        number = phonenumbers.parse(folded, "GB")
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and number.country_code and phonenumbers.is_possible_number(number):
        national = phonenumbers.national_significant_number(number)
        if number.country_code == GB:
            return "gb", national
        return "intl", f"{number.country_code}{national}"
    return "gb", digits.removeprefix("0")
