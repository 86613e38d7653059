from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from sqlmodel import Session

from api.auth.permissions import SyncWrite
from api.auth.reach import Reach, ReachDep, Record
from api.common import WriteOutcome
from api.consents import crm as consents_crm
from api.consents import service as consents_service
from api.consents.models import ConsentMerge, ConsentUpsert
from api.db import Timestamped
from api.deps import SessionDep
from api.errors import FieldError, Forbidden, Responses, problem
from api.participants import service as participants_service
from api.participants.models import ParticipantCreate, ParticipantUpdate
from api.problems import ProblemCode
from api.staff import service as staff_service
from api.staff.models import StaffCreate, StaffUpdate
from api.sync import service
from api.sync.models import (
    ConsentSyncRequest,
    ParticipantSyncRequest,
    StaffSyncRequest,
    SyncMode,
    SyncResponse,
    SyncStatus,
)

router = APIRouter()

WHOLE_RECORDS_ONLY: Responses = {
    403: problem(
        "`whole_records_only`: `mode: merge` from a caller who may write these records but not read them "
        "(send whole records, `mode: replace`); `forbidden` for a caller who may not sync",
        ProblemCode.whole_records_only,
        ProblemCode.forbidden,
    )
}
INTERRUPTED: Responses = {
    **WHOLE_RECORDS_ONLY,
    503: problem(
        "The database failed: `sync_interrupted` when it failed part way, with `records_saved`, `failed_at` "
        "and the `results` up to the failure. Send the same batch again (with the same Idempotency-Key).",
        ProblemCode.sync_interrupted,
        ProblemCode.database_unavailable,
    ),
}


# `mode` defaults to `replace` (the README's "PUT, PATCH or sync: which to use when" says why): it is what
# every integrator's batch meant before `mode` existed. One that clears a field by leaving it out (a carer's
# number the family withdrew, a personal address someone asked to be forgotten) would, after a silent switch
# to `merge`, keep the old value, with nothing in the answer to say so: a wrong contact kept for a child is
# worse than the visible loss a partial push under `replace` causes (the record answered shows it), which
# one field, `mode: merge`, prevents.


def _whole_records_only(reach: Reach, kind: Record, mode: SyncMode) -> None:
    """403 `whole_records_only`, naming `mode`, for a merge by a caller who may write `kind` but not read it
    (a `sync:write` key): each merged record is checked against the stored one (dates in order, a consent's
    recorded fields), and its rejection would tell them what is stored. Refused for the whole request, before
    any record is written, so the answer depends on nothing stored."""
    if mode is SyncMode.merge and not reach.reads(kind):
        message = "a caller who may write but not read these records pushes whole records: use replace"
        raise Forbidden(
            "mode merge is refused: this caller may write but not read these records, so it sends each "
            "record whole (mode replace, the default; a field left out becomes empty)",
            code=ProblemCode.whole_records_only,
            errors=[FieldError(field="mode", message=message, type="whole_records_only")],
        )


# One way a batch writes its records: (the body's schema, the single push's verb by external id).
Verb = tuple[type[Any], Callable[..., tuple[Timestamped, WriteOutcome]]]


def _pushed(
    session: Session,
    reach: Reach,
    body: StaffSyncRequest | ParticipantSyncRequest | ConsentSyncRequest,
    record: Record,
    *,
    replace: Verb,
    merge: Verb,
    people: service.People,
) -> SyncResponse:
    """The batch, each record through the verb the single push uses (`replace`: the PUT's, `merge`: the
    PATCH's, as `body.mode` says, told the caller's reach), blind to
    `record` as that push is: a caller who may write but not read these records learns nothing of those
    stored, and gets `groups_changed` only if they read them."""
    schema, verb = merge if body.mode is SyncMode.merge else replace

    def upsert(external_id: str, data: Any) -> tuple[Timestamped, WriteOutcome]:
        with reach.blind(record):
            return verb(session=session, reach=reach, external_id=external_id, data=data)

    return service.sync(
        session=session,
        records=body.records,
        push=service.Push(schema, upsert),
        people=people,
        mode=body.mode,
        reports_groups=reach.reads(record),
    )


@router.post("/staff", response_model=SyncResponse, responses=INTERRUPTED, summary="Sync staff in bulk")
def sync_staff(session: SessionDep, _: SyncWrite, reach: ReachDep, body: StaffSyncRequest) -> SyncResponse:
    """Up to 1,000 staff records, matched on `external_id`. `mode: replace` (the default, as before `mode`
    existed): each is the whole record, as `PUT /staff/by-external-id/{id}` takes it, and a field left out
    becomes empty. `mode: merge`: each is a patch, as `PATCH /staff/by-external-id/{id}` takes it, and a
    field left out keeps its value (send it when your system pushes only the fields it knows). Each is
    answered on its own, in input order: created, updated, unchanged, or rejected with the reason; a
    rejected record changes nothing and never blocks the others. `groups_changed` lists the groups (of
    those the batch's staff are in) whose compliance status the batch changed. A key that may write but not
    read staff: 403 `whole_records_only` for `mode: merge`. A key created with `require_if_match`: each
    record of an existing member of staff is rejected with `precondition_required` (a batch sends no
    If-Match); new ones are created."""

    _whole_records_only(reach, Record.staff, body.mode)

    return _pushed(
        session,
        reach,
        body,
        Record.staff,
        replace=(StaffCreate, staff_service.upsert_by_external_id),
        merge=(StaffUpdate, staff_service.merge_by_external_id),
        people=service.staff_in(body.records),
    )


@router.post(
    "/participants", response_model=SyncResponse, responses=INTERRUPTED, summary="Sync participants in bulk"
)
def sync_participants(
    session: SessionDep, _: SyncWrite, reach: ReachDep, body: ParticipantSyncRequest
) -> SyncResponse:
    """Up to 1,000 participant records, matched on `external_id`. `mode: replace` (the default, as before
    `mode` existed): each is the whole record, as `PUT /participants/by-external-id/{id}` takes it, and a
    field left out (a carer's phone, say) becomes empty. `mode: merge`: each is a patch, as
    `PATCH /participants/by-external-id/{id}` takes it, and a field left out keeps its value (send it when
    your system pushes only the fields it knows). Each is answered on its own, in input order: created,
    updated, unchanged, or rejected with the reason; a rejected record changes nothing and never blocks the
    others. `groups_changed` lists the groups (of those the batch's participants are in) whose compliance
    status the batch changed. A key that may write but not read participants: 403 `whole_records_only` for
    `mode: merge`. A key created with `require_if_match`: each record of an existing participant is rejected
    with `precondition_required` (a batch sends no If-Match); new ones are created."""

    _whole_records_only(reach, Record.participant, body.mode)

    return _pushed(
        session,
        reach,
        body,
        Record.participant,
        replace=(ParticipantCreate, participants_service.upsert_by_external_id),
        merge=(ParticipantUpdate, participants_service.merge_by_external_id),
        people=service.participants_in(body.records),
    )


@router.post("/consents", response_model=SyncResponse, responses=INTERRUPTED, summary="Sync consents in bulk")
def sync_consents(
    session: SessionDep, _: SyncWrite, reach: ReachDep, body: ConsentSyncRequest
) -> SyncResponse:
    """Up to 1,000 consent records, matched on `external_id`, each as `PUT /consents/by-external-id/{id}`
    takes it: a new consent is created, an identical one unchanged, one that adds a `withdrawn_on` is
    withdrawn (updated); any other change is rejected with the code `consent_is_append_only` (push it under
    a new external id), and a second record of a form already recorded and in force with
    `consent_already_recorded` (its detail names that consent). `mode: replace` (the default) takes each
    record whole; `mode: merge` takes the fields a record leaves out from the consent recorded under its
    external id, so `external_id` and `withdrawn_on` alone withdraw it. A withdrawal that leaves a use
    allowed by another consent lists it in `still_allowed_by`. Answered one by one, in input order; a
    rejected record changes nothing and never blocks the others. `groups_changed` lists the groups (of those
    the batch's participants are in) whose compliance status the batch changed. A key that may write but not
    read consents: 403 `whole_records_only` for `mode: merge`. A key created with `require_if_match`: each
    record of a consent already recorded is rejected with `precondition_required`; new ones are recorded."""

    _whole_records_only(reach, Record.consent, body.mode)

    answer = _pushed(
        session,
        reach,
        body,
        Record.consent,
        replace=(ConsentUpsert, consents_crm.upsert_by_external_id),
        merge=(ConsentMerge, consents_crm.merge_by_external_id),
        people=service.consent_participants_in(body.records),
    )
    if reach.reads(Record.consent):  # a write-only key gets receipts, nothing about other records
        written = [r.id for r in answer.results if r.id is not None and r.status is not SyncStatus.unchanged]
        still = consents_service.still_allowed_by_id(session=session, consent_ids=written)
        for result in answer.results:
            if result.id in still:
                result.still_allowed_by = still[result.id]
    return answer
