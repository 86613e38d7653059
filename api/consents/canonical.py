"""The one canonical form the publication check reads both the text and the directory in.

A character is folded on its own: format characters (Unicode category Cf: soft hyphen, zero-width space
and joiners, word joiner, bidi marks) are dropped; every dash becomes "-", every apostrophe-like mark "'",
every space or line break " "; anything else is NFKC-normalised, case-folded in full and transliterated to
ASCII by `anyascii` (so ø, ł, đ, æ, œ, ß, þ, ı and İ, which no Unicode decomposition touches, become o, l,
d, ae, oe, ss, th, i; combining accents vanish). A letter written as a base and combining marks is composed
first (NFC), so it folds as the same letter written whole does: a decomposed Cyrillic "й" (и + breve) is
"y" as the precomposed one is, never "i". Folding one character (or one such letter) at a time keeps, for
every canonical character, the span of the original text it came from, so every answer points into the
text as sent.

C0 control characters (U+0000-U+0008, U+000E-U+001F, U+007F) show as nothing and are dropped.

HTML is read as a browser shows it, following the HTML5 tokenizer's rules for where markup ends: tags
(any name: <o:p>, <x-y>, <svg:tspan>; a ">" inside a quoted attribute value does not end one) are taken out
(a block tag such as <p> or <br> leaves a space, an inline one such as <b> nothing); comments end at "-->"
or "--!>" (and "<!-->" and "<!--->" are whole comments); "<!...>", "<?...>", "</ ...>" and "<![CDATA[...]]>"
are bogus comments ending at the next ">"; "</>" is dropped; character references are decoded, with or
without ";" and however many leading zeros. Attribute values and comment text (alt text, titles, mailto
links, conditional comments), which are published too or may be, are read as text of their own.

A text is read as HTML when it says so or holds anything a browser would treat as markup ("<" followed by a
letter, "!", "?" or "/"; "&" followed by a letter or "#"). Unless the caller said text/html, it is then read
as plain text as well (after a break no name runs across), so a tag between the parts of a name can never
hide it: markup in a text declared plain may still end up in an HTML page.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Literal

from anyascii import anyascii

from api.described import Values

ReadAs = Annotated[
    Literal["text/plain", "text/html"],
    Values(
        "How a text for publication is read.",
        {
            "text/plain": "As plain text: every character is what a reader sees.",
            "text/html": "As HTML: tags are dropped and entities decoded before names and contact details "
            "are looked for; offsets still count in the text as sent.",
        },
    ),
]

# Apostrophe-like marks with no decomposition to "'" (typographic quotes, modifier letters, primes).
_APOSTROPHES = frozenset("\u2018\u2019\u201b\u02bc\u02bb\u02b9\u02bd\u2032\u2035\u00b4\u0060\uff07")
_CONTROLS = "".join(chr(c) for c in (*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F))
_CONTROL = re.compile(f"[{re.escape(_CONTROLS)}]")
# What ASCII's fast path cannot fold one for one: anything but printable ASCII and whitespace, together with
# the ASCII letter before it (a combining mark after an ASCII base composes with it).
_SLOW = re.compile(r"[ -~]?[^\t\n\x0b\x0c\r -~]+")
# Apart from the letters themselves, ASCII text only needs its spaces and the backtick made canonical, and
# its control characters dropped (texts holding one take the slower path, which keeps offsets right).
_ASCII = str.maketrans(
    {chr(c): chr(c + 32) for c in range(65, 91)}
    | dict.fromkeys("\t\n\r\x0b\x0c", " ")
    | {"`": "'"}
    | dict.fromkeys(_CONTROLS, "")
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


def _joins_previous(char: str) -> bool:
    """Whether `char` belongs to the letter before it: a combining mark, or a Hangul vowel or final
    consonant jamo (which NFC composes with the syllable's first jamo)."""
    return bool(unicodedata.combining(char)) or "\u1160" <= char <= "\u11ff" or "\ud7b0" <= char <= "\ud7ff"


def _letters(segment: str) -> list[tuple[int, int]]:
    """The spans of `segment` that fold as one: a character with the marks and jamo that join it."""
    spans: list[tuple[int, int]] = []
    for i, char in enumerate(segment):
        if spans and _joins_previous(char):
            spans[-1] = (spans[-1][0], i + 1)
        else:
            spans.append((i, i + 1))
    return spans


def fold_letter(letter: str) -> str:
    """The canonical form of a character with the marks that join it (see `_letters`)."""
    if len(letter) == 1:
        return fold_char(letter)
    return "".join(fold_char(c) for c in unicodedata.normalize("NFC", letter))


def fold(text: str) -> str:
    """The canonical form of a whole string (a stored name, email or phone number)."""
    if text.isascii():
        return text.translate(_ASCII)
    return "".join(fold_char(c) for c in unicodedata.normalize("NFC", text))


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
        # Printable ASCII and whitespace runs are folded whole; only the characters between them one by one.
        position = 0
        for slow in _SLOW.finditer(segment):
            self._ascii(segment[position : slow.start()], offset + position)
            self._chars(slow.group(), offset + slow.start())
            position = slow.end()
        self._ascii(segment[position:], offset + position)

    def _ascii(self, segment: str, offset: int) -> None:
        self.parts.append(segment.translate(_ASCII))
        self.starts.extend(range(offset, offset + len(segment)))
        self.ends.extend(range(offset + 1, offset + len(segment) + 1))

    def _chars(self, segment: str, offset: int) -> None:
        for start, end in _letters(segment):
            folded = fold_letter(segment[start:end])
            if folded:
                self.parts.append(folded)
                self.starts.extend([offset + start] * len(folded))
                self.ends.extend([offset + end] * len(folded))
            elif self.ends and _joins_previous(segment[start]):
                # A combining mark with no letter before it in this run (after a tag, say) still belongs to
                # the letter before it.
                self.ends[-1] = offset + end

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
            value = _unescape(ref.group())
            if value == ref.group():
                self.plain(value, offset + ref.start())
            else:
                self.stand_in(fold(value), offset + ref.start(), offset + ref.end())
            position = ref.end()
        self.plain(segment[position:], offset + position)


# Numeric references with any number of leading zeros (a browser reads "&#00000070;" as "F").
_ENTITY = re.compile(r"&(?:#0*[0-9]{1,8}|#[xX]0*[0-9a-fA-F]{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?")
_NUMERIC = re.compile(r"&#([xX]?)0*([0-9a-fA-F]*);?")


def _unescape(ref: str) -> str:
    numeric = _NUMERIC.fullmatch(ref)
    if numeric is None:
        return html.unescape(ref)
    # Without the zeros, so `html.unescape` never meets a number longer than int() reads.
    return html.unescape(f"&#{numeric.group(1)}{numeric.group(2) or '0'};")


# Where markup may begin; what follows decides which kind (and where it ends).
_MARKUP = re.compile(r"<[a-zA-Z!?/]")
# A start or end tag. Possessive: each character is read once however the tag ends; a quote opens a value
# only after "=", and a quoted value may hold ">". No match means no ">" ends it: the browser drops the rest.
_TAG = re.compile(
    r"<(?P<close>/?)(?P<name>[a-zA-Z][^\s/>]*)"
    r"(?P<attrs>(?:[^>=]|=\s*+\"[^\"]*+\"|=\s*+'[^']*+'|=)*+)>"
)
_COMMENT_END = re.compile(r"--!?>")
_LETTER = re.compile(r"[a-zA-Z]")
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
# Anything a browser would treat as markup: a tag, comment or declaration, or a character reference.
_LOOKS_LIKE_HTML = re.compile(r"<[a-zA-Z!?/]|&[a-zA-Z#]")


def looks_like_html(text: str) -> bool:
    return _LOOKS_LIKE_HTML.search(text) is not None


def _read_plain(text: str) -> Folded:
    if text.isascii() and not _CONTROL.search(text):
        n = len(text)
        return Folded(text.translate(_ASCII), range(n), range(1, n + 1), "text/plain")
    plain = _Builder()
    plain.plain(text, 0)
    return Folded("".join(plain.parts), plain.starts, plain.ends, "text/plain")


def _markup_end(text: str, at: int, body: _Builder, aside: _Builder) -> int:
    """Read the markup beginning at text[at] ("<" and a letter, "!", "?" or "/"); where it ends."""
    n = len(text)
    if text.startswith("<!--", at):
        if text.startswith(">", at + 4):
            return at + 5
        if text.startswith("->", at + 4):
            return at + 6
        close = _COMMENT_END.search(text, at + 4)
        end = n if close is None else close.end()
        aside.stand_in(HARD_BREAK, at, at)
        aside.decoded(text[at + 4 : n if close is None else close.start()], at + 4)
        return end
    is_tag = _LETTER.match(text, at + 2 if text[at + 1] == "/" else at + 1) is not None
    if is_tag:
        tag = _TAG.match(text, at)
        if tag is None:
            return n  # a tag the text never closes: the browser shows nothing of the rest
        if tag.group("name").lower() in _BLOCK_TAGS:
            body.stand_in(" ", tag.start(), tag.end())
        attrs_at = tag.start("attrs")
        for value in _ATTR_VALUE.finditer(tag.group("attrs")):
            group = next(g for g in ("dq", "sq", "bare") if value.group(g) is not None)
            aside.stand_in(HARD_BREAK, at, at)
            aside.decoded(value.group(group), attrs_at + value.start(group))
        return tag.end()
    if text.startswith("</>", at):
        return at + 3
    # "<!x>", "<?x?>", "</ x>", "<![CDATA[...]]>": a bogus comment, to the next ">".
    close_at = text.find(">", at + 2)
    end = n if close_at < 0 else close_at + 1
    aside.stand_in(HARD_BREAK, at, at)
    aside.decoded(text[at + 2 : end - 1 if close_at >= 0 else n], at + 2)
    return end


def _read_html(text: str) -> Folded:
    body = _Builder()
    aside = _Builder()  # attribute values and comments, read after the body, each on its own
    position = 0
    while True:
        markup = _MARKUP.search(text, position)
        if markup is None:
            break
        body.decoded(text[position : markup.start()], position)
        position = _markup_end(text, markup.start(), body, aside)
    body.decoded(text[position:], position)
    body.stand_in(HARD_BREAK, len(text), len(text))
    return Folded(
        "".join(body.parts + aside.parts), body.starts + aside.starts, body.ends + aside.ends, "text/html"
    )


def read(text: str, content_type: ReadAs | None = None) -> Folded:
    """The text in canonical form. `content_type` None: HTML if it holds markup, else plain text. Markup in a
    text not declared text/html is read both ways."""
    if content_type == "text/html":
        return _read_html(text)
    plain = _read_plain(text)
    if not looks_like_html(text):
        return plain
    as_html = _read_html(text)
    return Folded(
        as_html.text + HARD_BREAK + plain.text,
        [*as_html.starts, len(text), *plain.starts],
        [*as_html.ends, len(text), *plain.ends],
        "text/html" if content_type is None else "text/plain",
    )
