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

# A sentence ends at . ! or ?, perhaps inside a closing quote or bracket, followed by a space and a capital
# (perhaps after an opening quote or bracket). The policy's abbreviations, "ie" and "e- safety", carry no full
# stop before a capital.
_SENTENCE_END = re.compile(r"([.!?][\"'\u2019\u201d)\]]*)\s+(?=[\"'\u2018\u201c(]?[A-Z])")
_BULLET = re.compile(r"^\s*-\s+")
# A bullet that ends on one of these words runs on into the next bullet: the policy breaks "used only after
# their" / "- Permission has been obtained" across two.
_RUNS_ON = frozenset({"their", "the", "a", "an", "and", "or", "of", "to", "by", "with", "for", "after"})
# How alike a reworded sentence must be to its old words to keep their id (difflib's ratio, 0 to 1).
SAME_CLAUSE_RATIO = 0.6
# How many old sentences each new one is measured against (those sharing the most of its words): a rewording
# keeps most of its words, so the old sentence it rewords is among them.
_MEASURED_PER_SENTENCE = 8
# A word in more old sentences than this (or a tenth of them, if more) is too common to look candidates up by.
_MIN_COMMON = 32
# A heading is short: a title ("E-safety Policy", "Recommendations"), never a sentence's worth of words.
_HEADING_MAX_WORDS = 8
# Words that turn a sentence's meaning round ("must" / "must not"): a rewording that adds or drops one is a
# new promise, not the old one reworded.
_NEGATION = re.compile(r"\b(?:not|never|no|nor|none|nobody|nothing|cannot|no longer)\b|n't\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Sentence:
    section: str  # the heading it stands under ("" before the first)
    text: str


def _is_heading(line: str, after: Sequence[str]) -> bool:
    """A heading by its form, never by a missing full stop: a list's lead-in (a line ending in a colon that
    a bullet follows, "Its aims are to:") or a title (a line of a few words, each word of four letters or
    more capitalised, with no sentence's closing mark: "E-safety Policy", "Recommendations"). A line that
    merely lacks its full stop ("Staff must not message young people") is a sentence."""
    following = next((a for a in after if a.strip()), "")
    if line.endswith(":"):
        return bool(_BULLET.match(following))
    if line.endswith((".", "!", "?", ";", ",", '"', "'", "\u2019", "\u201d", ")", "]")):
        return False
    words = line.split()
    return len(words) <= _HEADING_MAX_WORDS and all(
        w[:1].isupper() or len(w.strip("-'\u2019")) < 4 or not w[:1].isalpha() for w in words
    )


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

    lines = text.splitlines()
    for i, line in enumerate(lines):
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
            if _is_heading(stripped, lines[i + 1 :]):
                section = stripped.rstrip(":")
            else:
                current = [stripped]
    close()
    return items


def sentences(text: str) -> list[Sentence]:
    """Every sentence of a policy text, in order, with the heading it stands under."""
    out: list[Sentence] = []
    for section, item in _items(text):
        marked = _SENTENCE_END.sub("\\1\\0", item)
        out.extend(Sentence(section, s.strip()) for s in marked.split("\0") if s.strip())
    return out


def _key(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".")


@dataclass(frozen=True, slots=True)
class Matched:
    clause_id: str
    sentence: Sentence
    previous_text: str | None  # the words under this id in the previous version; None for a new clause


def _negations(text: str) -> int:
    return len(_NEGATION.findall(text))


def match(previous: Mapping[str, str], new: Sequence[Sentence], new_id: str) -> list[Matched]:
    """Give each sentence of a new version a clause id: the id of the same words in `previous` (id -> text),
    else the id of a previous sentence it rewords, else a new id, `new_id` followed by its position. Ids of
    `previous` left unmatched are no longer in force.

    Rewordings are matched as a whole, not sentence by sentence: every (new, old) pair at least
    `SAME_CLAUSE_RATIO` alike (difflib's ratio), among the old sentences sharing the most words with the new
    one (`_MEASURED_PER_SENTENCE`), is a candidate, and the most alike pairs are taken first,
    each old id at most once (ties: the earlier new sentence, then the earlier old one), so that a sentence
    inserted before a reworded one, or a repeated one, cannot take its id. A pair whose negations differ
    ("must" / "must not", "should" / "should not", "never", "no longer") is never a candidate: a sentence
    whose meaning is turned round is a new clause with a new id, and the old one is no longer in force.

    Words alone cannot tell a rewording from a reversal ("at least two" / "at most two"): publishing asks a
    person to confirm each rewording of a sentence a rule enforces (`api.policy.version_service`)."""
    by_key: dict[str, str] = {}
    for cid, t in previous.items():
        by_key.setdefault(_key(t), cid)
    taken: set[str] = set()
    ids: list[str | None] = []
    for s in new:
        same = by_key.get(_key(s.text))
        if same is not None and same not in taken:
            taken.add(same)
            ids.append(same)
        else:
            ids.append(None)
    order = {cid: n for n, cid in enumerate(previous)}
    # Only a few pairs are measured: for each new sentence, the old ones sharing the most of its words,
    # rarer words counting for more (found through an index of words, not by trying every pair), of a length
    # that allows the ratio and whose quick upper bounds allow it. A long text against a long text then
    # measures a handful of pairs per sentence, not every pair.
    open_old = {cid: _key(t) for cid, t in previous.items() if cid not in taken}
    old_words = {cid: set(k.split()) for cid, k in open_old.items()}
    old_negations = {cid: _negations(t) for cid, t in previous.items()}
    index: dict[str, list[str]] = {}
    for cid, words in old_words.items():
        for w in words:
            index.setdefault(w, []).append(cid)
    # A word in very many sentences ("the", "staff") tells them apart from nothing: it is not looked up,
    # unless a sentence has no other word.
    common = max(_MIN_COMMON, len(open_old) // 10)
    candidates: list[tuple[float, int, int, str]] = []
    matcher = SequenceMatcher()
    for i, s in enumerate(new):
        if ids[i] is not None:
            continue
        key, negations = _key(s.text), _negations(s.text)
        words = set(key.split())
        telling = [w for w in words if 0 < len(index.get(w, ())) <= common] or [
            w for w in words if w in index
        ]
        score: dict[str, float] = {}
        for w in telling:
            weight = 1 / len(index[w])
            for cid in index[w]:
                score[cid] = score.get(cid, 0.0) + weight
        best = sorted(score, key=lambda cid: (-score[cid], order[cid]))[:_MEASURED_PER_SENTENCE]
        matcher.set_seq2(key)
        for cid in best:
            old = open_old[cid]
            if old_negations[cid] != negations:
                continue
            if 2 * min(len(old), len(key)) < SAME_CLAUSE_RATIO * (len(old) + len(key)):
                continue
            matcher.set_seq1(old)
            if matcher.real_quick_ratio() < SAME_CLAUSE_RATIO or matcher.quick_ratio() < SAME_CLAUSE_RATIO:
                continue
            ratio = matcher.ratio()
            if ratio >= SAME_CLAUSE_RATIO:
                candidates.append((-ratio, i, order[cid], cid))
    for _, i, _, old_id in sorted(candidates):
        if ids[i] is None and old_id not in taken:
            taken.add(old_id)
            ids[i] = old_id
    return [
        Matched(cid or f"{new_id}-{i + 1:02d}", s, previous.get(cid) if cid else None)
        for i, (cid, s) in enumerate(zip(ids, new, strict=True))
    ]


def turned_round(removed: Mapping[str, str], added: Mapping[str, str]) -> list[tuple[str, str]]:
    """(removed id, added id) for each sentence left out that an added one rewords but for a word that turns
    its meaning round ("must" / "must not"): `match` never gives such a pair one id, so a publish shows it as
    a removal and an addition; this pairs them again as a hint for the person publishing. Each removed id at
    most once, its most alike added sentence."""
    out: list[tuple[str, str]] = []
    for old_id, old in removed.items():
        best: tuple[float, str] | None = None
        for new_id, new in added.items():
            if _negations(old) == _negations(new):
                continue
            ratio = SequenceMatcher(None, _key(old), _key(new)).ratio()
            if ratio >= SAME_CLAUSE_RATIO and (best is None or ratio > best[0]):
                best = (ratio, new_id)
        if best is not None:
            out.append((old_id, best[1]))
    return out
