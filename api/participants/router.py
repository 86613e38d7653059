from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from api.auth.principal import Principal, require
from api.auth.reach import ReachDep, Record
from api.auth.roles import Permission
from api.common import (
    Page,
    PageDep,
    QueryFlag,
    WriteOutcome,
    WriteReceipt,
    created_responses,
    set_location,
)
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION
from api.participants import service
from api.participants.models import (
    Participant,
    ParticipantCreate,
    ParticipantLeave,
    ParticipantPublic,
    ParticipantUpdate,
)
from api.preconditions import IfMatch, set_etag

router = APIRouter()

Reader = Annotated[Principal, Depends(require(Permission.PARTICIPANT_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PARTICIPANT_WRITE))]


def participant_or_404(participant_id: uuid.UUID, session: SessionDep, reach: ReachDep) -> Participant:
    # Routes declare their permission first, so by the time this runs the caller's role may use the route;
    # what is left is reach: a participant out of it is a 404, exactly as one that does not exist.
    return service.get(session=session, reach=reach, participant_id=participant_id)


def participant_to_write_or_404(
    participant_id: uuid.UUID, session: SessionDep, reach: ReachDep
) -> Participant:
    return service.get(session=session, reach=reach, participant_id=participant_id, to_write=True)


ParticipantById = Annotated[Participant, Depends(participant_or_404)]
ParticipantToWrite = Annotated[Participant, Depends(participant_to_write_or_404)]
# A caller who may write participants but not read them (a `sync:write` key) gets a receipt, not the record.
Written = ParticipantPublic | WriteReceipt


@router.get("", response_model=Page[ParticipantPublic], summary="List participants")
def list_participants(
    session: SessionDep,
    _: Reader,
    reach: ReachDep,
    paging: PageDep,
    current: Annotated[
        QueryFlag | None, Query(description="Only those taking part (true) or not (false)")
    ] = None,
    external_id: Annotated[str | None, Query(max_length=100, description="The CRM's id")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Part of the name")] = None,
    group_id: Annotated[uuid.UUID | None, Query(description="Only current members of this group")] = None,
) -> Page[Participant]:
    """The participants the caller may see, ordered by name. Staff see only the participants currently in
    a group they are currently in. Participants who left stay listed with their `left_on`."""
    return service.list_(
        session=session,
        reach=reach,
        paging=paging,
        current=current,
        external_id=external_id,
        q=q,
        group_id=group_id,
    )


@router.post(
    "",
    response_model=Written,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Add a participant",
)
def create_participant(
    session: SessionDep, _: Writer, reach: ReachDep, data: ParticipantCreate, response: Response
) -> Participant | WriteReceipt:
    """Add a child, young person or vulnerable adult. `external_id` (the CRM's id) must be unique (409).
    A caller who may not read participants gets only the id, version and status."""
    with reach.blind(Record.participant):
        participant = service.create(session=session, reach=reach, data=data)
    set_etag(response, participant.version)
    return reach.answer(Record.participant, participant, "created")


@router.put(
    "/by-external-id/{external_id}",
    response_model=Written,
    responses={201: {"model": Written, "description": "Created"}, **CONFLICT, **PRECONDITION},
    summary="Create or replace a participant by the CRM's id",
)
def upsert_participant_by_external_id(
    session: SessionDep,
    _: Writer,
    reach: ReachDep,
    external_id: Annotated[str, Path(min_length=1, max_length=100)],
    data: ParticipantCreate,
    expected_version: IfMatch,
    response: Response,
) -> Participant | WriteReceipt:
    """The CRM's push: creates the record (201) or replaces it (200), matched on `external_id`. The body is
    the full record (a field left out becomes empty). Pushing the same record again changes nothing. A
    `left_on` is recorded as any edit is; memberships are ended separately. Send If-Match to refuse the
    change (412) if the record changed since you read it."""
    with reach.blind(Record.participant):
        participant, outcome = service.upsert_by_external_id(
            session=session,
            reach=reach,
            external_id=external_id,
            data=data,
            expected_version=expected_version,
        )
    response.status_code = status.HTTP_201_CREATED if outcome == "created" else status.HTTP_200_OK
    set_etag(response, participant.version)
    return reach.answer(Record.participant, participant, outcome)


@router.get(
    "/{participant_id}", response_model=ParticipantPublic, responses=NOT_FOUND, summary="Get a participant"
)
def get_participant(_: Reader, participant: ParticipantById, response: Response) -> Participant:
    """One participant; 404 if there is none with this id or it is out of the caller's reach. The ETag
    header is the version to send back in If-Match."""
    set_etag(response, participant.version)
    return participant


@router.patch(
    "/{participant_id}",
    response_model=Written,
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
    summary="Update a participant",
)
def update_participant(
    session: SessionDep,
    _: Writer,
    reach: ReachDep,
    participant: ParticipantToWrite,
    data: ParticipantUpdate,
    expected_version: IfMatch,
    response: Response,
) -> Participant | WriteReceipt:
    """Change the fields sent. Dates must stay in order: born, then joined, then left. Send If-Match to
    refuse the change (412) if someone else changed the record since you read it."""
    version = participant.version
    with reach.blind(Record.participant):
        participant = service.update(
            session=session,
            reach=reach,
            participant=participant,
            data=data,
            expected_version=expected_version,
        )
    set_etag(response, participant.version)
    outcome: WriteOutcome = "unchanged" if participant.version == version else "updated"
    return reach.answer(Record.participant, participant, outcome)


@router.post(
    "/{participant_id}/leave",
    response_model=Written,
    responses={**NOT_FOUND, **PRECONDITION},
    summary="Record a participant leaving",
)
def leave_participant(
    session: SessionDep,
    _: Writer,
    reach: ReachDep,
    participant: ParticipantToWrite,
    data: ParticipantLeave,
    expected_version: IfMatch,
    response: Response,
) -> Participant | WriteReceipt:
    """Record the first day a participant no longer takes part. The record is kept, and so are their group
    memberships: end those separately once they are removed from the online group itself."""
    with reach.blind(Record.participant):
        participant = service.leave(
            session=session,
            reach=reach,
            participant=participant,
            left_on=data.left_on,
            expected_version=expected_version,
        )
    set_etag(response, participant.version)
    return reach.answer(Record.participant, participant, "updated")


@router.patch(
    "/by-external-id/{external_id}",
    response_model=Written,
    responses={**created_responses(Written), **CONFLICT, **PRECONDITION},
    summary="Create or update the fields sent of a participant, by the CRM's id",
)
def merge_participant_by_external_id(
    session: SessionDep,
    _: Writer,
    reach: ReachDep,
    external_id: Annotated[
        str,
        # The demo's own (`make run`), so Swagger UI's "Try it out" changes a record that exists.
        Path(min_length=1, max_length=100, description="The CRM's id", examples=["CRM-P0001"]),
    ],
    data: ParticipantUpdate,
    expected_version: IfMatch,
    request: Request,
    response: Response,
) -> Participant | WriteReceipt:
    """The CRM's partial push, matched on `external_id`: the fields sent change, the fields left out keep
    their values (a carer's phone the CRM does not know stays as recorded), `null` clears a field that may
    be empty (a JSON merge patch, RFC 7396). 200 with the record when it existed (unchanged if nothing sent
    differs); when none has this external id, 201 with `Location`, if the body has every field a create
    requires (`full_name`, `date_of_birth`, `joined_on`), otherwise 422 naming each missing one and nothing
    written. Dates must stay in order: born, then joined, then left. If-Match: 412 if the record moved on.
    Use `PUT` to send the whole record (a field left out becomes empty)."""
    with reach.blind(Record.participant):
        participant, outcome = service.merge_by_external_id(
            session=session,
            reach=reach,
            external_id=external_id,
            data=data,
            expected_version=expected_version,
        )
    if outcome == "created":
        response.status_code = status.HTTP_201_CREATED
        set_location(response, request, "get_participant", participant_id=str(participant.id))
    set_etag(response, participant.version)
    return reach.answer(Record.participant, participant, outcome)
