from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth.principal import Principal, require
from api.auth.reach import ReachDep, Record
from api.auth.roles import Permission
from api.common import WriteOutcome
from api.consents import crm as consents_crm
from api.consents import service as consents_service
from api.consents.models import Consent, ConsentUpsert
from api.deps import SessionDep
from api.errors import Responses, problem
from api.participants import service as participants_service
from api.participants.models import Participant, ParticipantCreate
from api.problems import ProblemCode
from api.staff import service as staff_service
from api.staff.models import Staff, StaffCreate
from api.sync import service
from api.sync.models import (
    ConsentSyncRequest,
    ParticipantSyncRequest,
    StaffSyncRequest,
    SyncResponse,
    SyncStatus,
)

router = APIRouter()

Syncer = Annotated[Principal, Depends(require(Permission.SYNC_WRITE))]
INTERRUPTED: Responses = {
    503: problem(
        "The database failed: `sync_interrupted` when it failed part way, with `records_saved`, `failed_at` "
        "and the `results` up to the failure. Send the same batch again (with the same Idempotency-Key).",
        ProblemCode.sync_interrupted,
        ProblemCode.database_unavailable,
    )
}


@router.post("/staff", response_model=SyncResponse, responses=INTERRUPTED, summary="Sync staff in bulk")
def sync_staff(session: SessionDep, _: Syncer, reach: ReachDep, body: StaffSyncRequest) -> SyncResponse:
    """Up to 1,000 full staff records, matched on `external_id`, each as `PUT /staff/by-external-id/{id}`
    takes it. Each is answered on its own, in input order: created, updated, unchanged, or rejected with the
    reason; a rejected record changes nothing and never blocks the others. `groups_changed` lists the groups
    (of those the batch's staff are in) whose compliance status the batch changed."""

    def upsert(external_id: str, data: StaffCreate) -> tuple[Staff, WriteOutcome]:
        with reach.blind(Record.staff):
            return staff_service.upsert_by_external_id(
                session=session, caller=reach.caller, external_id=external_id, data=data
            )

    return service.sync(
        session=session,
        records=body.records,
        schema=StaffCreate,
        upsert=upsert,
        people=service.staff_in(body.records),
        reports_groups=reach.reads(Record.staff),
    )


@router.post(
    "/participants", response_model=SyncResponse, responses=INTERRUPTED, summary="Sync participants in bulk"
)
def sync_participants(
    session: SessionDep, _: Syncer, reach: ReachDep, body: ParticipantSyncRequest
) -> SyncResponse:
    """Up to 1,000 full participant records, matched on `external_id`, each as
    `PUT /participants/by-external-id/{id}` takes it. Each is answered on its own, in input order: created,
    updated, unchanged, or rejected with the reason; a rejected record changes nothing and never blocks the
    others. `groups_changed` lists the groups (of those the batch's participants are in) whose compliance
    status the batch changed."""

    def upsert(external_id: str, data: ParticipantCreate) -> tuple[Participant, WriteOutcome]:
        with reach.blind(Record.participant):
            return participants_service.upsert_by_external_id(
                session=session, reach=reach, external_id=external_id, data=data
            )

    return service.sync(
        session=session,
        records=body.records,
        schema=ParticipantCreate,
        upsert=upsert,
        people=service.participants_in(body.records),
        reports_groups=reach.reads(Record.participant),
    )


@router.post("/consents", response_model=SyncResponse, responses=INTERRUPTED, summary="Sync consents in bulk")
def sync_consents(session: SessionDep, _: Syncer, reach: ReachDep, body: ConsentSyncRequest) -> SyncResponse:
    """Up to 1,000 full consent records, matched on `external_id`, each as
    `PUT /consents/by-external-id/{id}` takes it: a new consent is created, an identical one unchanged, one
    that adds a `withdrawn_on` is withdrawn (updated); any other change is rejected with the code
    `consent_is_append_only` (push it under a new external id), and a second record of a form already
    recorded and in force with `consent_already_recorded` (its detail names that consent). A withdrawal
    that leaves a use allowed by another consent lists it in `still_allowed_by`. Answered one by one, in
    input order; a rejected record changes nothing and never blocks the others. `groups_changed` lists the
    groups (of those the batch's participants are in) whose compliance status the batch changed."""

    def upsert(external_id: str, data: ConsentUpsert) -> tuple[Consent, WriteOutcome]:
        with reach.blind(Record.consent):
            return consents_crm.upsert_by_external_id(
                session=session, reach=reach, external_id=external_id, data=data
            )

    answer = service.sync(
        session=session,
        records=body.records,
        schema=ConsentUpsert,
        upsert=upsert,
        people=service.consent_participants_in(body.records),
        reports_groups=reach.reads(Record.consent),
    )
    if reach.reads(Record.consent):  # a write-only key gets receipts, nothing about other records
        written = [r.id for r in answer.results if r.id is not None and r.status is not SyncStatus.unchanged]
        still = consents_service.still_allowed_by_id(session=session, consent_ids=written)
        for result in answer.results:
            if result.id in still:
                result.still_allowed_by = still[result.id]
    return answer
