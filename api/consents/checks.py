"""Consents: the checks, may this participant's details be used for this purpose today (every decision
through `api.consents.logic.decide`, which the compliance engine shares)."""

from __future__ import annotations

import uuid
from datetime import date

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
    errors: list[FieldError] = []
    seen: set[uuid.UUID] = set()
    for i, pid in enumerate(participant_ids):
        if pid in seen:
            errors.append(
                FieldError(field=f"participant_ids.{i}", message="listed twice", type="value_error")
            )
        seen.add(pid)
    found = service.dates_of_birth(session, seen, reach.consents(Participant.id))
    errors += [
        FieldError(field=f"participant_ids.{i}", message=service.NO_SUCH_PARTICIPANT, type="value_error")
        for i, pid in enumerate(participant_ids)
        if pid not in found
    ]
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
                d = decide(kind, purpose)
                purposes.append(
                    PurposeState(
                        purpose=purpose,
                        allowed=d.allowed,
                        consent_id=d.consent_id,
                        reason=d.reason,
                        detail=logic.sentence(d),
                        reconfirm_due=d.reconfirm_due,
                    )
                )
        kinds.append(
            KindState(
                kind=kind,
                allowed=overall.allowed,
                consent_id=overall.consent_id,
                reason=overall.reason,
                detail=logic.sentence(overall),
                reconfirm_due=overall.reconfirm_due,
                purposes=purposes,
            )
        )
    return ConsentStatus(participant_id=person.id, on=today, self_consent_min_age=min_age, kinds=kinds)
