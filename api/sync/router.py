from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth.principal import Principal, require
from api.auth.roles import Permission
from api.deps import SessionDep
from api.staff import service as staff_service
from api.staff.models import Staff, StaffCreate
from api.sync import service
from api.sync.service import SyncRequest, SyncResponse

router = APIRouter()

Syncer = Annotated[Principal, Depends(require(Permission.SYNC_WRITE))]


@router.post("/staff", response_model=SyncResponse, summary="Sync staff in bulk")
def sync_staff(session: SessionDep, caller: Syncer, body: SyncRequest) -> SyncResponse:
    """Up to 1,000 full staff records, matched on `external_id`. Each is answered on its own, in input order:
    created, updated, unchanged, or rejected with the reason; a rejected record changes nothing and never
    blocks the others."""

    def upsert(external_id: str, data: StaffCreate) -> tuple[Staff, service.Upserted]:
        return staff_service.upsert_by_external_id(
            session=session, actor=caller, external_id=external_id, data=data
        )

    results = service.run(session=session, records=body.records, schema=StaffCreate, upsert=upsert)
    return service.respond(results)
