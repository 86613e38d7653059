"""Consents (append-only, purpose-scoped), the checks before an image or a text is used, and the
publication check. Three routers, so the participant-scoped routes need no change to the participants
domain: `router` (/consents), `participant_router` (/participants/{id}/consent-...), `checks_router`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session

from api.auth.permissions import ConsentsRead, ConsentsWrite, PublicationCheck
from api.auth.reach import Reach, ReachDep, Record
from api.common import Day, QueryFlag, WriteOutcome
from api.consents import checks, crm, publication_check, service
from api.consents.models import (
    Consent,
    ConsentCheckResult,
    ConsentChecksRequest,
    ConsentChecksResult,
    ConsentCreate,
    ConsentKind,
    ConsentPublic,
    ConsentStatus,
    ConsentUpsert,
    ConsentWithdraw,
    GivenBy,
    Purpose,
)
from api.consents.publication_models import (
    PublicationCheckRequest,
    PublicationCheckResult,
)
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, conflict
from api.lookups import by_id_in_reach
from api.participants.models import Participant
from api.problems import ProblemCode
from api.records import Records, Write

router = APIRouter()
participant_router = APIRouter()
checks_router = APIRouter()

# The fetch-or-404 dependencies apply the caller's reach; routes still name their permission first, so a
# forbidden role gets 403 before any lookup.


ConsentById = Annotated[Consent, Depends(by_id_in_reach(service.get, "consent_id"))]
ConsentToWrite = Annotated[Consent, Depends(by_id_in_reach(service.get, "consent_id", to_write=True))]
ParticipantById = Annotated[Participant, Depends(by_id_in_reach(service.participant, "participant_id"))]


def _public(session: Session, _: Reach, consent: Consent) -> ConsentPublic:
    return service.publics(session=session, consents=[consent])[0]


# A caller who may record consents but not read them (a `sync:write` key) gets a receipt, not the record.
records = Records(
    router,
    by_id=ConsentById,
    to_write=ConsentToWrite,
    public=ConsentPublic,
    reader=ConsentsRead,
    writer=ConsentsWrite,
    receipts=Record.consent,
    present=_public,
)


@dataclass
class ConsentFilters:
    participant_id: Annotated[uuid.UUID | None, Query(description="Only this young person's consents")] = None
    kind: Annotated[ConsentKind | None, Query(description="Only consents of this kind")] = None
    purpose: Annotated[Purpose | None, Query(description="Consents that name this purpose")] = None
    given_by: Annotated[
        GivenBy | None, Query(description="Only consents given by the young person or by a parent or carer")
    ] = None
    in_force: Annotated[
        QueryFlag | None, Query(description="Only those in force today (true) or not (false)")
    ] = None


records.list(
    "list_consents",
    "List consents",
    """The consent history, withdrawn and expired records included, ordered by `given_on` then id. Staff see
    the consents of the participants currently in their groups.""",
    call=service.list_,
    filters=ConsentFilters,
)


@records.create(
    "", summary="Record a consent", responses={**NOT_FOUND, **conflict(ProblemCode.consent_already_recorded)}
)
def create_consent(write: Write, data: ConsentCreate) -> Consent:
    """Record a consent with its purposes, who gave it and the evidence. Records are never edited: a change
    of mind is a withdrawal or a new record. Duplicate purposes are merged; image_use needs at least one.
    The same form is recorded once: a consent with the same participant, kind, an overlapping purpose and the
    same `evidence_ref` (or the same `given_on` and `given_by_name`) as one in force is a 409
    `consent_already_recorded` whose detail (and `existing_id`) names the consent already recorded, to a
    caller who may read consents."""
    return write.call(service.create, data=data)


@records.upsert(
    "/by-external-id/{external_id}",
    summary="Record or withdraw a consent by the CRM's id",
    responses={
        **NOT_FOUND,
        **conflict(ProblemCode.consent_is_append_only, ProblemCode.consent_already_recorded),
        **PRECONDITION,
    },
)
def upsert_consent_by_external_id(
    write: Write, external_id: str, data: ConsentUpsert
) -> tuple[Consent, WriteOutcome]:
    """The CRM's push of a full consent record, matched on `external_id`: recorded (201), unchanged (200), or
    withdrawn (200) when the push adds a `withdrawn_on` and otherwise matches. Consents are append-only: any
    other difference from the recorded consent is a 409 `consent_is_append_only` naming the fields; push a
    new consent under a new external id instead. Name the participant by `participant_id` or by
    `participant_external_id` (exactly one). Send If-Match to refuse the push (412) if the record changed
    since you read it. A new record of a form already recorded and in force (see `POST /consents`) is a 409
    `consent_already_recorded`; a withdrawal that leaves a use allowed by another consent lists it in
    `still_allowed_by`."""
    return write.call(crm.upsert_by_external_id, external_id=external_id, data=data)


records.get(
    "/{consent_id}",
    "get_consent",
    "Get a consent",
    """One consent record, with whether it is in force today and whether it is due for reconfirmation.
    The ETag header is the version to send back in If-Match.""",
)


@records.change(
    "post",
    "/{consent_id}/withdraw",
    summary="Withdraw a consent",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
def withdraw_consent(write: Write, consent: Consent, data: ConsentWithdraw) -> Consent:
    """Withdraw a consent from `withdrawn_on` (no use on that day or after). Not before it was given (422),
    not in the future (422), and only once (409); a stale If-Match is a 412. The record is kept. The answer's
    `still_allowed_by` lists the uses this consent covered that another consent still allows: the withdrawal
    has not stopped those."""
    return write.call(service.withdraw, consent=consent, withdrawn_on=data.withdrawn_on, reason=data.reason)


@participant_router.get(
    "/{participant_id}/consent-status",
    response_model=ConsentStatus,
    responses=NOT_FOUND,
    summary="A participant's consent status",
)
def get_participant_consent_status(
    session: SessionDep, _: ConsentsRead, participant: ParticipantById
) -> ConsentStatus:
    """What the participant's consents allow today, for each kind and, for image use, each purpose: the
    consent that allows it or why not, and whether it is due for the young person to reconfirm."""
    return checks.status(session=session, person=participant)


@participant_router.get(
    "/{participant_id}/consent-check",
    response_model=ConsentCheckResult,
    responses=NOT_FOUND,
    summary="Check a participant's consent",
)
def check_participant_consent(
    session: SessionDep,
    _: ConsentsRead,
    participant: ParticipantById,
    purpose: Annotated[
        Purpose | None,
        Query(
            description="Required for image_use (the default kind)",
            # "Try it out" fills it in: with the default kind, a check without one is a 422.
            openapi_examples={"website": {"summary": "On the website", "value": "website"}},
        ),
    ] = None,
    kind: Annotated[
        ConsentKind, Query(description="The kind of consent to check (image_use asks for a purpose)")
    ] = ConsentKind.image_use,
    on: Annotated[Day | None, Query(description="The day of use; today by default")] = None,
) -> ConsentCheckResult:
    """Whether the participant's consent allows this use on this day: `allowed` with the consent that allows
    it, or the reason (none, withdrawn, expired, wrong_purpose, given_by_wrong_person, not_yet_given)."""
    return checks.check(session=session, person=participant, kind=kind, purpose=purpose, on=on)


@checks_router.post("/consent-checks", response_model=ConsentChecksResult, summary="Check several consents")
def check_consents(
    session: SessionDep, _: ConsentsRead, reach: ReachDep, data: ConsentChecksRequest
) -> ConsentChecksResult:
    """One use for several participants (a group photo for the website): allowed only if every one is
    allowed, listing exactly those who block it. Unknown or unreachable ids are a 422 naming their index."""
    return checks.check_many(
        session=session,
        reach=reach,
        participant_ids=data.participant_ids,
        kind=data.kind,
        purpose=data.purpose,
        on=data.on,
    )


@checks_router.post(
    "/publication-checks",
    response_model=PublicationCheckResult,
    summary="Check a text and its pictures before publishing",
)
def check_publication(
    session: SessionDep, _: PublicationCheck, reach: ReachDep, data: PublicationCheckRequest
) -> PublicationCheckResult:
    """Before anything goes on the website or social media: every protected person's detail in the text
    (participants' names, emails and phones; carers' names, emails and phones; consent givers' names; staff
    names, emails and personal phones), found in any spelling (case, accents, letters such as ø or ł,
    invisible characters, dashes and apostrophes, HTML between the parts), with offsets into the text as
    sent; and, for the participants pictured, whether an image consent in force today covers `purpose`.
    `clean` only if nothing was found and every pictured person is covered.

    Staff are told whose a detail is only for people in their groups (and their own); for anyone else only
    the span and "A protected person's detail". Pictured ids outside your reach are refused exactly as
    unknown ones (422 naming the field). Limited per user a minute (429), and a text with many phone- or
    email-shaped strings is refused (422 `text`). Each check is audited, without its text."""
    return publication_check.check(session=session, reach=reach, data=data)
