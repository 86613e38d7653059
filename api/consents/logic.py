"""Whether a participant's consent allows a use on a date: pure, shared by the consent checks and the
compliance rules, so the two always agree."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from api.common import in_force
from api.described import DescribedEnum


class Refusal(DescribedEnum):
    """Why a consent check says no (null when it says yes).

    - none: no consent of this kind was ever given.
    - not_yet_given: a consent was given, but only after the day asked about.
    - withdrawn: the consent was withdrawn on or before the day asked about.
    - expired: the consent's expires_on had come by the day asked about.
    - wrong_purpose: image consent in force, but not for the purpose asked about.
    - given_by_wrong_person: the young person consented themself while below self_consent_min_age, so a
      parent or carer must."""

    none = "none"  # no consent of this kind was ever given
    not_yet_given = "not_yet_given"  # given only after the date asked about
    withdrawn = "withdrawn"
    expired = "expired"
    wrong_purpose = "wrong_purpose"
    given_by_wrong_person = "given_by_wrong_person"  # the participant consented while below the age


class ConsentFact(NamedTuple):
    """One consent as the checks read it. A NamedTuple, not a frozen dataclass: as immutable, and about a
    quarter of the cost to build (1.1 us against 0.26 us), which counts at two per member of a large group."""

    # A UUID, or the id as the database driver returns it (the compliance engine reads SQLite's 32 hex digits
    # and never converts the ids of consents that allow: see `id_text`).
    id: uuid.UUID | str
    kind: str
    purposes: frozenset[str]
    given_by: str  # "participant" or "parent_carer"
    given_on: date
    expires_on: date | None
    withdrawn_on: date | None


@dataclass(frozen=True, slots=True)
class ConsentDecision:
    allowed: bool
    consent_id: uuid.UUID | None
    reason: Refusal | None
    detail: str
    reconfirm_due: bool = False


def age_on(date_of_birth: date, on: date) -> int:
    """Whole years; a birthday on `on` counts (29 February birthdays count on 1 March in other years)."""
    years = on.year - date_of_birth.year
    if (on.month, on.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def is_in_force(consent: ConsentFact, on: date) -> bool:
    """Given on or before `on`, and neither withdrawn nor expired by then (both dates are exclusive)."""
    return (
        consent.given_on <= on
        and in_force(None, consent.withdrawn_on, on)
        and in_force(None, consent.expires_on, on)
    )


def needs_reconfirmation(
    consent: ConsentFact, *, date_of_birth: date, on: date, self_consent_min_age: int
) -> bool:
    """A parent or carer gave it and the participant has since reached the age to consent for themselves:
    it still stands, but the young person should confirm it (from the birthday itself)."""
    return consent.given_by == "parent_carer" and age_on(date_of_birth, on) >= self_consent_min_age


def sentence(decision: ConsentDecision) -> str:
    """The decision as one sentence a person reads in a client or in Swagger UI."""
    text = decision.detail[:1].upper() + decision.detail[1:] + "."
    if decision.reconfirm_due:
        text += (
            " It was given by a parent or carer and the participant has now reached the age to consent, "
            "so they should confirm it themselves."
        )
    return text


# When several consents refuse, the answer names the most telling reason.
_PRECEDENCE = (
    Refusal.given_by_wrong_person,
    Refusal.withdrawn,
    Refusal.expired,
    Refusal.not_yet_given,
    Refusal.wrong_purpose,
    Refusal.none,
)


def _scan(
    consents: Iterable[ConsentFact],
    kind: str,
    purpose: str | None,
    on: date,
    date_of_birth: date,
    self_consent_min_age: int,
) -> tuple[ConsentFact | None, list[tuple[Refusal, ConsentFact]]]:
    """The consent that allows the use (newest first), or None and why each consent of `kind` refuses.
    Messages are written only by `decide`: the compliance engine asks `allows` for every participant of a
    group and needs a sentence only for the few refused."""
    matching = [c for c in consents if c.kind == kind]
    if len(matching) > 1:
        matching.sort(key=lambda c: (c.given_on, str(c.id)), reverse=True)
    refusals: list[tuple[Refusal, ConsentFact]] = []
    for c in matching:
        # The purpose first: a consent that never covered it says nothing about it, so the answer describes
        # the consents that did (a withdrawn press consent is "withdrawn" even beside a website-only one).
        if purpose is not None and purpose not in c.purposes:
            refusals.append((Refusal.wrong_purpose, c))
        elif c.given_on > on:
            refusals.append((Refusal.not_yet_given, c))
        elif c.withdrawn_on is not None and c.withdrawn_on <= on:
            refusals.append((Refusal.withdrawn, c))
        elif not in_force(None, c.expires_on, on):
            refusals.append((Refusal.expired, c))
        elif c.given_by == "participant" and age_on(date_of_birth, c.given_on) < self_consent_min_age:
            refusals.append((Refusal.given_by_wrong_person, c))
        else:
            return c, refusals
    return None, refusals


def allows(
    consents: Iterable[ConsentFact],
    kind: str,
    purpose: str | None,
    on: date,
    date_of_birth: date,
    self_consent_min_age: int,
) -> bool:
    """`decide(...).allowed`, without writing the decision's sentence: whether any consent of `kind` passes
    every test `_scan` makes. Only which one allows depends on the order `_scan` tries them in, and the
    answer is the same whichever it is, so this neither sorts nor keeps the refusals (it runs once per
    member of a group and rule)."""
    for c in consents:
        if (
            c.kind == kind
            and (purpose is None or purpose in c.purposes)
            and c.given_on <= on
            and (c.withdrawn_on is None or on < c.withdrawn_on)
            and (c.expires_on is None or on < c.expires_on)
            and (c.given_by != "participant" or age_on(date_of_birth, c.given_on) >= self_consent_min_age)
        ):
            return True
    return False


def held_in_force(consents: Iterable[ConsentFact], kind: str, given_by: str, on: date) -> bool:
    """Whether a consent of `kind` given by `given_by` is in force on `on` (`is_in_force`), for a caller
    asking once per member of a group."""
    for c in consents:
        if (
            c.kind == kind
            and c.given_by == given_by
            and c.given_on <= on
            and (c.withdrawn_on is None or on < c.withdrawn_on)
            and (c.expires_on is None or on < c.expires_on)
        ):
            return True
    return False


def id_text(value: uuid.UUID | str) -> str:
    """An id as a person reads it. The compliance engine keeps ids as the database driver returns them
    (SQLite: 32 hex digits), so a message formats them here."""
    return str(value) if isinstance(value, uuid.UUID) else str(uuid.UUID(hex=value))


def _refusal_detail(reason: Refusal, c: ConsentFact, purpose: str | None, self_consent_min_age: int) -> str:
    cid = id_text(c.id)
    if reason is Refusal.wrong_purpose:
        return f"consent {cid} does not cover {purpose}"
    if reason is Refusal.not_yet_given:
        return f"consent {cid} was given later, on {c.given_on}"
    if reason is Refusal.withdrawn:
        return f"consent {cid} was withdrawn on {c.withdrawn_on}"
    if reason is Refusal.expired:
        return f"consent {cid} expired on {c.expires_on}"
    return (
        f"consent {cid} was given by the participant below {self_consent_min_age}; "
        "a parent or carer must give it"
    )


def decide(
    consents: Iterable[ConsentFact],
    *,
    kind: str,
    purpose: str | None,
    on: date,
    date_of_birth: date,
    self_consent_min_age: int,
) -> ConsentDecision:
    """Allowed if any consent of `kind` was given on or before `on`, is neither withdrawn nor expired on `on`,
    covers `purpose` (when one is asked), and was given by a parent or carer if the participant was below
    `self_consent_min_age` when it was given. Withdrawal and expiry take effect on their dates."""
    allowing, refusals = _scan(consents, kind, purpose, on, date_of_birth, self_consent_min_age)
    if allowing is not None:
        reconfirm = needs_reconfirmation(
            allowing, date_of_birth=date_of_birth, on=on, self_consent_min_age=self_consent_min_age
        )
        cid = id_text(allowing.id)
        consent_id = allowing.id if isinstance(allowing.id, uuid.UUID) else uuid.UUID(cid)
        return ConsentDecision(True, consent_id, None, f"allowed by consent {cid}", reconfirm_due=reconfirm)
    if not refusals:
        return ConsentDecision(False, None, Refusal.none, f"no {kind} consent has been recorded")
    reason, c = min(refusals, key=lambda r: _PRECEDENCE.index(r[0]))
    return ConsentDecision(False, None, reason, _refusal_detail(reason, c, purpose, self_consent_min_age))
