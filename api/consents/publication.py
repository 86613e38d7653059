"""Find people's full names, email addresses and phone numbers in a text meant for publication.

Pure: the caller passes the directory of what to look for. Text and directory are folded the same way
(Unicode NFKD, combining marks dropped, casefold), matched with ONE regex built per call, and every match
is reported by its position in the ORIGINAL text, so a client can highlight it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

MatchKind = Literal["name", "email", "phone"]
PersonKind = Literal["participant", "staff"]

# Typographic apostrophes and hyphens are folded to ASCII, so a curly apostrophe matches a straight one.
_PUNCT = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-"})
# A phone number below this many digits would match too much ordinary text to be useful.
MIN_PHONE_DIGITS = 7
# Between the digits of a phone number people write spaces, dashes, dots and brackets.
_SEP = r"[\s().\-]*"
# "+44", "0044" or "+44 (0)" in front of a UK number, or its national trunk 0.
_UK_PREFIX = rf"(?:(?:\+|0{_SEP}0){_SEP}4{_SEP}4{_SEP}(?:0{_SEP})?|0{_SEP})"
_INTL_PREFIX = rf"(?:\+|0{_SEP}0){_SEP}"

# Never inside a longer word: "Sam Lee" is not in "Sam Leeds", nor "Neil" in "O'Neil" or "Anne-Neil";
# a possessive ("Sam Lee's") still matches.
_NAME = r"(?<!\w)(?<!\w[-'])(?:{})(?!\w)(?!-\w)"
_EMAIL = r"(?<![\w.+-])(?:{})(?![\w-])(?!\.\w)"
_PHONE = r"(?<![\d+])(?:{})(?!\d)"


@dataclass(frozen=True, slots=True)
class Entry:
    """One thing to look for: a full name, an email address or a phone number, and whose it is."""

    kind: MatchKind
    value: str
    person: PersonKind


@dataclass(frozen=True, slots=True)
class Match:
    start: int
    end: int
    kind: MatchKind
    person: PersonKind


def _fold_char(char: str) -> str:
    if char.isascii():
        return char.lower()
    out = unicodedata.normalize("NFKD", char)
    out = "".join(c for c in out if not unicodedata.combining(c)).casefold()
    # casefold can produce characters that decompose again ("ǰ", "ẞ" ...): fold once more.
    out = "".join(c for c in unicodedata.normalize("NFKD", out) if not unicodedata.combining(c))
    return out.translate(_PUNCT)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD, combining marks dropped, casefold."""
    return "".join(_fold_char(c) for c in text)


def _fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the index of the original character it came from
    (folding changes lengths: "ß" becomes "ss", "é" written as e + U+0301 becomes "e")."""
    cache: dict[str, str] = {}
    parts: list[str] = []
    owners: list[int] = []
    for i, char in enumerate(text):
        folded = cache.get(char)
        if folded is None:
            folded = cache[char] = _fold_char(char)
        parts.append(folded)
        owners.extend([i] * len(folded))
    return "".join(parts), owners


def name_key(name: str) -> str:
    return " ".join(fold(name).split())


def email_key(email: str) -> str:
    return fold(email.strip())


def phone_key(phone: str) -> str | None:
    """Digits only, with a UK number in its national form: "+44 7700 900123", "0044 7700 900123" and
    "07700 900123" are all "07700900123". Another country's number keeps its code after a "+"."""
    folded = fold(phone).strip()
    digits = "".join(c for c in folded if c in "0123456789")
    international = folded.startswith("+") or digits.startswith("00")
    if not folded.startswith("+") and digits.startswith("00"):
        digits = digits[2:]
    if international and digits.startswith("44"):
        rest = digits[2:]
        digits = "0" + (rest[1:] if rest.startswith("0") else rest)  # "+44 (0)7700" keeps one 0
    elif international:
        digits = "+" + digits
    if sum(c.isdigit() for c in digits) < MIN_PHONE_DIGITS:
        return None
    return digits


def _name_tokens(key: str) -> list[str]:
    # Any run of spaces or line breaks may stand between the parts of a name.
    tokens: list[str] = []
    for i, part in enumerate(key.split(" ")):
        if i:
            tokens.append(r"\s+")
        tokens.extend(re.escape(c) for c in part)
    return tokens


def _phone_tokens(key: str) -> list[str]:
    if key.startswith("+"):
        head, digits = _INTL_PREFIX, key[1:]
    elif key.startswith("0"):
        head, digits = _UK_PREFIX, key[1:]
    else:
        head, digits = "", key
    tokens = [head] if head else []
    for i, digit in enumerate(digits):
        if i:
            tokens.append(_SEP)
        tokens.append(digit)
    return tokens


class _Node(dict[str, "_Node"]):
    """A trie node: the next token to its subtree."""


def _trie_regex(sequences: Iterable[list[str]]) -> str:
    """One alternation for many token sequences, shared prefixes merged, so the engine tries only the
    branches that can still match (a regex per person would scan the text once per person)."""
    root = _Node()
    end = ""  # the empty token marks the end of a sequence
    for seq in sequences:
        node = root
        for token in seq:
            node = node.setdefault(token, _Node())
        node[end] = _Node()

    def render(node: _Node) -> str:
        branches = [token + render(child) for token, child in sorted(node.items()) if token != end]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # An optional tail is greedy, so the longest name wins ("Sam Lee Smith" before "Sam Lee").
        return f"(?:{body})?" if end in node else body

    return render(root)


@dataclass(frozen=True)
class _Directory:
    pattern: re.Pattern[str] | None
    owners: dict[tuple[MatchKind, str], frozenset[PersonKind]]


def _email_tokens(key: str) -> list[str]:
    return [re.escape(c) for c in key]


_KINDS: tuple[tuple[MatchKind, Callable[[str], list[str]], str], ...] = (
    ("email", _email_tokens, _EMAIL),
    ("phone", _phone_tokens, _PHONE),
    ("name", _name_tokens, _NAME),
)


def _build(entries: Iterable[Entry]) -> _Directory:
    owners: dict[tuple[MatchKind, str], set[PersonKind]] = defaultdict(set)
    for entry in entries:
        if entry.kind == "name":
            key: str | None = name_key(entry.value)
            if key is not None and sum(c.isalnum() for c in key) < 2:
                key = None  # a one-letter "name" would flag every "a" in the text
        elif entry.kind == "email":
            key = email_key(entry.value) or None
        else:
            key = phone_key(entry.value)
        if key:
            owners[(entry.kind, key)].add(entry.person)
    alternatives: list[str] = []
    for kind, tokens, template in _KINDS:
        keys = [k for (knd, k) in owners if knd == kind]
        if keys:
            trie = _trie_regex(tokens(k) for k in keys)
            alternatives.append(f"(?P<{kind}>{template.format(trie)})")
    pattern = re.compile("|".join(alternatives)) if alternatives else None
    return _Directory(pattern, {k: frozenset(v) for k, v in owners.items()})


def _key(kind: MatchKind, folded: str) -> str | None:
    if kind == "name":
        return name_key(folded)
    if kind == "email":
        return email_key(folded)
    return phone_key(folded)


def find(text: str, entries: Iterable[Entry]) -> list[Match]:
    """Every name, email and phone number of `entries` found in `text`, in order of position. A match that
    is both a participant's and a staff member's (two people with one name) is reported once for each."""
    directory = _build(entries)
    if directory.pattern is None or not text:
        return []
    folded, owners = _fold_with_offsets(text)
    matches: list[Match] = []
    for found in directory.pattern.finditer(folded):
        kind: MatchKind = found.lastgroup  # type: ignore[assignment]  # the group names are the kinds
        key = _key(kind, found.group())
        people = directory.owners.get((kind, key or ""), frozenset())
        start = owners[found.start()]
        end = owners[found.end() - 1] + 1
        # Combining marks written after the last letter ("e" + U+0301) belong to the match.
        while end < len(text) and unicodedata.combining(text[end]):
            end += 1
        matches.extend(Match(start, end, kind, person) for person in sorted(people))
    return matches
