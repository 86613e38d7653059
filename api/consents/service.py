"""Consents: the verbs and the consent checks (the publication check is in publication_check.py). Routes call
these; nothing else writes consent rows. Every decision goes through `api.consents.logic.decide`, which the
compliance engine shares."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, String, cast, col, or_, select

from api import clock, crud
from api.audit import service as audit
from api.auth.reach import Reach, Record
from api.consents import logic
from api.consents.models import (
    Blocker,
    Consent,
    ConsentCheckResult,
    ConsentChecksResult,
    ConsentCreate,
    ConsentKind,
    ConsentPublic,
    ConsentStatus,
    ConsentUpsert,
    GivenBy,
    KindState,
    Purpose,
    PurposeState,
    StillAllowed,
)
from api.db import utcnow
from api.errors import Conflict, FieldError, Forbidden, NotFound, PreconditionFailed, Unprocessable
from api.participants.models import Participant
from api.policy import service as policy
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent

UNIQUE = ("external_id",)
# Said the same way whether the participant does not exist or is out of reach, so a 404 reveals nothing.
NO_SUCH_PARTICIPANT = "No participant with this id within your reach"


# --- reach ------------------------------------------------------------------------------------------------


def participant(*, session: Session, reach: Reach, participant_id: uuid.UUID) -> Participant:
    """A participant the caller may see consents of, or 404 (the same answer when it does not exist)."""
    found = session.exec(
        select(Participant).where(Participant.id == participant_id, reach.consents(Participant.id))
    ).first()
    if found is None:
        raise NotFound(NO_SUCH_PARTICIPANT)
    return found


# --- reading consents -------------------------------------------------------------------------------------


def _fact(consent: Consent) -> logic.ConsentFact:
    return logic.ConsentFact(
        id=consent.id,
        kind=str(consent.kind),
        purposes=frozenset(str(p) for p in consent.purposes),
        given_by=str(consent.given_by),
        given_on=consent.given_on,
        expires_on=consent.expires_on,
        withdrawn_on=consent.withdrawn_on,
    )


def to_public(
    consent: Consent,
    *,
    date_of_birth: date,
    self_consent_min_age: int,
    still_allowed_by: Sequence[StillAllowed] = (),
) -> ConsentPublic:
    """The record with what holds today derived from it (never stored, so it cannot go stale)."""
    today = clock.today()
    fact = _fact(consent)
    in_force = logic.is_in_force(fact, today)
    reconfirm = in_force and logic.needs_reconfirmation(
        fact, date_of_birth=date_of_birth, on=today, self_consent_min_age=self_consent_min_age
    )
    return ConsentPublic.model_validate(
        consent,
        update={"in_force": in_force, "reconfirm_due": reconfirm, "still_allowed_by": list(still_allowed_by)},
    )


def still_allowed(
    *, session: Session, consents: Sequence[Consent], births: dict[uuid.UUID, date] | None = None
) -> dict[uuid.UUID, list[StillAllowed]]:
    """For each of `consents` no longer in force today, the uses it covered (its kind, and for image_use each
    of its purposes) that another consent of the same participant still allows today: a withdrawal that
    leaves them allowed has not stopped them (the policy: images are used "only for the purpose for which
    consent has been given"). In one query for the participants' consents, none if every one is in force."""
    today = clock.today()
    ended = [c for c in consents if not logic.is_in_force(_fact(c), today)]
    if not ended:
        return {}
    people = {c.participant_id for c in ended}
    facts = _facts_by_participant(session, people)
    births = births if births is not None else dates_of_birth(session, people)
    min_age = policy.get(session=session).self_consent_min_age
    found: dict[uuid.UUID, list[StillAllowed]] = {}
    for c in ended:
        uses: list[Purpose | None] = list(c.purposes) if c.kind is ConsentKind.image_use else [None]
        for purpose in uses:
            decision = logic.decide(
                facts.get(c.participant_id, []),
                kind=c.kind.value,
                purpose=purpose.value if purpose else None,
                on=today,
                date_of_birth=births[c.participant_id],
                self_consent_min_age=min_age,
            )
            if decision.allowed and decision.consent_id is not None:
                found.setdefault(c.id, []).append(
                    StillAllowed(purpose=purpose, consent_id=decision.consent_id)
                )
    return found


def dates_of_birth(
    session: Session, ids: Iterable[uuid.UUID], where: sa.ColumnElement[bool] | None = None
) -> dict[uuid.UUID, date]:
    """Participants' dates of birth by id, in one query (without their names or anything else)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = session.exec(
        select(col(Participant.id), col(Participant.date_of_birth)).where(
            col(Participant.id).in_(wanted), sa.true() if where is None else where
        )
    ).all()
    return dict(rows)


def still_allowed_by_id(
    *, session: Session, consent_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StillAllowed]]:
    """`still_allowed` for consents given by id (a bulk sync's answers)."""
    if not consent_ids:
        return {}
    consents = session.exec(select(Consent).where(col(Consent.id).in_(list(consent_ids)))).all()
    return still_allowed(session=session, consents=consents)


def publics(*, session: Session, consents: Sequence[Consent]) -> list[ConsentPublic]:
    """Public forms of several consents: the participants' dates of birth in one query."""
    born = dates_of_birth(session, {c.participant_id for c in consents})
    min_age = policy.get(session=session).self_consent_min_age
    others = still_allowed(session=session, consents=consents, births=born)
    return [
        to_public(
            c,
            date_of_birth=born[c.participant_id],
            self_consent_min_age=min_age,
            still_allowed_by=others.get(c.id, ()),
        )
        for c in consents
    ]


def get(*, session: Session, reach: Reach, consent_id: uuid.UUID, to_write: bool = False) -> Consent:
    """One consent the caller may see (or, `to_write`, withdraw), or 404."""
    within = reach.consent_writes if to_write else reach.consents
    consent = session.exec(
        select(Consent).where(Consent.id == consent_id, within(Consent.participant_id))
    ).first()
    if consent is None:
        raise NotFound(f"No consent with id {consent_id}")
    return consent


def list_(
    *,
    session: Session,
    reach: Reach,
    limit: int,
    offset: int,
    participant_id: uuid.UUID | None = None,
    kind: ConsentKind | None = None,
    purpose: Purpose | None = None,
    given_by: GivenBy | None = None,
    in_force: bool | None = None,
) -> tuple[list[Consent], int]:
    """A filtered page of the consents the caller may see, by given_on then id."""
    query = select(Consent).where(reach.consents(Consent.participant_id))
    if participant_id is not None:
        query = query.where(Consent.participant_id == participant_id)
    if kind is not None:
        query = query.where(Consent.kind == kind)
    if given_by is not None:
        query = query.where(Consent.given_by == given_by)
    if purpose is not None:
        # Purposes are a JSON list of enum values, and no value is part of another, so the quoted value
        # inside the JSON text identifies it; this reads the same on SQLite and PostgreSQL.
        query = query.where(cast(col(Consent.purposes), String).like(f'%"{purpose.value}"%'))
    if in_force is not None:
        today = clock.today()
        holds = sa.and_(
            col(Consent.given_on) <= today,
            or_(col(Consent.withdrawn_on).is_(None), col(Consent.withdrawn_on) > today),
            or_(col(Consent.expires_on).is_(None), col(Consent.expires_on) > today),
        )
        query = query.where(holds if in_force else sa.not_(holds))
    query = query.order_by(col(Consent.given_on), col(Consent.id))
    return crud.page(session, query, limit=limit, offset=offset)


# --- writing consents -------------------------------------------------------------------------------------


def _normalised_purposes(purposes: Iterable[Purpose]) -> list[Purpose]:
    chosen = set(purposes)
    return [p for p in Purpose if p in chosen]


def create(*, session: Session, reach: Reach, data: ConsentCreate) -> Consent:
    """Record a consent. It is never changed afterwards, only withdrawn. The participant must be one the
    caller may record consents for: unknown or out of reach, the same 422 naming `participant_id`."""
    person = session.exec(
        select(Participant).where(Participant.id == data.participant_id, reach.consent_writes(Participant.id))
    ).first()
    if person is None:
        raise Unprocessable.field("participant_id", NO_SUCH_PARTICIPANT)
    if data.external_id is not None and not reach.writes_every(Record.consent):
        # Unique across the organisation, so a clash would reveal a consent out of the caller's reach.
        raise Unprocessable.field("external_id", "external_id is the CRM's: leave it out")
    # The body's own checks first, the one against the stored record last: otherwise the order in which
    # they fail would tell a caller who may not read the record its date of birth without writing anything.
    today = clock.today()
    if data.given_on > today:
        raise Unprocessable.field("given_on", f"given_on ({data.given_on}) is in the future")
    if data.expires_on is not None and data.expires_on <= data.given_on:
        raise Unprocessable.field(
            "expires_on", f"expires_on ({data.expires_on}) must be after given_on ({data.given_on})"
        )
    purposes = _normalised_purposes(data.purposes)
    if data.kind is ConsentKind.image_use and not purposes:
        raise Unprocessable.field("purposes", "an image_use consent names at least one purpose")
    if data.given_on < person.date_of_birth:
        raise Unprocessable.field("given_on", "given_on is before the participant's date of birth")
    # A second record of a form: a check against stored records too, so after the body's own.
    _refuse_second_record_of_a_form(session, data, purposes, today)
    consent = Consent.model_validate(data)
    consent.purposes = [Purpose(p.value) for p in purposes]
    return crud.save(session, consent, actor=reach.actor, action="consent.create", unique_fields=UNIQUE)


ALREADY_RECORDED = "consent_already_recorded"


def _key(value: str) -> str:
    # As the query compares them (lower(trim(...))): a form's reference or a name typed with other case.
    return value.strip().lower()


def _refuse_second_record_of_a_form(
    session: Session, data: ConsentCreate, purposes: list[Purpose], today: date
) -> None:
    """409 `consent_already_recorded` naming the consent already recorded from the same form: same
    participant and kind, overlapping purposes, the same `evidence_ref` (or the same `given_on` and
    `given_by_name`), and in force today. Recorded twice, a withdrawal of one copy would leave the other
    allowing the use (the CRM's copy withdrawn, the coordinator's typed-in copy still in force)."""
    # PostgreSQL: one participant's consents are recorded one at a time, so two copies sent at once cannot
    # both pass this check (SQLite serialises writers itself).
    session.exec(
        select(Participant.id).where(Participant.id == data.participant_id).with_for_update()
    ).first()
    same_form = [
        sa.and_(
            col(Consent.given_on) == data.given_on,
            sa.func.lower(sa.func.trim(col(Consent.given_by_name))) == _key(data.given_by_name),
        )
    ]
    if data.evidence_ref and data.evidence_ref.strip():
        same_form.append(sa.func.lower(sa.func.trim(col(Consent.evidence_ref))) == _key(data.evidence_ref))
    candidates = session.exec(
        select(Consent)
        .where(Consent.participant_id == data.participant_id, Consent.kind == data.kind, or_(*same_form))
        .order_by(col(Consent.given_on), col(Consent.id))
    ).all()
    wanted = set(purposes)
    for existing in candidates:
        held = set(existing.purposes)
        overlaps = not held or not wanted or bool(held & wanted)
        if not overlaps or not logic.is_in_force(_fact(existing), today):
            continue
        if data.external_id is not None and existing.external_id == data.external_id:
            # Not a second record of the form but this very one, stored by a push of it that got past the
            # lookup by external_id at the same moment: the upsert runs once more and finds it there.
            raise crud.Raced("Another consent already has this external_id", extra={"field": "external_id"})
        by_ref = bool(data.evidence_ref) and _key(existing.evidence_ref or "") == _key(
            data.evidence_ref or ""
        )
        field, why = (
            ("evidence_ref", f"evidence_ref {existing.evidence_ref!r}")
            if by_ref
            else ("given_on", f"given on {existing.given_on} by {existing.given_by_name}")
        )
        raise Conflict(
            f"Consent {existing.id} already records this form ({data.kind}, {why}) for this participant and "
            "is in force: a consent is recorded once. If the form was replaced, withdraw that consent first.",
            code=ALREADY_RECORDED,
            errors=[
                FieldError(field=field, message=f"the same as consent {existing.id}", type=ALREADY_RECORDED)
            ],
            extra={"existing_id": str(existing.id)},
        )


def withdraw(
    *,
    session: Session,
    reach: Reach,
    consent: Consent,
    withdrawn_on: date,
    reason: str | None,
    expected_version: int | None = None,
) -> Consent:
    """Withdraw a consent from `withdrawn_on` (that day included). A consent is withdrawn once."""
    if expected_version is not None and expected_version != consent.version:
        raise PreconditionFailed(
            f"The consent is at version {consent.version}, not {expected_version}: read it again"
        )
    if consent.withdrawn_on is not None:
        raise Conflict(f"This consent was already withdrawn on {consent.withdrawn_on}")
    if withdrawn_on < consent.given_on:
        raise Unprocessable.field(
            "withdrawn_on", f"withdrawn_on ({withdrawn_on}) is before given_on ({consent.given_on})"
        )
    if withdrawn_on > clock.today():
        # A withdrawal records what someone has told us; dating it later would keep the consent in force.
        raise Unprocessable.field("withdrawn_on", f"withdrawn_on ({withdrawn_on}) is in the future")
    before = audit.snapshot(consent)
    # Conditional, so two withdrawals racing each other cannot both succeed; on the version read, so a
    # withdrawal sent with an ETag cannot land on a record that moved on since.
    updated = session.execute(
        sa.update(Consent)
        .where(
            col(Consent.id) == consent.id,
            col(Consent.withdrawn_on).is_(None),
            col(Consent.version) == consent.version,
        )
        .values(
            withdrawn_on=withdrawn_on,
            withdrawal_reason=reason,
            version=Consent.version + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if updated.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        if expected_version is not None:
            raise PreconditionFailed("The consent changed since it was read: read it again")
        # Another withdrawal landed first: a push of the same withdrawal then finds it and is unchanged.
        raise crud.Raced("This consent was already withdrawn")
    session.refresh(consent)
    audit.record(session, actor=reach.actor, action="consent.withdraw", entity=consent, before=before)
    # In the same transaction as the withdrawal: announced exactly when it is stored. Ids only.
    webhooks.emit(
        session,
        WebhookEvent.consent_withdrawn,
        {
            "consent_id": consent.id,
            "participant_id": consent.participant_id,
            "kind": consent.kind,
            "withdrawn_on": consent.withdrawn_on,
        },
    )
    session.commit()
    return consent


# --- the CRM's pushes -------------------------------------------------------------------------------------

APPEND_ONLY = "consent_is_append_only"
# What was consented to, by whom and when: a push that differs in any of these is a different consent.
_GIVEN = (
    "participant_id",
    "kind",
    "purposes",
    "given_by",
    "given_by_name",
    "given_on",
    "expires_on",
    "evidence_ref",
)


def _named_participant(session: Session, reach: Reach, data: ConsentUpsert) -> uuid.UUID:
    """The participant a push names by exactly one of its two ids; 422 naming the field otherwise."""
    if data.participant_id is not None and data.participant_external_id is not None:
        raise Unprocessable.field(
            "participant_external_id", "give participant_id or participant_external_id, not both"
        )
    if data.participant_id is not None:
        return data.participant_id
    if data.participant_external_id is None:
        raise Unprocessable.field(
            "participant_id", "name the participant: participant_id or participant_external_id"
        )
    found = session.exec(
        select(col(Participant.id)).where(
            Participant.external_id == data.participant_external_id, reach.consent_writes(Participant.id)
        )
    ).first()
    if found is None:
        # Said the same way whether it does not exist or is out of reach.
        raise Unprocessable.field(
            "participant_external_id", "No participant with this external id within your reach"
        )
    return found


def _given(consent: Consent | ConsentCreate, field: str) -> Any:
    value = getattr(consent, field)
    return _normalised_purposes(value) if field == "purposes" else value


def _check_withdrawal(given_on: date, withdrawn_on: date) -> None:
    # The limits `withdraw` applies, checked before a new consent is stored, so a push whose withdrawal
    # would be refused stores nothing at all.
    if withdrawn_on < given_on:
        raise Unprocessable.field(
            "withdrawn_on", f"withdrawn_on ({withdrawn_on}) is before given_on ({given_on})"
        )
    if withdrawn_on > clock.today():
        raise Unprocessable.field("withdrawn_on", f"withdrawn_on ({withdrawn_on}) is in the future")


def upsert_by_external_id(
    *,
    session: Session,
    reach: Reach,
    external_id: str,
    data: ConsentUpsert,
    expected_version: int | None = None,
) -> tuple[Consent, crud.Upserted]:
    """Record the consent the CRM knows by `external_id`, or withdraw it; a recorded consent is otherwise
    never changed (409 `consent_is_append_only`). See `crud.upsert_by_external_id`."""
    if not reach.writes_every(Record.consent):
        # The CRM's ids are unique across the organisation: a push by one would tell a caller with partial
        # reach whether an id is taken by a consent they cannot see.
        raise Forbidden("Consents are pushed by the CRM's id only by the coordinator and the CRM's keys")
    if data.external_id not in (None, external_id):
        raise Unprocessable.field("external_id", "differs from the external id in the path")
    if data.withdrawal_reason is not None and data.withdrawn_on is None:
        raise Unprocessable.field("withdrawal_reason", "a withdrawal_reason comes with a withdrawn_on")
    participant_id = _named_participant(session, reach, data)
    given = ConsentCreate.model_validate(
        {
            **data.model_dump(include=set(ConsentCreate.model_fields)),
            "participant_id": participant_id,
            "external_id": external_id,
        }
    )

    def find() -> Consent | None:
        return session.exec(
            select(Consent).where(
                Consent.external_id == external_id, reach.consent_writes(Consent.participant_id)
            )
        ).first()

    def create_it() -> Consent:
        if data.withdrawn_on is not None:
            _check_withdrawal(given.given_on, data.withdrawn_on)
        consent = create(session=session, reach=reach, data=given)
        if data.withdrawn_on is not None:
            # Recorded, then withdrawn: the history says both, as it would had they come one at a time.
            consent = withdraw(
                session=session,
                reach=reach,
                consent=consent,
                withdrawn_on=data.withdrawn_on,
                reason=data.withdrawal_reason,
            )
        return consent

    def change(existing: Consent) -> tuple[Consent, crud.Upserted]:
        crud.check_version(existing, expected_version)
        differs = [f for f in _GIVEN if _given(existing, f) != _given(given, f)]
        if existing.withdrawn_on is not None:
            # Withdrawn stays withdrawn, on the day and for the reason first recorded.
            if data.withdrawn_on != existing.withdrawn_on:
                differs.append("withdrawn_on")
            if data.withdrawal_reason != existing.withdrawal_reason:
                differs.append("withdrawal_reason")
        if differs:
            raise Conflict(
                f"Consent {external_id!r} is already recorded with a different {', '.join(differs)}. "
                "A consent is never changed, only withdrawn: push the new consent under a new external id "
                "(and this one with a withdrawn_on, if it no longer holds).",
                code=APPEND_ONLY,
                errors=[
                    FieldError(field=f, message="differs from the recorded consent", type=APPEND_ONLY)
                    for f in differs
                ],
            )
        if existing.withdrawn_on is None and data.withdrawn_on is not None:
            return withdraw(
                session=session,
                reach=reach,
                consent=existing,
                withdrawn_on=data.withdrawn_on,
                reason=data.withdrawal_reason,
            ), "updated"
        return existing, "unchanged"

    return crud.upsert_by_external_id(
        session, find=find, create=create_it, change=change, expected_version=expected_version
    )


# --- checks -----------------------------------------------------------------------------------------------


def _require_purpose(kind: ConsentKind, purpose: Purpose | None) -> None:
    if kind is ConsentKind.image_use and purpose is None:
        raise Unprocessable.field("purpose", "name the purpose an image is for")


def _facts_by_participant(
    session: Session, participant_ids: Iterable[uuid.UUID], kind: ConsentKind | None = None
) -> dict[uuid.UUID, list[logic.ConsentFact]]:
    """Every consent of these participants (of one kind, if given), in ONE query."""
    query = select(Consent).where(col(Consent.participant_id).in_(list(participant_ids)))
    if kind is not None:
        query = query.where(Consent.kind == kind)
    facts: dict[uuid.UUID, list[logic.ConsentFact]] = defaultdict(list)
    for consent in session.exec(query):
        facts[consent.participant_id].append(_fact(consent))
    return facts


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
        _facts_by_participant(session, [person.id], kind)[person.id],
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
    facts = _facts_by_participant(session, births, kind)
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
    found = dates_of_birth(session, seen, reach.consents(Participant.id))
    errors += [
        FieldError(field=f"participant_ids.{i}", message=NO_SUCH_PARTICIPANT, type="value_error")
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
    facts = _facts_by_participant(session, [person.id])[person.id]
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
