"""Consents: the CRM's pushes, by its own id (a recorded consent is never changed, only withdrawn)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from api import clock, crud
from api.auth.reach import Reach, Record
from api.common import WriteOutcome
from api.consents import service
from api.consents.models import (
    Consent,
    ConsentCreate,
    ConsentMerge,
    ConsentUpsert,
)
from api.errors import Conflict, FieldError, Forbidden, Unprocessable
from api.participants.models import Participant
from api.problems import ProblemCode

APPEND_ONLY = ProblemCode.consent_is_append_only
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
    return service.normalised_purposes(value) if field == "purposes" else value


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
) -> tuple[Consent, WriteOutcome]:
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
            crud.locked(
                select(Consent).where(
                    Consent.external_id == external_id, reach.consent_writes(Consent.participant_id)
                )
            )
        ).first()

    def create_it() -> Consent:
        if data.withdrawn_on is None:
            return service.create(session=session, reach=reach, data=given)
        _check_withdrawal(given.given_on, data.withdrawn_on)
        # Recorded, then withdrawn, in ONE transaction: no reader ever sees it in force, and a failure
        # between the two steps stores neither. The history still says both, as one at a time would.
        try:
            consent = service.create(session=session, reach=reach, data=given, commit=False)
            consent = service.withdraw(
                session=session,
                reach=reach,
                consent=consent,
                withdrawn_on=data.withdrawn_on,
                reason=data.withdrawal_reason,
                commit=False,
            )
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return consent

    def change(existing: Consent) -> tuple[Consent, WriteOutcome]:
        # `crud.upsert_by_external_id` checked the If-Match against `existing` before calling this.
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
            return service.withdraw(
                session=session,
                reach=reach,
                consent=existing,
                withdrawn_on=data.withdrawn_on,
                reason=data.withdrawal_reason,
            ), "updated"
        return existing, "unchanged"

    return crud.upsert_by_external_id(
        session,
        find=find,
        create=create_it,
        change=change,
        expected_version=expected_version,
        if_match_required=reach.caller.require_if_match,
    )


def merge_by_external_id(
    *, session: Session, reach: Reach, external_id: str, data: ConsentMerge
) -> tuple[Consent, WriteOutcome]:
    """Bulk sync's `merge` mode for a consent: the fields the push leaves out are taken from the consent
    recorded under `external_id` (its participant too, unless the push names one), and the record so
    completed is pushed as `upsert_by_external_id` pushes a whole one: so a push of `withdrawn_on` alone
    withdraws it, and anything else that differs is still a 409 `consent_is_append_only`. No consent with
    this id yet: recorded if the push has every field a new consent needs.

    Errors: as `upsert_by_external_id`; 422 naming each field a new consent needs that the push left out."""
    if not reach.writes_every(Record.consent):
        raise Forbidden("Consents are pushed by the CRM's id only by the coordinator and the CRM's keys")
    patch = crud.merge_patch_for(data, external_id)
    # Locked, as the push below locks it: a withdrawal landing between this read and that push would
    # otherwise make what is filled in from here differ from the record: a 409 for a push changing nothing.
    existing = session.exec(
        crud.locked(
            select(Consent).where(
                Consent.external_id == external_id, reach.consent_writes(Consent.participant_id)
            )
        )
    ).first()
    if existing is not None:
        names_participant = {"participant_id", "participant_external_id"} & patch.model_fields_set
        recorded = {
            field: getattr(existing, field)
            for field in (*_GIVEN, "withdrawn_on", "withdrawal_reason")
            if field not in patch.model_fields_set and not (field == "participant_id" and names_participant)
        }
        patch = patch.model_copy(update=recorded)
    whole = crud.completed(patch, ConsentUpsert, external_id=external_id)
    return upsert_by_external_id(session=session, reach=reach, external_id=external_id, data=whole)
