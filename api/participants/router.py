from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.permissions import ParticipantsRead, ParticipantsWrite
from api.auth.reach import Record
from api.common import QueryFlag, WriteOutcome
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION
from api.external_ids import EXTERNAL_ID, EXTERNAL_ID_MAX
from api.lookups import by_id_in_reach
from api.participants import service
from api.participants.models import (
    Participant,
    ParticipantCreate,
    ParticipantLeave,
    ParticipantPublic,
    ParticipantUpdate,
)
from api.records import Records, Write

router = APIRouter()

ParticipantById = Annotated[Participant, Depends(by_id_in_reach(service.get, "participant_id"))]
ParticipantToWrite = Annotated[
    Participant, Depends(by_id_in_reach(service.get, "participant_id", to_write=True))
]
# A caller who may write participants but not read them (a `sync:write` key) gets a receipt, not the record.
records = Records(
    router,
    by_id=ParticipantById,
    to_write=ParticipantToWrite,
    public=ParticipantPublic,
    reader=ParticipantsRead,
    writer=ParticipantsWrite,
    receipts=Record.participant,
)


@dataclass
class ParticipantFilters:
    current: Annotated[
        QueryFlag | None, Query(description="Only those taking part (true) or not (false)")
    ] = None
    external_id: Annotated[
        str | None, Query(min_length=1, max_length=EXTERNAL_ID_MAX, description="The CRM's id"), EXTERNAL_ID
    ] = None
    q: Annotated[str | None, Query(max_length=200, description="Part of the name")] = None
    group_id: Annotated[uuid.UUID | None, Query(description="Only current members of this group")] = None


records.list(
    "list_participants",
    "List participants",
    """The participants the caller may see, ordered by name. Staff see only the participants currently in
    a group they are currently in. Participants who left stay listed with their `left_on`.""",
    call=service.list_,
    filters=ParticipantFilters,
)


@records.create("", summary="Add a participant", responses=CONFLICT)
def create_participant(write: Write, data: ParticipantCreate) -> Participant:
    """Add a child, young person or vulnerable adult. `external_id` (the CRM's id) must be unique (409).
    A caller who may not read participants gets only the id, version and status."""
    return write.call(service.create, data=data)


@records.upsert(
    "/by-external-id/{external_id}",
    summary="Create or replace a participant by the CRM's id",
    responses={**CONFLICT, **PRECONDITION},
)
def upsert_participant_by_external_id(
    write: Write, external_id: str, data: ParticipantCreate
) -> tuple[Participant, WriteOutcome]:
    """The CRM's push: creates the record (201) or replaces it (200), matched on `external_id`. The body is
    the full record (a field left out becomes empty). Pushing the same record again changes nothing. A
    `left_on` is recorded as any edit is; memberships are ended separately. Send If-Match to refuse the
    change (412) if the record changed since you read it."""
    return write.call(service.upsert_by_external_id, external_id=external_id, data=data)


records.get(
    "/{participant_id}",
    "get_participant",
    "Get a participant",
    """One participant; 404 if there is none with this id or it is out of the caller's reach. The ETag
    header is the version to send back in If-Match.""",
)


@records.change(
    "patch",
    "/{participant_id}",
    summary="Update a participant",
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
)
def update_participant(write: Write, participant: Participant, data: ParticipantUpdate) -> Participant:
    """Change the fields sent. Dates must stay in order: born, then joined, then left. Send If-Match to
    refuse the change (412) if someone else changed the record since you read it."""
    return write.call(service.update, participant=participant, data=data)


@records.change(
    "post",
    "/{participant_id}/leave",
    summary="Record a participant leaving",
    responses={**NOT_FOUND, **PRECONDITION},
)
def leave_participant(write: Write, participant: Participant, data: ParticipantLeave) -> Participant:
    """Record the first day a participant no longer takes part. The record is kept, and so are their group
    memberships: end those separately once they are removed from the online group itself."""
    return write.call(service.leave, participant=participant, left_on=data.left_on)


@records.upsert(
    "/by-external-id/{external_id}",
    method="patch",
    # The demo's own (`make run`), so Swagger UI's "Try it out" changes a record that exists.
    example="CRM-P0001",
    summary="Create or update the fields sent of a participant, by the CRM's id",
    responses={**CONFLICT, **PRECONDITION},
)
def merge_participant_by_external_id(
    write: Write, external_id: str, data: ParticipantUpdate
) -> tuple[Participant, WriteOutcome]:
    """The CRM's partial push, matched on `external_id`: the fields sent change, the fields left out keep
    their values (a carer's phone the CRM does not know stays as recorded), `null` clears a field that may
    be empty (a JSON merge patch, RFC 7396). 200 with the record when it existed (unchanged if nothing sent
    differs); when none has this external id, 201 with `Location`, if the body has every field a create
    requires (`full_name`, `date_of_birth`, `joined_on`), otherwise 422 naming each missing one and nothing
    written. Dates must stay in order: born, then joined, then left. If-Match: 412 if the record moved on.
    Use `PUT` to send the whole record (a field left out becomes empty). A caller who may write but not
    read participants (a `sync:write` key) gets 403 `whole_records_only`: a patch is checked against the
    stored record, which would tell them what is stored."""
    return write.call(service.merge_by_external_id, external_id=external_id, data=data)
