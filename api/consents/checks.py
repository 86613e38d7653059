"""Consents: the checks, may this participant's details be used for this purpose today (every decision
through `api.consents.logic.decide`, which the compliance engine shares)."""

from __future__ import annotations

import uuid
from collections.abc import Container, Sequence
from datetime import date
from typing import Any

from sqlmodel import Session

from api import clock
from api.auth.reach import Reach
from api.consents import logic, service
from api.consents.models import (
    Blocker,
    ConsentCheckResult,
    ConsentChecksResult,
    ConsentKind,
    ConsentStatus,
    KindState,
    Purpose,
    PurposeState,
)
from api.errors import FieldError, Unprocessable
from api.participants.models import Participant
from api.policy import service as policy


def _require_purpose(kind: ConsentKind, purpose: Purpose | None) -> None:
    if kind is ConsentKind.image_use and purpose is None:
        raise Unprocessable.field("purpose", "name the purpose an image is for")


def check(
    *,
    session: Session,
    person: Participant,
    kind: ConsentKind,
    purpose: Purpose | None,
    on: date | None,
) -> ConsentCheckResult:
    """Whether the participant's consents allow `kind` for `purpose` on a day (today by default)."""
    _require_purpose(kind, purpose)
    day = on or clock.today()
    decision = logic.decide(
        service.facts_by_participant(session, [person.id], kind)[person.id],
        kind=kind.value,
        purpose=purpose.value if purpose else None,
        on=day,
        date_of_birth=person.date_of_birth,
        self_consent_min_age=policy.get(session=session).self_consent_min_age,
    )
    return ConsentCheckResult(
        participant_id=person.id,
        kind=kind,
        purpose=purpose,
        on=day,
        allowed=decision.allowed,
        consent_id=decision.consent_id,
        reason=decision.reason,
        detail=logic.sentence(decision),
        reconfirm_due=decision.reconfirm_due,
    )


def decisions(
    *,
    session: Session,
    births: dict[uuid.UUID, date],
    kind: ConsentKind,
    purpose: Purpose | None,
    on: date,
) -> dict[uuid.UUID, logic.ConsentDecision]:
    """Each participant's decision (`births`: their dates of birth by id), made by `logic.decide` as the
    compliance engine makes it; every consent read in one query."""
    facts = service.facts_by_participant(session, births, kind)
    min_age = policy.get(session=session).self_consent_min_age
    return {
        pid: logic.decide(
            facts.get(pid, []),
            kind=kind.value,
            purpose=purpose.value if purpose else None,
            on=on,
            date_of_birth=born,
            self_consent_min_age=min_age,
        )
        for pid, born in births.items()
    }


def listed_participants_errors(
    field: str, ids: Sequence[uuid.UUID], found: Container[uuid.UUID]
) -> list[FieldError]:
    """What is wrong with a body's list of participant ids (`field`): `field.<i>` for each id listed a
    second time ("listed twice"), then for each not in `found`, the ids known within the caller's reach
    (unknown and out of reach said alike, `service.NO_SUCH_PARTICIPANT`). Empty when all is well."""
    seen: set[uuid.UUID] = set()
    repeated: list[FieldError] = []
    for i, pid in enumerate(ids):
        if pid in seen:
            repeated.append(FieldError(field=f"{field}.{i}", message="listed twice", type="value_error"))
        seen.add(pid)
    unknown = [
        FieldError(field=f"{field}.{i}", message=service.NO_SUCH_PARTICIPANT, type="value_error")
        for i, pid in enumerate(ids)
        if pid not in found
    ]
    return repeated + unknown


def check_many(
    *,
    session: Session,
    reach: Reach,
    participant_ids: list[uuid.UUID],
    kind: ConsentKind,
    purpose: Purpose | None,
    on: date | None,
) -> ConsentChecksResult:
    """Allowed only if every participant is allowed; the blockers, exactly, in the order sent."""
    _require_purpose(kind, purpose)
    day = on or clock.today()
    found = service.dates_of_birth(session, set(participant_ids), reach.consents(Participant.id))
    errors = listed_participants_errors("participant_ids", participant_ids, found)
    if errors:
        names = ", ".join(e.field for e in errors)
        raise Unprocessable(f"Invalid participant ids: {names}", errors=errors)
    decided = decisions(session=session, births=found, kind=kind, purpose=purpose, on=day)
    blockers: list[Blocker] = []
    for pid in participant_ids:
        decision = decided[pid]
        if not decision.allowed:
            assert decision.reason is not None
            blockers.append(
                Blocker(participant_id=pid, reason=decision.reason, detail=logic.sentence(decision))
            )
    return ConsentChecksResult(
        allowed=not blockers,
        kind=kind,
        purpose=purpose,
        on=day,
        checked=len(participant_ids),
        blockers=blockers,
    )


def _answered(decision: logic.ConsentDecision) -> dict[str, Any]:
    """The fields a kind's or a purpose's state shares, as `decision` answers them: allowed, the consent
    that allows it, the reason it is refused, the answer as a sentence, and whether a reconfirmation is
    due."""
    return {
        "allowed": decision.allowed,
        "consent_id": decision.consent_id,
        "reason": decision.reason,
        "detail": logic.sentence(decision),
        "reconfirm_due": decision.reconfirm_due,
    }


def status(*, session: Session, person: Participant) -> ConsentStatus:
    """The state today per kind and, for image_use, per purpose, derived from the whole history."""
    today = clock.today()
    facts = service.facts_by_participant(session, [person.id])[person.id]
    min_age = policy.get(session=session).self_consent_min_age

    def decide(kind: ConsentKind, purpose: Purpose | None) -> logic.ConsentDecision:
        return logic.decide(
            facts,
            kind=kind.value,
            purpose=purpose.value if purpose else None,
            on=today,
            date_of_birth=person.date_of_birth,
            self_consent_min_age=min_age,
        )

    kinds: list[KindState] = []
    for kind in ConsentKind:
        overall = decide(kind, None)
        purposes = []
        if kind is ConsentKind.image_use:
            for purpose in Purpose:
                purposes.append(PurposeState(purpose=purpose, **_answered(decide(kind, purpose))))
        kinds.append(KindState(kind=kind, purposes=purposes, **_answered(overall)))
    return ConsentStatus(participant_id=person.id, on=today, self_consent_min_age=min_age, kinds=kinds)
