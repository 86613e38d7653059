"""Whether a participant's consent allows a use on a date: pure, shared by the consent checks and the
compliance rules, so the two always agree."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from api.common import in_force


class Refusal(StrEnum):
    none = "none"  # no consent of this kind was ever given
    not_yet_given = "not_yet_given"  # given only after the date asked about
    withdrawn = "withdrawn"
    expired = "expired"
    wrong_purpose = "wrong_purpose"
    given_by_wrong_person = "given_by_wrong_person"  # the participant consented while below the age


@dataclass(frozen=True, slots=True)
class ConsentFact:
    id: uuid.UUID
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
    refusals: list[tuple[Refusal, str]] = []
    for c in sorted(
        (c for c in consents if c.kind == kind), key=lambda c: (c.given_on, str(c.id)), reverse=True
    ):
        # The purpose first: a consent that never covered it says nothing about it, so the answer describes
        # the consents that did (a withdrawn press consent is "withdrawn" even beside a website-only one).
        if purpose is not None and purpose not in c.purposes:
            refusals.append((Refusal.wrong_purpose, f"consent {c.id} does not cover {purpose}"))
        elif c.given_on > on:
            refusals.append((Refusal.not_yet_given, f"consent {c.id} was given later, on {c.given_on}"))
        elif c.withdrawn_on is not None and c.withdrawn_on <= on:
            refusals.append((Refusal.withdrawn, f"consent {c.id} was withdrawn on {c.withdrawn_on}"))
        elif not in_force(None, c.expires_on, on):
            refusals.append((Refusal.expired, f"consent {c.id} expired on {c.expires_on}"))
        elif c.given_by == "participant" and age_on(date_of_birth, c.given_on) < self_consent_min_age:
            refusals.append(
                (
                    Refusal.given_by_wrong_person,
                    f"consent {c.id} was given by the participant below {self_consent_min_age}; "
                    "a parent or carer must give it",
                )
            )
        else:
            reconfirm = needs_reconfirmation(
                c, date_of_birth=date_of_birth, on=on, self_consent_min_age=self_consent_min_age
            )
            return ConsentDecision(True, c.id, None, f"allowed by consent {c.id}", reconfirm_due=reconfirm)
    if not refusals:
        return ConsentDecision(False, None, Refusal.none, f"no {kind} consent has been recorded")
    reason, detail = min(refusals, key=lambda r: _PRECEDENCE.index(r[0]))
    return ConsentDecision(False, None, reason, detail)
