"""Reading a policy's text into its sentences, and matching a new version's sentences to the ids of the last.

Pure: no database. The policy has no numbering, so a sentence is the unit that carries a stable clause id:
findings, incidents and the coverage map cite it. A sentence keeps its id across versions while its words
stay close enough to be the same promise reworded (`match`); a new sentence gets a new id, and a sentence
that disappears is no longer in force.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

# A sentence ends at . ! or ? followed by a space and a capital letter (the policy's abbreviations, "ie" and
# "e- safety", carry no full stop before a capital).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")
_BULLET = re.compile(r"^\s*-\s+")
# A bullet that ends on one of these words runs on into the next bullet: the policy breaks "used only after
# their" / "- Permission has been obtained" across two.
_RUNS_ON = frozenset({"their", "the", "a", "an", "and", "or", "of", "to", "by", "with", "for", "after"})
# How alike a reworded sentence must be to its old words to keep their id (difflib's ratio, 0 to 1).
SAME_CLAUSE_RATIO = 0.6


@dataclass(frozen=True, slots=True)
class Sentence:
    section: str  # the heading it stands under ("" before the first)
    text: str


def _items(text: str) -> list[tuple[str, str]]:
    """(section, item) for each paragraph or bullet, its wrapped lines joined by single spaces."""
    items: list[tuple[str, str]] = []
    section = ""
    current: list[str] | None = None

    def close() -> None:
        nonlocal current
        if current:
            joined = " ".join(" ".join(current).split())
            if items and items[-1][0] == section and items[-1][1].rsplit(" ", 1)[-1].lower() in _RUNS_ON:
                items[-1] = (section, f"{items[-1][1]} {joined}")
            else:
                items.append((section, joined))
        current = None

    for line in text.splitlines():
        if not line.strip():
            close()
            continue
        bullet = _BULLET.match(line)
        if bullet:
            close()
            current = [line[bullet.end() :]]
        elif current is not None and line[:1].isspace():
            current.append(line)
        else:
            close()
            stripped = line.strip()
            if stripped.endswith(":") or not stripped.endswith((".", "!", "?")):
                # A heading: "Its aims are to:", "Recommendations", the title.
                section = stripped.rstrip(":")
            else:
                current = [stripped]
    close()
    return items


def sentences(text: str) -> list[Sentence]:
    """Every sentence of a policy text, in order, with the heading it stands under."""
    out: list[Sentence] = []
    for section, item in _items(text):
        out.extend(Sentence(section, s.strip()) for s in _SENTENCE_END.split(item) if s.strip())
    return out


def _key(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".")


@dataclass(frozen=True, slots=True)
class Matched:
    clause_id: str
    sentence: Sentence
    previous_text: str | None  # the words under this id in the previous version; None for a new clause


def match(previous: Mapping[str, str], new: Sequence[Sentence], new_id: str) -> list[Matched]:
    """Give each sentence of a new version a clause id: the id of the same words in `previous` (id -> text),
    else the id of the most alike previous sentence not yet taken (at least `SAME_CLAUSE_RATIO` alike), else
    a new id, `new_id` followed by its position. Ids of `previous` left unmatched are no longer in force."""
    by_key = {_key(t): cid for cid, t in previous.items()}
    taken: set[str] = set()
    ids: list[str | None] = []
    for s in new:
        cid = by_key.get(_key(s.text))
        if cid is not None and cid not in taken:
            taken.add(cid)
            ids.append(cid)
        else:
            ids.append(None)
    for i, s in enumerate(new):
        if ids[i] is not None:
            continue
        best, best_ratio = None, SAME_CLAUSE_RATIO
        for cid, old in previous.items():
            if cid in taken:
                continue
            ratio = SequenceMatcher(None, _key(old), _key(s.text)).ratio()
            if ratio >= best_ratio:
                best, best_ratio = cid, ratio
        if best is not None:
            taken.add(best)
            ids[i] = best
    return [
        Matched(cid or f"{new_id}-{i + 1:02d}", s, previous.get(cid) if cid else None)
        for i, (cid, s) in enumerate(zip(ids, new, strict=True))
    ]
