"""What the group rules ask of a participant's consents, answered ahead for one day: the form in which the
organisation report loads them (api/compliance/answered.py folds the in-force consents' few columns into
them in one pass, instead of decoding every consent into a fact).

The rules ask three questions (GRP-ESAFETY-AGREEMENT, GRP-IMAGE-CONSENT for social media,
GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT), each of one kind of consent, for one purpose or for none. For each, of the
participant's consents of that kind (covering the purpose) in force on the day, two facts settle every answer
the rules take from `api.consents.logic`:

- whether one was given by someone other than the participant (a parent or carer): then `allows` holds;
- the latest day one was given by the participant themself (None: none). `allows` holds when they were of
  the self-consent age on any such day, so on the latest (`age_on` never falls as the day moves on), and
  `held_in_force(..., "participant", ...)` holds when there is one at all.

`Answers` holds them flat, two per question in the order of `QUESTIONS`. They stand for the day they were
answered for (the snapshot's `as_of`) and for outcomes only: a refusal's evidence quotes the consent that
refuses, which only the consents themselves can name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from api.consents.logic import ConsentFact, age_on, is_in_force

# (kind, purpose or None): what the group rules ask.
QUESTIONS: tuple[tuple[str, str | None], ...] = (
    ("esafety_agreement", None),
    ("image_use", "social_media"),
    ("code_of_conduct", None),
)

# Per question: 1 (given by another in force) or None, then the latest day given by the participant or None.
Answers = tuple[Any, ...]

# Where each question's answers start in `Answers`. A question not in `QUESTIONS` raises KeyError: it was not
# answered ahead, which is not a no. Looked up directly: the rules ask once per participant.
_AT = {question: 2 * i for i, question in enumerate(QUESTIONS)}


def index(kind: str, purpose: str | None) -> int | None:
    """Where the question (`kind`, `purpose`) starts in `Answers` (its "given by another" answer; the latest
    day the participant gave one themself is the next), None if it was not answered ahead: for a loop over
    many participants' answers that looks the question up once (`rules.base`)."""
    return _AT.get((kind, purpose))


def allows(
    answers: Answers, kind: str, purpose: str | None, date_of_birth: date, self_consent_min_age: int
) -> bool:
    """`consents.logic.allows` on the day the answers were taken for."""
    return allows_at(answers, _AT[kind, purpose], date_of_birth, self_consent_min_age)


def allows_at(answers: Answers, at: int, date_of_birth: date, self_consent_min_age: int) -> bool:
    """`allows` for the question starting at `at` (`index`): given by another, or by the participant
    themself at or over the self-consent age on the latest day they gave it."""
    if answers[at]:
        return True
    latest = answers[at + 1]
    return latest is not None and age_on(date_of_birth, latest) >= self_consent_min_age


def held_by_participant(answers: Answers, kind: str) -> bool:
    """`consents.logic.held_in_force(consents, kind, "participant", day)` on the day the answers were taken
    for."""
    return held_at(answers, _AT[kind, None])


def held_at(answers: Answers, at: int) -> bool:
    """`held_by_participant` for the question starting at `at` (`index`)."""
    return answers[at + 1] is not None


def answers_of(consents: Iterable[ConsentFact], on: date) -> Answers:
    """The answers for `on`, worked out from the consents themselves: what api/compliance/answered.py folds
    from the database's rows, written the plain way, for the tests to hold the two together."""
    found: list[Any] = []
    held = [c for c in consents if is_in_force(c, on)]
    for kind, purpose in QUESTIONS:
        asked = [c for c in held if c.kind == kind and (purpose is None or purpose in c.purposes)]
        found.append(1 if any(c.given_by != "participant" for c in asked) else None)
        found.append(max((c.given_on for c in asked if c.given_by == "participant"), default=None))
    return tuple(found)


# A participant with no consent in force of any kind asked.
NONE_HELD: Answers = (None,) * (2 * len(QUESTIONS))
