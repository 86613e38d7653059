"""Find protected people's names, email addresses and phone numbers in a text meant for publication.

Pure: the caller passes the directory of what to look for and gets back spans of the original text, each
with the owners (opaque keys the caller chose) of the detail found there. Text and directory are read in
the same canonical form (`api.consents.canonical`), and the directory is an index built once and reused:
a text is read once, word by word, with a dictionary lookup per word, however many people there are.

Names: the words of a stored name, in order. Between two parts of a name, a stored space must meet some
separator in the text (any run of characters that are not letters or digits, except "@": spaces, line
breaks, dashes, apostrophes, commas, full stops, "_", "#", "*", a tag), while any punctuation in a stored
name (a dash, an apostrophe, a comma, a full stop, brackets, "&", "/") is optional: it meets any separator
or none ("O'Brien" is found as "O Brien" and "OBrien", "St. John" as "St John"). A name written as one word
("#EllisFairweather", "@ellisfairweather") is found when it is long enough not to be an ordinary word
(MIN_RUN_TOGETHER_LETTERS). Each stored name is also looked for as it is commonly rewritten: its last word
first ("Fairweather, Ellis" for "Ellis Fairweather", and the other way round), without a leading title
("Dr.", "Mrs" ...), without a bracketed nickname or with the nickname for the word before it ("Ellis
(Elle) Fairweather" is also "Ellis Fairweather" and "Elle Fairweather"), without middle names, and each of
two people stored under one surname ("Joanne & Paul Fairbrook"). A name is never found inside a
longer word ("Sam Lee" is not in "Sam Leeds" nor in "Sam Lee-Jones"); a possessive ("Sam Lee's") is still
the name. A name of one part is looked for only when it has MIN_SINGLE_NAME_LETTERS letters and is not a
word for a relative ("Mum", "Dad", "Jo", "Bo" would flag every occurrence of an ordinary word).

Email addresses: the whole address, in canonical form (case-folded, invisible characters dropped), also
written "%40", "[at]", "(at)", " at ", " @ " for "@" and "[dot]", "(dot)", " dot " for ".", and with or
without a "+tag" ("a.b+kids@x.org" is found as "a.b@x.org").

Phone numbers: by their digits, with any separators (spaces, dots, slashes, dashes, brackets, commas,
semicolons, colons, "_", "%20") between digit groups. A UK number is found written nationally
("07700 900123") or internationally ("+44 7700 900123", "0044 ...", "44 7700 ...", "+44 (0)7700 ...");
another country's only internationally, with or without "+" or "00".
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from api.consents.canonical import Folded, ReadAs, read
from api.consents.publication_keys import (
    ATOM,
    DIGITS,
    EMAIL,
    MAX_NAME_PARTS,
    MIN_PHONE_DIGITS,
    Detail,
    Entry,
    Match,
    email_key,
    name_keys,
    phone_key,
)

# No phone number, however written, has more digits than this (E.164 allows 15, plus "00" or a trunk 0).
MAX_PHONE_DIGITS = 17
# A name written as one word ("#EllisFairweather") shorter than this may be an ordinary word ("Al Bert").
MIN_RUN_TOGETHER_LETTERS = 8
# Text between two words that may stand between two parts of one name: anything but an "@" (an email's
# parts are not a name) or a break between two pieces of text.
_SOFT_GAP = re.compile(r"[^a-z0-9@\x00]+")
# Two words joined into one: a dash, an apostrophe, or Markdown's marks inside a word ("Fair**weather**",
# "Fair\\-weather", "ellis_fairweather"), and nothing else.
_JOINERS = "'-*_~`\\"
_JOINER = re.compile(f"[{re.escape(_JOINERS)}]+")
# An address with "@" or "." spelt out ("a [at] b dot org", "a%40b.org" in a mailto link).
_AT = r"(?:@|%40|\s*[\[(]\s*at\s*[\])]\s*|\s+at\s+|\s+@\s+)"
_DOT = r"(?:\.|\s*[\[(]\s*dot\s*[\])]\s*|\s+dot\s+)"
_SPELT_EMAIL = re.compile(
    rf"(?<![a-z0-9._%+'-])(?P<local>[a-z0-9._+'-]+){_AT}(?P<domain>[a-z0-9-]+(?:{_DOT}[a-z0-9-]+)+)(?![a-z0-9])"
)
_SPELT_DOT = re.compile(_DOT)
_AT_ANCHOR = re.compile(r"@|%40|\s*[\[(]\s*at\s*[\])]|\s+at\s|\s+@")
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._+'-")
# Digits with up to four separators between any two of them; "+" only in front. For counting shapes.
_PHONE_RUN = re.compile(r"(?<![a-z0-9+])\+?[0-9](?:[ ./()\-]{0,4}[0-9])*")
# For finding stored numbers, more separators: "," ";" ":" "_" "[]", "%20" (a space in a tel: link), six.
_PHONE_LOOKUP_RUN = re.compile(r"(?<![a-z0-9+])\+?[0-9](?:(?:[ ./()\[\]\-,;:_]|%20){0,6}[0-9])*")
_DIGIT_GROUPS = re.compile(r"%20|[0-9]+")


@dataclass(frozen=True, slots=True)
class _Name:
    required: frozenset[int]  # offsets in the key where the text must have a separator
    optional: frozenset[int]  # offsets where it may have one
    owners: frozenset[Hashable]


class Directory:
    """The index of every detail to look for, built once (`find` only reads it)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        names: dict[tuple[str, frozenset[int], frozenset[int]], set[Hashable]] = defaultdict(set)
        emails: dict[str, set[Hashable]] = defaultdict(set)
        phones: dict[tuple[str, str], set[Hashable]] = defaultdict(set)
        for entry in entries:
            if entry.kind == "name":
                for name in name_keys(entry.value):
                    names[name].add(entry.owner)
            elif entry.kind == "email":
                email = email_key(entry.value)
                if email is not None:
                    emails[email].add(entry.owner)
                    local, _, domain = email.rpartition("@")
                    if "+" in local:  # "a.b+kids@x.org" is the address "a.b@x.org" too
                        emails[f"{local.partition('+')[0]}@{domain}"].add(entry.owner)
            else:
                phone = phone_key(entry.value)
                if phone is not None:
                    phones[phone].add(entry.owner)
        self.names: dict[str, list[_Name]] = defaultdict(list)
        # Sorted, so whether some key begins with a text's first words is one binary search: a word that
        # begins none stops there, so most words cost that and one lookup.
        # What a text word followed by a space must be to begin a name: a whole name, or a name cut where it
        # may be cut. Most words are neither, and cost one set lookup.
        self.first_words: set[str] = set()
        # Each spelling's first part: how many of a text's words could begin a name (`name_starts`).
        self.first_parts: set[str] = set()
        for (key, required, optional), owners in names.items():
            self.names[key].append(_Name(required, optional, frozenset(owners)))
            self.first_words.add(key)
            self.first_words.update(key[:cut] for cut in required | optional)
            self.first_parts.add(key[: min(required | optional, default=len(key))])
        self.name_keys = sorted(self.names)
        self.emails = {k: frozenset(v) for k, v in emails.items()}
        self.phones = {k: frozenset(v) for k, v in phones.items()}
        self.size = len(names) + len(emails) + len(phones)

    def find(self, folded: Folded) -> list[Match]:
        """Every detail found, in order of position in the original text."""
        matches = self._names(folded) + self._emails(folded) + self._phones(folded)
        matches.sort(key=lambda m: (m.start, -m.end))
        return _distinct(matches)

    def name_starts(self, folded: Folded) -> int:
        """How many of the text's words are the first part of some protected name (however spelt): a text
        made of many is a list of names to try, not a text meant for publication."""
        first_parts = self.first_parts
        return sum(1 for atom in ATOM.findall(folded.text) if atom in first_parts)

    def _names(self, folded: Folded) -> list[Match]:
        text = folded.text
        atoms = [(a.start(), a.end()) for a in ATOM.finditer(text)]
        found: list[Match] = []
        first_words = self.first_words
        i = 0
        while i < len(atoms):
            start, end = atoms[i]
            if text[start:end] not in first_words and text[end : end + 1] not in _JOINERS:
                i += 1  # neither a name's first part nor joined by a dash or apostrophe to the next word
                continue
            matched = self._name_at(text, atoms, i)
            if matched is None:
                i += 1
                continue
            j, owners = matched
            found.append(Match(folded.starts[atoms[i][0]], folded.ends[atoms[j][1] - 1], "name", owners))
            i = j + 1
        return found

    def _name_at(
        self, text: str, atoms: list[tuple[int, int]], i: int
    ) -> tuple[int, frozenset[Hashable]] | None:
        """The longest name starting at word i: the index of its last word and its owners."""
        if i and _joined(text[atoms[i - 1][1] : atoms[i][0]]):
            return None  # the end of a longer word ("Jo-Sam Lee" is not "Sam Lee")
        key = text[atoms[i][0] : atoms[i][1]]
        spaced: set[int] = set()  # where the text has a space between two parts
        joined: set[int] = set()  # where it has only a dash or an apostrophe, optional either side
        candidates: list[tuple[int, frozenset[Hashable]]] = []
        j = i
        while True:
            # The whole name written as one word ("#EllisFairweather"), when it is long enough.
            one_word = j == i and len(key) >= MIN_RUN_TOGETHER_LETTERS
            for name in self.names.get(key, ()):
                if (
                    (one_word or name.required <= spaced | joined)
                    and spaced <= name.required | name.optional
                    and _ends_word(text, atoms, j)
                ):
                    candidates.append((j, name.owners))
            if j + 1 >= len(atoms) or j + 1 - i >= MAX_NAME_PARTS or not self._begins_a_name(key):
                break
            gap = text[atoms[j][1] : atoms[j + 1][0]]
            if not _SOFT_GAP.fullmatch(gap):
                break
            (joined if _joined(gap) else spaced).add(len(key))
            j += 1
            key += text[atoms[j][0] : atoms[j][1]]
        if not candidates:
            return None
        last = max(c[0] for c in candidates)
        owners = frozenset().union(*(o for k, o in candidates if k == last))
        return last, owners

    def _begins_a_name(self, prefix: str) -> bool:
        at = bisect.bisect_right(self.name_keys, prefix)
        return at < len(self.name_keys) and self.name_keys[at].startswith(prefix)

    def _emails(self, folded: Folded) -> list[Match]:
        found = []
        text = folded.text
        after = 0
        # From each "@" (or spelt "at"), back over at most 64 characters of local part (RFC 5321's limit):
        # reading every word as the start of an address cost more than the rest of the text together.
        for anchor in _AT_ANCHOR.finditer(text):
            at = anchor.start()
            if at < after:
                continue
            start, stop = at, max(after, at - 64)
            while start > stop and text[start - 1] in _LOCAL_CHARS:
                start -= 1
            email = _SPELT_EMAIL.match(text, start) if start < at else None
            if email is None:
                continue
            after = email.end()
            domain = _SPELT_DOT.sub(".", email.group("domain"))
            hit = self._email_owners(email.group("local"), domain)
            if hit is not None:
                length, owners = hit
                # The address as written ends where the domain's first `length` characters were written.
                end = email.start("domain") + _written_length(email.group("domain"), length)
                found.append(Match(folded.starts[email.start()], folded.ends[end - 1], "email", owners))
        return found

    def _email_owners(self, local: str, domain: str) -> tuple[int, frozenset[Hashable]] | None:
        """Whose address local@domain is, with or without a "+tag", or local@ a shorter domain where a dash
        may have been punctuation after it ("a@b.org-she", an em dash folded): (domain length, owners)."""
        locals_ = (local, local.partition("+")[0]) if "+" in local else (local,)
        cut = len(domain)
        while cut > 0:
            for name in locals_:
                owners = self.emails.get(f"{name}@{domain[:cut]}")
                if owners:
                    return cut, owners
            cut = domain.rfind("-", 0, cut)
        return None

    def _phones(self, folded: Folded) -> list[Match]:
        found: list[Match] = []
        for run in _PHONE_LOOKUP_RUN.finditer(folded.text):
            found.extend(self._phones_in(folded, run))
        return found

    def _phones_in(self, folded: Folded, run: re.Match[str]) -> list[Match]:
        groups = [g for g in _DIGIT_GROUPS.finditer(run.group()) if g.group() != "%20"]
        digits = "".join(g.group() for g in groups)
        # For each digit, where it is in the canonical text; each group's first digit and its end.
        where: list[int] = []
        starts: list[int] = []
        ends: list[int] = []  # ascending
        for group in groups:
            starts.append(len(where))
            where.extend(range(run.start() + group.start(), run.start() + group.end()))
            ends.append(len(where))
        plus = run.group().startswith("+")
        found: list[Match] = []
        skip_to = 0
        for index, g in enumerate(starts):
            if g < skip_to:
                continue
            hit = self._phone_at(digits, g, ends, plus and index == 0)
            if hit is None:
                continue
            end, owners = hit
            first = run.start() if plus and index == 0 else where[g]
            found.append(Match(folded.starts[first], folded.ends[where[end - 1]], "phone", owners))
            skip_to = end
        return found

    def _phone_at(
        self, digits: str, g: int, ends: list[int], plus: bool
    ) -> tuple[int, frozenset[Hashable]] | None:
        """A stored number written from digit g, ending where a digit group ends: (its end, its owners)."""
        tries: list[tuple[str, int]] = []  # (which index, where the number proper starts)
        if plus or digits.startswith("00", g):
            at = g if plus else g + 2
            tries.append(("intl", at))
            if digits.startswith("44", at):
                tries.append(("gb", at + 2))
                if digits.startswith("0", at + 2):  # "+44 (0)7700 ..."
                    tries.append(("gb", at + 3))
        elif digits.startswith("0", g):
            tries.append(("gb", g + 1))
        else:  # a country code without "+" or "00": "44 7700 900123", "33 1 23 45 67 89"
            tries.append(("intl", g))
            if digits.startswith("44", g):
                tries.append(("gb", g + 2))
                if digits.startswith("0", g + 2):
                    tries.append(("gb", g + 3))
        for index, at in tries:
            # Only the group ends a number starting at `at` could reach: a run of digit groups may be long
            # (a list of numbers separated by spaces is one run), and looking at all of them from every
            # start would be quadratic.
            k = bisect.bisect_right(ends, at)
            while k < len(ends) and ends[k] <= at + MAX_PHONE_DIGITS:
                owners = self.phones.get((index, digits[at : ends[k]]))
                if owners:
                    return ends[k], owners
                k += 1
        return None


def _written_length(written: str, length: int) -> int:
    """How much of a domain as written (dots perhaps spelt out) makes its first `length` canonical
    characters."""
    seen = 0
    position = 0
    for dot in _SPELT_DOT.finditer(written):
        label = dot.start() - position
        if seen + label >= length:
            return position + (length - seen)
        seen += label + 1
        position = dot.end()
        if seen >= length:
            return position
    return position + (length - seen)


def _distinct(matches: list[Match]) -> list[Match]:
    """One match per detail found: a text read both as HTML and as plain text finds most details twice, and
    one reading may find a detail inside a longer one the other found (sorted by start, longest first)."""
    kept: list[Match] = []
    reach: dict[Detail, Match] = {}  # of each kind, the kept match reaching furthest
    for match in matches:
        wider = reach.get(match.kind)
        if wider is not None and match.end <= wider.end and match.owners <= wider.owners:
            continue
        kept.append(match)
        if wider is None or match.end > wider.end:
            reach[match.kind] = match
    return kept


def _joined(gap: str) -> bool:
    """Two words joined into one by a dash or an apostrophe, with no space."""
    return _JOINER.fullmatch(gap) is not None


def _ends_word(text: str, atoms: list[tuple[int, int]], j: int) -> bool:
    """Word j is not continued by a dash or apostrophe and another word, unless that word is a possessive
    "s" ("Sam Lee's" is Sam Lee; "Sam Lee-Jones" is someone else)."""
    if j + 1 >= len(atoms):
        return True
    gap = text[atoms[j][1] : atoms[j + 1][0]]
    if not _joined(gap):
        return True
    return gap == "'" and text[atoms[j + 1][0] : atoms[j + 1][1]] == "s"


def shapes(folded: Folded) -> int:
    """How many phone-number- and email-shaped strings the text holds, found or not (a request made of many
    is someone testing numbers, not a text meant for publication)."""
    count = len(EMAIL.findall(folded.text))
    for run in _PHONE_RUN.finditer(folded.text):
        groups = DIGITS.findall(run.group())
        plus = run.group().startswith("+")
        i = 0
        while i < len(groups):
            if not ((plus and i == 0) or groups[i].startswith("0")):
                i += 1
                continue
            # "+" and a country code: a full number may be as short as MIN_PHONE_DIGITS ("+376 310001").
            need = MIN_PHONE_DIGITS if plus and i == 0 else 10
            total, j = 0, i
            while j < len(groups) and total < need:
                total += len(groups[j])
                j += 1
            if need <= total <= MAX_PHONE_DIGITS:
                count += 1
                i = j
            else:
                i += 1
    return count


def find(text: str, entries: Iterable[Entry], content_type: ReadAs | None = None) -> list[Match]:
    """`Directory(entries).find(read(text))`: for a one-off check and for tests."""
    return Directory(entries).find(read(text, content_type))
