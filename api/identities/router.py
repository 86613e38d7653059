from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import crud
from api.auth.permissions import IdentitiesRead, IdentitiesWrite
from api.auth.reach import Reach, ReachDep, Record
from api.common import Page, PageDep, QueryFlag, WriteOutcome, WriteReceipt
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, Responses, problem
from api.identities import service
from api.identities.models import IdentityCreate, IdentityEnd, IdentityPublic, PlatformIdentity
from api.preconditions import IfMatch, set_etag
from api.problems import ProblemCode

router = APIRouter()

Written = IdentityPublic | WriteReceipt
NOT_YOURS: Responses = {
    403: problem(
        "The caller's role may not use this route (`forbidden`), or they may read the person but not change "
        "their records (`not_your_record`): the detail says whom to ask",
        ProblemCode.forbidden,
        ProblemCode.not_your_record,
    )
}


def _written(
    reach: Reach, identity: PlatformIdentity, outcome: WriteOutcome, response: Response
) -> PlatformIdentity | WriteReceipt:
    """The identity written, with its ETag: the record, or a receipt for a caller who may write but not
    read the person it belongs to (a member of staff's or a young person's)."""
    set_etag(response, identity.version)
    kind = Record.staff if identity.staff_id is not None else Record.participant
    return reach.answer(kind, identity, outcome)


@router.get("", response_model=Page[IdentityPublic], summary="List platform identities")
def list_identities(
    session: SessionDep,
    _: IdentitiesRead,
    reach: ReachDep,
    paging: PageDep,
    staff_id: Annotated[uuid.UUID | None, Query(description="Only this member of staff's identities")] = None,
    participant_id: Annotated[
        uuid.UUID | None, Query(description="Only this young person's identities")
    ] = None,
    current: Annotated[QueryFlag | None, Query(description="Only not ended (true) or ended (false)")] = None,
) -> Page[PlatformIdentity]:
    """How the people the caller may read appear on platforms: a young person's only to those who may read
    the young person, a member of staff's to those who read the staff directory; an unverified claim only to
    its claimant and the coordinators."""
    return service.list_(
        session=session,
        reach=reach,
        paging=paging,
        staff_id=staff_id,
        participant_id=participant_id,
        current=current,
    )


@router.post(
    "",
    response_model=Written,
    status_code=status.HTTP_201_CREATED,
    responses={**CONFLICT, **NOT_YOURS},
    summary="Record a platform identity",
)
def record_identity(
    session: SessionDep, _: IdentitiesWrite, reach: ReachDep, data: IdentityCreate, response: Response
) -> PlatformIdentity | WriteReceipt:
    """Record a handle, profile URL, user id (`kind: handle`, with its `platform`), email address or phone
    number for exactly one member of staff or participant. Rosters are matched against these. Recorded by a
    coordinator or the CRM it is verified, and 409 (field `value`) when someone else holds the same
    normalised value as an identity or a contact detail. A member of staff's own is an unverified claim
    (`verified_at` null) until a coordinator verifies it, and the answer is the same whether or not it
    clashes: it tells nobody whether a value belongs to someone (docs/rosters.md). 409 when the person has
    it already."""
    identity = service.record(session=session, reach=reach, data=data)
    return _written(reach, identity, "created", response)


@router.post(
    "/{identity_id}/end",
    response_model=Written,
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
    summary="End a platform identity",
)
def end_identity(
    session: SessionDep,
    _: IdentitiesWrite,
    reach: ReachDep,
    identity_id: uuid.UUID,
    data: IdentityEnd,
    expected_version: IfMatch,
    response: Response,
) -> PlatformIdentity | WriteReceipt:
    """The person no longer uses this identity from `ended_on`; it stays as history. 404 for an identity of
    a person the caller may not change; 422 naming `ended_on` for a day before the identity was recorded
    or after today; 409 once ended."""
    identity = service.get_writable(session=session, reach=reach, identity_id=identity_id)
    identity = service.end(
        session=session,
        reach=reach,
        identity=identity,
        ended_on=data.ended_on,
        expected_version=expected_version,
    )
    return _written(reach, identity, "updated", response)


@router.post(
    "/{identity_id}/verify",
    response_model=Written,
    responses={**NOT_FOUND, **CONFLICT, **PRECONDITION},
    summary="Verify a member of staff's claimed identity",
)
def verify_identity(
    session: SessionDep,
    _: IdentitiesWrite,
    reach: ReachDep,
    identity_id: uuid.UUID,
    expected_version: IfMatch,
    response: Response,
) -> PlatformIdentity | WriteReceipt:
    """A coordinator confirms a member of staff's own claim is theirs: from then on it matches roster
    entries and is shown as theirs. 404 for a caller who does not verify (a coordinator or the CRM's key)
    or an unknown identity; 409 naming `value` when someone else holds the value (the clash a member of
    staff was not told of), naming `verified_at` when already verified."""
    identity = crud.get_or_404(session, PlatformIdentity, identity_id, "identity")
    identity = service.verify(
        session=session, reach=reach, identity=identity, expected_version=expected_version
    )
    return _written(reach, identity, "updated", response)
