"""Platform identities in the one form they are compared in (a *match key*), so the same person is found
however the handle, address or number was typed or exported.

- Email addresses and handles: trimmed, a leading "@" dropped, formatting characters (zero-width spaces,
  direction marks that copying from a web page brings along) dropped, then Unicode NFKC and full case
  folding, so "ＺＯË.Ng@Example.org" and "zoë.ng@example.org" are one key. Nothing is transliterated: a
  certain match must not be won by a look-alike, and "zoë@" and "zoe@" are two mailboxes, as are
  "maya@example.org" and the same with a Cyrillic "a" (U+0430) in the domain (an internationalised domain
  anyone may register). Names, which only ever give a *probable* match, are folded as the publication
  guard folds them (`api.consents.canonical.fold`, transliteration included).
- Phone numbers: E.164 read as UK numbers (`api.phones.normalise`, the `phonenumbers` library), so
  "07700 900123" and "+44 7700 900123" are one key; a number it cannot read keeps its digits only.
- Profile URLs: scheme, "www."/"m." and tracking queries dropped, and for the platforms the service knows
  the part that names the person kept (facebook.com/profile.php?id=N gives N, facebook.com/name and
  instagram.com/name give the name, discord.com/users/N gives N), so a profile URL and the bare handle
  match each other. Other URLs keep host and path.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from urllib.parse import parse_qs, urlsplit

from api import phones
from api.consents.canonical import fold, fold_char


class IdentityKind(StrEnum):
    handle = "handle"  # a user name, user id or profile URL on one platform
    email = "email"
    phone = "phone"


_NAME_ATOMS = re.compile(r"[a-z0-9]+")
_URL_START = re.compile(r"^(?:https?://|www\.|m\.)|^[a-z0-9.-]+\.(?:com|org|net|gg|uk)/", re.IGNORECASE)
_HOST_PREFIXES = ("www.", "m.", "mobile.", "web.", "mbasic.")
_FACEBOOK = frozenset({"facebook.com", "fb.com"})


def _visible(text: str) -> str:
    """The text without formatting characters (Unicode category Cf), trimmed."""
    if text.isascii():
        return text.strip()
    return "".join(c for c in text if unicodedata.category(c) != "Cf").strip()


def strict_fold(text: str) -> str:
    """Case and width folded, formatting characters dropped; letters otherwise kept as they are."""
    text = _visible(text)
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold()).strip()


def email_key(value: str) -> str | None:
    """The match key of an email address, or None for text with no "@" in it."""
    key = strict_fold(value.strip())
    return key if "@" in key.strip("@") else None


def phone_key(value: str) -> str | None:
    """The match key of a phone number (E.164 when readable), or None for text with no digits."""
    normalised = phones.normalise(value)
    if normalised is None:
        return None
    if normalised.startswith("+"):
        return normalised
    digits = "".join(c for c in normalised if c.isdigit())
    return digits or None


def url_key(value: str) -> str:
    """The canonical form of a profile URL (see the module's docstring)."""
    text = value.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    for prefix in _HOST_PREFIXES:
        host = host.removeprefix(prefix)
    path = parts.path.rstrip("/")
    segments = [s for s in path.split("/") if s]
    if host in _FACEBOOK:
        if segments[:1] == ["profile.php"]:
            ids = parse_qs(parts.query).get("id")
            if ids:
                return strict_fold(ids[0])
        if segments[:1] == ["people"] and len(segments) >= 3:
            return strict_fold(segments[2])  # facebook.com/people/Display-Name/<id>
        if len(segments) == 1:
            return strict_fold(segments[0])
    if host == "instagram.com" and len(segments) == 1:
        return strict_fold(segments[0])
    if host in ("discord.com", "discordapp.com") and segments[:1] == ["users"] and len(segments) == 2:
        return strict_fold(segments[1])
    return strict_fold(host + path)


def handle_key(value: str) -> str | None:
    """The match key of a handle, user id or profile URL on a platform, or None for blank text."""
    text = _visible(value)
    if not text:
        return None
    if _URL_START.search(text):
        return url_key(text) or None
    return strict_fold(strict_fold(text).removeprefix("@")) or None


def key(kind: IdentityKind, value: str) -> str | None:
    """The match key of one identity of `kind`."""
    if kind is IdentityKind.email:
        return email_key(value)
    if kind is IdentityKind.phone:
        return phone_key(value)
    return handle_key(value)


def name_key(value: str) -> str | None:
    """A person's name for a *probable* match: folded, its words sorted ("Okafor, Maya" is "Maya Okafor").
    Names are never enough for a certain match: two children may share one. Composed first (NFC): folding
    goes a character at a time, and a letter sent decomposed (as macOS copies text) may transliterate
    otherwise than its composed form (Cyrillic "й" is "y", but "и" and a combining breve are "i")."""
    if value.isascii():
        return _atoms(fold(value))
    # fold() a character at a time, but in C: str.translate asks the table once per character it has not met.
    return _atoms(unicodedata.normalize("NFC", value).translate(_FOLDED))


class _FoldTable(dict[int, str]):
    """`fold_char` for each character, remembered: `text.translate(_FOLDED) == fold(text)`."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        if len(self) < _FOLD_TABLE_SIZE:  # bounded: a list of rare characters must not grow it for ever
            self[code] = folded
        return folded


_FOLD_TABLE_SIZE = 65_536


_FOLDED = _FoldTable()


def _atoms(folded: str) -> str | None:
    atoms = _NAME_ATOMS.findall(folded)
    return " ".join(sorted(atoms)) if atoms else None
