"""The one canonical form the publication check reads both the text and the directory in.

A character is folded on its own: format characters (Unicode category Cf: soft hyphen, zero-width space
and joiners, word joiner, bidi marks) are dropped; every dash becomes "-", every apostrophe-like mark "'",
every space or line break " "; anything else is NFKC-normalised, case-folded in full and transliterated to
ASCII by `anyascii` (so ø, ł, đ, æ, œ, ß, þ, ı and İ, which no Unicode decomposition touches, become o, l,
d, ae, oe, ss, th, i; combining accents vanish). Folding one character at a time keeps, for every canonical
character, the span of the original text it came from, so every answer points into the text as sent.

HTML is read as a browser shows it: tags are taken out (a block tag such as <p> or <br> leaves a space, an
inline one such as <b> nothing), entities are decoded, and attribute values (alt text, titles, mailto
links), which are published too, are read as text of their own.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from anyascii import anyascii

ReadAs = Literal["text/plain", "text/html"]

# Apostrophe-like marks with no decomposition to "'" (typographic quotes, modifier letters, primes).
_APOSTROPHES = frozenset("\u2018\u2019\u201b\u02bc\u02bb\u02b9\u02bd\u2032\u2035\u00b4\u0060\uff07")
# Apart from the letters themselves, ASCII text only needs its spaces and the backtick made canonical.
_ASCII = str.maketrans(
    {chr(c): chr(c + 32) for c in range(65, 91)} | dict.fromkeys("\t\n\r\x0b\x0c", " ") | {"`": "'"}
)
# Never produced by folding: stands between pieces of text a name must not run across (the text and an
# attribute value, two attribute values).
HARD_BREAK = "\x00"


@lru_cache(maxsize=65536)
def fold_char(char: str) -> str:
    """One character's canonical form: "" (dropped), or one or more ASCII characters."""
    if char.isascii():
        return char.translate(_ASCII)
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    if char in _APOSTROPHES:
        return "'"
    if category == "Pd" or char == "\u2212":  # every dash, and the minus sign people type as one
        return "-"
    if char.isspace():
        return " "
    out = anyascii(unicodedata.normalize("NFKC", char).casefold())
    # Transliteration may give capitals ("Zhong") or spaces: fold those as ASCII text is folded.
    return out.translate(_ASCII)


def fold(text: str) -> str:
    """The canonical form of a whole string (a stored name, email or phone number)."""
    if text.isascii():
        return text.translate(_ASCII)
    return "".join(fold_char(c) for c in text)


@dataclass(frozen=True, slots=True)
class Folded:
    """A text in canonical form; canonical character i came from original[starts[i]:ends[i]]."""

    text: str
    starts: Sequence[int]
    ends: Sequence[int]
    read_as: ReadAs


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def plain(self, segment: str, offset: int) -> None:
        if segment.isascii():
            self.parts.append(segment.translate(_ASCII))
            self.starts.extend(range(offset, offset + len(segment)))
            self.ends.extend(range(offset + 1, offset + len(segment) + 1))
            return
        for i, char in enumerate(segment, offset):
            folded = fold_char(char)
            if folded:
                self.parts.append(folded)
                self.starts.extend([i] * len(folded))
                self.ends.extend([i + 1] * len(folded))
            elif self.ends and unicodedata.combining(char):
                # A combining accent written after a letter belongs to that letter's span.
                self.ends[-1] = i + 1

    def stand_in(self, folded: str, start: int, end: int) -> None:
        """Canonical characters that stand for original[start:end] as a whole (an entity, a tag)."""
        self.parts.append(folded)
        self.starts.extend([start] * len(folded))
        self.ends.extend([end] * len(folded))

    def decoded(self, segment: str, offset: int) -> None:
        """Text with character references in it (HTML text or an attribute value)."""
        position = 0
        for ref in _ENTITY.finditer(segment):
            self.plain(segment[position : ref.start()], offset + position)
            value = html.unescape(ref.group())
            if value == ref.group():
                self.plain(value, offset + ref.start())
            else:
                self.stand_in(fold(value), offset + ref.start(), offset + ref.end())
            position = ref.end()
        self.plain(segment[position:], offset + position)


_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});?")
# No part of a tag or comment may hold "<" or ">", so every attempt ends at the next one of them and reading
# stays linear however the text is built (an unclosed quote or comment a thousand times over). A real
# attribute or comment that holds one is then read as text, which only means more is checked.
_TAG = re.compile(
    r"<!--(?P<comment>[^<>]*)-->"
    r"|<(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9:-]*)(?P<attrs>(?:[^<>\"']|\"[^\"<>]*\"|'[^'<>]*')*)>"
)
_ATTR_VALUE = re.compile(r"""=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'=<>`]+))""")
# What a browser lays out as a separate block or line: a name is never written across one without a space
# showing, so these read as a space. Any other tag (b, i, span, a ...) sits inside a word as easily.
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "details",
        "dialog",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "img",
        "li",
        "main",
        "nav",
        "ol",
        "option",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "title",
        "tr",
        "ul",
    }
)
# Enough to tell HTML from plain text that merely contains "<" or "&".
_LOOKS_LIKE_HTML = re.compile(
    r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+[0-9]*);"
)


def looks_like_html(text: str) -> bool:
    return _LOOKS_LIKE_HTML.search(text) is not None


def read(text: str, content_type: ReadAs | None = None) -> Folded:
    """The text in canonical form. `content_type` None: HTML if it looks like HTML, else plain text."""
    as_html = looks_like_html(text) if content_type is None else content_type == "text/html"
    if not as_html:
        if text.isascii():
            n = len(text)
            return Folded(text.translate(_ASCII), range(n), range(1, n + 1), "text/plain")
        plain = _Builder()
        plain.plain(text, 0)
        return Folded("".join(plain.parts), plain.starts, plain.ends, "text/plain")
    body = _Builder()
    attributes = _Builder()  # read after the body, each value on its own
    position = 0
    for tag in _TAG.finditer(text):
        body.decoded(text[position : tag.start()], position)
        if tag.group("comment") is not None:
            attributes.stand_in(HARD_BREAK, tag.start(), tag.start())
            attributes.decoded(tag.group("comment"), tag.start("comment"))
        else:
            if tag.group("name").lower() in _BLOCK_TAGS:
                body.stand_in(" ", tag.start(), tag.end())
            attrs_at = tag.start("attrs")
            for value in _ATTR_VALUE.finditer(tag.group("attrs")):
                group = next(g for g in ("dq", "sq", "bare") if value.group(g) is not None)
                attributes.stand_in(HARD_BREAK, tag.start(), tag.start())
                attributes.decoded(value.group(group), attrs_at + value.start(group))
        position = tag.end()
    body.decoded(text[position:], position)
    body.stand_in(HARD_BREAK, len(text), len(text))
    return Folded(
        "".join(body.parts + attributes.parts),
        body.starts + attributes.starts,
        body.ends + attributes.ends,
        "text/html",
    )
