"""Roster routes, under /groups/{group_id}/rosters."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from api.auth.permissions import RostersRead, RostersResolve, RostersWrite
from api.auth.reach import ReachDep, Record
from api.common import YYYY_MM_DD, Page, PageDep, WriteReceipt
from api.deps import SessionDep
from api.errors import (
    CONFLICT,
    NOT_FOUND,
    PRECONDITION,
    FieldError,
    Responses,
    UnsupportedMediaType,
    conflict,
    problem,
)
from api.groups.models import Group
from api.preconditions import refuse_create_only
from api.problems import ProblemCode
from api.rosters import answers, etags, parse, reading, service
from api.rosters.models import (
    ApplyIn,
    ApplyResult,
    EntryPublic,
    GroupRoster,
    ResolutionIn,
    RosterPublic,
    RosterUpload,
)

router = APIRouter()

IF_MATCH_REQUIRED: Responses = {428: problem("No If-Match header with the roster's ETag")}

RosterIfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="The roster's ETag as read (strong): it covers the roster and everything its "
        "reconciliation is judged against (the day, the group, its memberships in force, the dates of the "
        "people it names, the platform identities), so a change to any of them since is a 412. Required "
        "(428 without it), and it has no example: copy it from the `ETag` header of "
        "`GET /api/v1/groups/{group_id}/rosters/{roster_id}` just before, as it moves on with every answer",
    ),
]
# `If-None-Match: *` on an answer or an apply: the roster exists, so 412 (`if_match` refuses it elsewhere).
CreateOnlyRefused = Annotated[None, Depends(refuse_create_only)]
NOT_ADMIN: Responses = {
    403: problem(
        "The caller's role may not use this route (`forbidden`), they do not admin this group "
        "(`not_group_admin`), or only a coordinator may do what the list asks (`coordinator_only`, "
        "`not_your_record`): the detail says whom to ask",
        ProblemCode.forbidden,
        ProblemCode.not_group_admin,
        ProblemCode.coordinator_only,
        ProblemCode.not_your_record,
    )
}
UNSUPPORTED: Responses = {415: problem("The body is neither application/json nor text/csv")}
APPLY_CONFLICT = conflict(ProblemCode.roster_unresolved, ProblemCode.removals_unconfirmed)

# The upload reads its body itself (JSON or CSV), so the spec is told its two forms here.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RosterUpload"}},
            "text/csv": {
                "schema": {
                    "type": "string",
                    "examples": [
                        "display_name,handle,email,phone,platform_role,joined_on\n"
                        "Leah Marchant,,leah.marchant@riverbankmusic.org.uk,,admin,2025-09-01\n"
                        "Maya Okafor,maya.okafor,,,member,08/09/2025\n"
                    ],
                },
            },
        },
    }
}
# Models the spec names that no route's signature declares (see api.main.declare_extra_schemas).
BODY_MODELS = (RosterUpload,)
# apply's body is optional: without one, nothing is confirmed.
NO_CONFIRMATION = ApplyIn()


async def _entries(request: Request) -> parse.Parsed:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if media == "text/csv":
        entries, source = parse.read_csv(body)
        return entries, None, source
    if media != "application/json" and not media.endswith("+json"):
        message = "Send the list as application/json or text/csv"
        raise UnsupportedMediaType(
            message, errors=[FieldError(field="body", message=message, type="value_error")]
        )
    return parse.read_json(body)


def writable_group(group_id: uuid.UUID, session: SessionDep, reach: ReachDep) -> Group:
    # Declared after the permission, so the role check answers first; before the body, so a group out of
    # reach is a 404 whatever was sent.
    return service.writable_group(session=session, reach=reach, group_id=group_id)


WritableGroup = Annotated[Group, Depends(writable_group)]


def upload_allowance(group: WritableGroup, session: SessionDep, reach: ReachDep) -> None:
    # After the group (a 404 counts nothing), before the body: a refused list is counted too.
    service.count_upload(session=session, reach=reach)


UploadAllowance = Annotated[None, Depends(upload_allowance)]
Upload = Annotated[parse.Parsed, Depends(_entries)]


@router.post(
    "/{group_id}/rosters",
    response_model=RosterPublic | WriteReceipt,
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_FOUND, **CONFLICT, **NOT_ADMIN, **UNSUPPORTED},
    openapi_extra=UPLOAD_BODY,
    summary="Upload a group's member list",
)
def upload_roster(
    session: SessionDep,
    _: RostersWrite,
    reach: ReachDep,
    group: WritableGroup,
    _allowance: UploadAllowance,
    upload: Upload,
    response: Response,
    captured_on: Annotated[
        date | None,
        Query(description="For CSV: the day the list was taken from the platform; today if left out"),
        YYYY_MM_DD,
    ] = None,
) -> RosterPublic | WriteReceipt:
    """The group's member list as the platform shows it: JSON (`RosterUpload`) or CSV (`text/csv`, a header
    row; columns in docs/rosters.md), up to 5,000 people. Each entry is matched to a person (`certain` by
    handle, email or phone; `probable` by name alone; or `unknown`) and the answer lists the discrepancies,
    each with what to do. A malformed list is a 422 naming the row and column (`rows.<row>.<column>` for
    CSV, the header being row 1; `entries.<index>.<field>` for JSON) and nothing is stored. A caller who may
    upload but not read rosters (a platform connector's key) gets a receipt. Announces
    `group.roster_reconciled` (counts only). Limited per user a minute (ROSTER_UPLOADS_PER_MINUTE: 429
    with Retry-After). A young person outside the caller's reach is never matched for them: their entry
    is `unknown`, exactly as for someone the records do not know.

    Enforces: "Groups should be periodically reviewed to ensure people who no longer take part in projects
    are removed"."""
    entries, body_captured_on, source = upload
    roster = service.upload(
        session=session,
        reach=reach,
        group=group,
        entries=entries,
        captured_on=body_captured_on or captured_on,
        source=source,
    )
    response.headers["ETag"] = etags.etag(session, roster)
    if not reach.reads(Record.roster) or reach.reads_counts_only(Record.roster):
        return WriteReceipt(id=roster.id, version=roster.version, status="created")
    return reading.view(session=session, reach=reach, roster=roster)


def readable_group(group_id: uuid.UUID, session: SessionDep, reach: ReachDep) -> Group:
    return service.readable_group(session=session, reach=reach, group_id=group_id)


ReadableGroup = Annotated[Group, Depends(readable_group)]


@router.get(
    "/{group_id}/rosters",
    response_model=Page[RosterPublic],
    responses=NOT_FOUND,
    summary="List a group's rosters",
)
def list_rosters(
    session: SessionDep, _: RostersRead, reach: ReachDep, group: ReadableGroup, paging: PageDep
) -> Page[RosterPublic]:
    """The group's rosters, newest first, each with its counts (entries and discrepancies: see `GET` one
    roster). 404 for a group out of reach."""
    group_id = group.id
    items, total = service.list_(
        session=session, reach=reach, group_id=group_id, limit=paging.limit, offset=paging.offset
    )
    views = [
        reading.view(session=session, reach=reach, roster=r).model_copy(
            update={"entries": None, "discrepancies": None}
        )
        for r in items
    ]
    return Page(items=views, total=total, limit=paging.limit, offset=paging.offset)


def roster_or_404(
    group_id: uuid.UUID, roster_id: uuid.UUID, session: SessionDep, reach: ReachDep
) -> GroupRoster:
    return service.get(session=session, reach=reach, group_id=group_id, roster_id=roster_id)


RosterById = Annotated[GroupRoster, Depends(roster_or_404)]


@router.get(
    "/{group_id}/rosters/{roster_id}",
    response_model=RosterPublic,
    responses=NOT_FOUND,
    summary="Get a roster and its reconciliation",
)
def get_roster(
    session: SessionDep, _: RostersRead, reach: ReachDep, roster: RosterById, response: Response
) -> RosterPublic:
    """One roster: its counts, each entry with its match (a young person out of the caller's reach shown
    with no id), and the discrepancies with what to do, judged against today's records. Trustees get the
    counts only. The ETag (the roster's version and a digest of what its reconciliation is judged against:
    the day, the group, its memberships in force, the dates of the people it names and the platform
    identities) is what to send in If-Match when applying it."""
    response.headers["ETag"] = etags.etag(session, roster)
    return reading.view(session=session, reach=reach, roster=roster)


def managed_roster(
    group: WritableGroup, roster_id: uuid.UUID, session: SessionDep, reach: ReachDep
) -> GroupRoster:
    return service.get(session=session, reach=reach, group_id=group.id, roster_id=roster_id)


ManagedRoster = Annotated[GroupRoster, Depends(managed_roster)]


@router.post(
    "/{group_id}/rosters/{roster_id}/entries/{roster_entry_id}/resolve",
    response_model=EntryPublic,
    responses={**NOT_FOUND, **CONFLICT, **NOT_ADMIN, **PRECONDITION},
    summary="Answer for one roster entry",
)
def resolve_entry(
    session: SessionDep,
    _: RostersResolve,
    reach: ReachDep,
    group: WritableGroup,
    roster: ManagedRoster,
    _create_only: CreateOnlyRefused,
    roster_entry_id: uuid.UUID,
    data: ResolutionIn,
    response: Response,
    if_match: RosterIfMatch = None,
) -> EntryPublic:
    """Say who an entry is or what became of them: `confirmed` (a probable match is right), `identified`
    (with `staff_id` or `participant_id`; the entry's handle, email and phone are recorded as that person's
    identities so the next list matches them for certain, so the caller must be allowed to record one, as at
    `POST /identities`: 403 for a colleague's record, 422 for someone unknown or out of reach; verified when
    a coordinator answers, else unverified claims answered alike whether or not a value is someone else's,
    docs/rosters.md) or `removed`
    (with `removed_on`: they were taken off the platform that day). Coordinators and the group's admins.
    If-Match is the roster's ETag (each answer moves it on). 409 once applied or already answered; an entry
    matched to a young person outside the caller's reach is shown and answered as unknown (a coordinator
    confirms it)."""
    entry = answers.get_entry(session=session, roster=roster, entry_id=roster_entry_id)
    expected_version = etags.check_tag(session, roster, if_match)
    entry = answers.resolve(
        session=session,
        reach=reach,
        group=group,
        roster=roster,
        entry=entry,
        data=data,
        expected_version=expected_version,
    )
    response.headers["ETag"] = etags.etag(session, roster)
    view = reading.view(session=session, reach=reach, roster=roster)
    assert view.entries is not None
    return next(e for e in view.entries if e.id == entry.id)


@router.post(
    "/{group_id}/rosters/{roster_id}/apply",
    response_model=ApplyResult,
    responses={**NOT_FOUND, **APPLY_CONFLICT, **NOT_ADMIN, **PRECONDITION, **IF_MATCH_REQUIRED},
    summary="Apply a roster to the group's memberships",
)
def apply_roster(
    session: SessionDep,
    _: RostersResolve,
    reach: ReachDep,
    group: WritableGroup,
    roster: ManagedRoster,
    _create_only: CreateOnlyRefused,
    response: Response,
    if_match: RosterIfMatch = None,
    data: ApplyIn = NO_CONFIRMATION,
) -> ApplyResult:
    """Make the group's memberships equal the platform's list: end those of people no longer on it, add
    those of matched people on it, and set admin roles to match (a platform admin or moderator who is
    current staff is an admin). Every change is audited and listed. Send the roster's ETag as If-Match
    (428 without it, 412 if it moved on). 409 while entries wait for an answer (`roster_unresolved`), once
    applied, or when a later roster exists; 403 for a group admin when a young person would be added (a
    coordinator's act); 409 `removals_unconfirmed` when it would end every membership of the group, or the
    caller's own, unless the body says `{"confirm_removals": true}` (the body is optional otherwise)."""
    expected_version = etags.check_tag(session, roster, if_match)
    roster, changes = answers.apply(
        session=session,
        reach=reach,
        group=group,
        roster=roster,
        expected_version=expected_version,
        confirm_removals=data.confirm_removals,
    )
    response.headers["ETag"] = etags.etag(session, roster)
    return ApplyResult(roster=reading.view(session=session, reach=reach, roster=roster), changes=changes)
