"""Platform identities in the one form they are compared in (a *match key*), so the same person is found
however the handle, address or number was typed or exported.

- Email addresses and handles: trimmed, a leading "@" dropped, formatting characters (zero-width spaces,
  direction marks that copying from a web page brings along) dropped, then Unicode NFKC and full case
  folding, so "ＺＯË.Ng@Example.org" and "zoë.ng@example.org" are one key. Nothing is transliterated: a
  certain match must not be won by a look-alike, and "zoë@" and "zoe@" are two mailboxes, as are
  "maya@example.org" and the same with a Cyrillic "a" (U+0430) in the domain (an internationalised domain
  anyone may register). Names, which only ever give a *probable* match, are folded as the publication
  guard folds them (`api.consents.canonical.fold`, transliteration included).
- Phone numbers: E.164 read as UK numbers (the `phonenumbers` library), so "07700 900123" and
  "+44 7700 900123" are one key. Only a number that can be a whole number (valid, or of a possible length
  for a fixed line or mobile: `possible_phone`) has a key: "+", "++++", "+44 7700 900" (too short) or 25
  digits name nobody, and two such values must never match each other.
- Profile URLs: scheme, "www."/"m." and tracking queries dropped, and for the platforms the service knows
  the part that names the person kept (facebook.com/profile.php?id=N gives N, facebook.com/name and
  instagram.com/name give the name, discord.com/users/N gives N), so a profile URL and the bare handle
  match each other. Other URLs keep host and path.
- Nothing to match on: a value whose key would be empty, only a host ("facebook.com/"), or one of a
  platform's generic pages without the part naming a person ("facebook.com/profile.php" with no id,
  "facebook.com/people", "instagram.com/explore") has no key (None): everyone who pasted such a link would
  otherwise match each other. Query parameter names are read without regard to case (`?ID=` is `?id=`).
  `usable(kind, key)` says whether a key stored under older rules is one these rules still give.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlsplit

import phonenumbers

from api import phones
from api.consents.canonical import fold, fold_char
from api.described import DescribedEnum


class IdentityKind(DescribedEnum):
    """What kind of identifier a platform identity is.

    - handle: a user name, user id or profile URL on one platform.
    - email: an email address (compared case-insensitively).
    - phone: a phone number (compared as E.164)."""

    handle = "handle"  # a user name, user id or profile URL on one platform
    email = "email"
    phone = "phone"


_NAME_ATOMS = re.compile(r"[a-z0-9]+")
_URL_START = re.compile(r"^(?:https?://|www\.|m\.)|^[a-z0-9.-]+\.(?:com|org|net|gg|uk)/", re.IGNORECASE)
_HOST_PREFIXES = ("www.", "m.", "mobile.", "web.", "mbasic.")
_FACEBOOK = frozenset({"facebook.com", "fb.com"})
_INSTAGRAM = frozenset({"instagram.com"})
_DISCORD = frozenset({"discord.com", "discordapp.com"})
# A platform's own pages, which name no person without an id after them (a first path segment).
_FACEBOOK_PAGES = frozenset(
    {
        "profile.php",
        "people",
        "pages",
        "groups",
        "pg",
        "events",
        "watch",
        "marketplace",
        "friends",
        "messages",
        "photo.php",
        "permalink.php",
        "story.php",
        "share",
        "sharer.php",
        "login",
        "login.php",
        "home.php",
        "search",
        "settings",
        "help",
        "hashtag",
        "gaming",
        "reel",
        "photos",
        "videos",
        "notes",
    }
)
_INSTAGRAM_PAGES = frozenset(
    {"p", "reel", "reels", "tv", "stories", "explore", "accounts", "direct", "about", "developer", "legal"}
)
_DISCORD_PAGES = frozenset({"users", "channels", "invite", "app", "login", "register", "servers"})
# Keys that are a platform's own name, never a person's handle, however they were typed.
_HOSTS = _FACEBOOK | _INSTAGRAM | _DISCORD | frozenset({"discord.gg", "whatsapp.com", "wa.me"})
_PHONE_TYPES = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)


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


def possible_phone(number: phonenumbers.PhoneNumber) -> bool:
    """Whether `number` can be someone's whole number: valid, or of a length a fixed line or mobile of its
    country may have (a number in a range kept for drama, 07700 900xxx, is not valid but is possible;
    "+44 7700 900" is only a local number's length, and is not)."""
    if phonenumbers.is_valid_number(number):
        return True
    return any(
        phonenumbers.is_possible_number_for_type_with_reason(number, t)
        == phonenumbers.ValidationResult.IS_POSSIBLE
        for t in _PHONE_TYPES
    )


def phone_key(value: str) -> str | None:
    """The match key of a phone number, E.164 read as a UK number unless it says otherwise; None for a
    number that cannot be one (`possible_phone`)."""
    try:
        number = phonenumbers.parse(value.strip(), phones.REGION)
    except phonenumbers.NumberParseException:
        return None
    if not possible_phone(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def url_key(value: str) -> str | None:
    """The canonical form of a profile URL, or None when it names nobody (see the module's docstring)."""
    text = value.strip()
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError:  # a malformed host or port ("https://[x", "a.com:port/")
        return None
    for prefix in _HOST_PREFIXES:
        host = host.removeprefix(prefix)
    path = parts.path.rstrip("/")
    segments = [strict_fold(s) for s in path.split("/") if s.strip()]
    if not segments:
        return None  # only a host names nobody
    first = segments[0]
    if host in _FACEBOOK:
        if first == "profile.php":
            query = {name.lower(): v for name, v in parse_qsl(parts.query) if v.strip()}
            return _person(query.get("id"))
        if first in ("people", "pages"):  # facebook.com/people/Display-Name/<id>
            return _person(segments[2] if len(segments) >= 3 else None)
        if first == "groups" and len(segments) >= 4 and segments[2] == "user":
            return _person(segments[3])  # a member's link from a group's member list
        return _person(first, _FACEBOOK_PAGES) if len(segments) == 1 else None
    if host in _INSTAGRAM:
        if first == "stories" and len(segments) >= 2:
            return _person(segments[1])
        return _person(first, _INSTAGRAM_PAGES) if len(segments) == 1 else None
    if host in _DISCORD:
        return _person(segments[1]) if first == "users" and len(segments) == 2 else None
    return _person(strict_fold(host + path))


def _person(part: str | None, pages: frozenset[str] = frozenset()) -> str | None:
    """A key that names a person: not empty, not a platform's name, nor one of its `pages`, nor a script
    ("profile.php" typed without its id)."""
    if part is None:
        return None
    folded = strict_fold(part)
    if not folded or folded in _HOSTS or folded in pages or folded.endswith(".php"):
        return None
    return folded


def handle_key(value: str) -> str | None:
    """The match key of a handle, user id or profile URL on a platform, or None for blank text."""
    text = _visible(value)
    if not text:
        return None
    if _URL_START.search(text):
        return url_key(text)
    return _person(strict_fold(text).removeprefix("@"))


def key(kind: IdentityKind, value: str) -> str | None:
    """The match key of one identity of `kind`."""
    if kind is IdentityKind.email:
        return email_key(value)
    if kind is IdentityKind.phone:
        return phone_key(value)
    return handle_key(value)


def usable(kind: IdentityKind | str, stored: str) -> bool:
    """Whether a match key stored earlier is one these rules give (every key is its own key): one from
    before them ("profile.php", "facebook.com", a phone number's bare digits) matches nobody."""
    return key(IdentityKind(kind), stored) == stored


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
