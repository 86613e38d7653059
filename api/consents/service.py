"""Consents: reading, recording and withdrawing them (the CRM's pushes are in crm.py, the checks in checks.py,
the publication check in publication_check.py). Routes call these; nothing else writes consent rows."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, String, cast, col, or_, select

from api import clock, crud
from api.audit import service as audit
from api.auth.reach import Reach, Record
from api.common import Page, PageParams
from api.consents import logic
from api.consents.models import (
    Consent,
    ConsentCreate,
    ConsentKind,
    ConsentPublic,
    GivenBy,
    Purpose,
    StillAllowed,
)
from api.db import utcnow
from api.errors import Conflict, FieldError, NotFound, PreconditionFailed, Unprocessable
from api.participants.models import Participant
from api.policy import service as policy
from api.preconditions import pinned
from api.problems import ProblemCode
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


def fact_of(consent: Consent) -> logic.ConsentFact:
    return logic.ConsentFact(
        id=consent.id,
        kind=str(consent.kind),
        purposes=frozenset(str(p) for p in consent.purposes),
        given_by=str(consent.given_by),
        given_on=consent.given_on,
        expires_on=consent.expires_on,
        withdrawn_on=consent.withdrawn_on,
    )


def facts_by_participant(
    session: Session, participant_ids: Iterable[uuid.UUID], kind: ConsentKind | None = None
) -> dict[uuid.UUID, list[logic.ConsentFact]]:
    """Every consent of these participants (of one kind, if given), in ONE query."""
    query = select(Consent).where(col(Consent.participant_id).in_(list(participant_ids)))
    if kind is not None:
        query = query.where(Consent.kind == kind)
    facts: dict[uuid.UUID, list[logic.ConsentFact]] = defaultdict(list)
    for consent in session.exec(query):
        facts[consent.participant_id].append(fact_of(consent))
    return facts


def to_public(
    consent: Consent,
    *,
    date_of_birth: date,
    self_consent_min_age: int,
    still_allowed_by: Sequence[StillAllowed] = (),
) -> ConsentPublic:
    """The record with what holds today derived from it (never stored, so it cannot go stale)."""
    today = clock.today()
    fact = fact_of(consent)
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
    ended = [c for c in consents if not logic.is_in_force(fact_of(c), today)]
    if not ended:
        return {}
    people = {c.participant_id for c in ended}
    facts = facts_by_participant(session, people)
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
    return crud.get_within(session, Consent, consent_id, within(Consent.participant_id), "consent")


def list_(
    *,
    session: Session,
    reach: Reach,
    paging: PageParams,
    participant_id: uuid.UUID | None = None,
    kind: ConsentKind | None = None,
    purpose: Purpose | None = None,
    given_by: GivenBy | None = None,
    in_force: bool | None = None,
) -> Page[ConsentPublic]:
    """A filtered page of the consents the caller may see, by given_on then id, as they are answered."""
    query = crud.where_equal(
        select(Consent).where(reach.consents(Consent.participant_id)),
        (Consent.participant_id, participant_id),
        (Consent.kind, kind),
        (Consent.given_by, given_by),
    )
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
    found = crud.paged(session, query, paging)
    return crud.recast(found, publics(session=session, consents=found.items))


# --- writing consents -------------------------------------------------------------------------------------


def normalised_purposes(purposes: Iterable[Purpose]) -> list[Purpose]:
    chosen = set(purposes)
    return [p for p in Purpose if p in chosen]


def create(*, session: Session, reach: Reach, data: ConsentCreate, commit: bool = True) -> Consent:
    """Record a consent. It is never changed afterwards, only withdrawn. The participant must be one the
    caller may record consents for: unknown or out of reach, the same 422 naming `participant_id`.
    `commit=False`: stored in the session's transaction for the caller to commit (see `crud.save`)."""
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
    purposes = normalised_purposes(data.purposes)
    if data.kind is ConsentKind.image_use and not purposes:
        raise Unprocessable.field("purposes", "an image_use consent names at least one purpose")
    if data.given_on < person.date_of_birth:
        raise Unprocessable.field("given_on", "given_on is before the participant's date of birth")
    # A second record of a form: a check against stored records too, so after the body's own.
    _refuse_second_record_of_a_form(session, data, purposes, today)
    consent = Consent.model_validate(data)
    consent.purposes = [Purpose(p.value) for p in purposes]
    return crud.save(
        session, consent, actor=reach.caller, action="consent.create", unique_fields=UNIQUE, commit=commit
    )


ALREADY_RECORDED = ProblemCode.consent_already_recorded


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
        if not overlaps or not logic.is_in_force(fact_of(existing), today):
            continue
        if data.external_id is not None and existing.external_id == data.external_id:
            # Not a second record of the form but this very one, stored by a push of it that got past the
            # lookup by external_id at the same moment: the upsert runs once more and finds it there.
            raise crud.Raced("Another consent already has this external_id", extra={"field": "external_id"})
        by_ref = bool(data.evidence_ref) and _key(existing.evidence_ref or "") == _key(
            data.evidence_ref or ""
        )
        # Named, never quoted: a form's reference and its giver's name are text people typed, often a
        # child's or a carer's name, and an error may be logged or shown beyond the caller.
        field, why = (
            ("evidence_ref", "the same evidence_ref")
            if by_ref
            else ("given_on", "the same given_on and given_by_name")
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
    commit: bool = True,
) -> Consent:
    """Withdraw a consent from `withdrawn_on` (that day included). A consent is withdrawn once. The
    withdrawal, its audit event and its `consent.withdrawn` webhook are one transaction; `commit=False`
    leaves its commit to the caller, who stores more in it (a consent recorded already withdrawn)."""
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
        if pinned(expected_version) is not None:
            raise PreconditionFailed("The consent changed since it was read: read it again")
        # Another withdrawal landed first: a push of the same withdrawal then finds it and is unchanged.
        raise crud.Raced("This consent was already withdrawn")
    session.refresh(consent)
    audit.record(session, actor=reach.caller, action="consent.withdraw", entity=consent, before=before)
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
    if commit:
        session.commit()
    return consent
