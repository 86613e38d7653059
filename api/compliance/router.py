"""Compliance routes: the rule catalog, group/staff/organisation reports, and waivers."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response, status

from api.auth.principal import Principal, require
from api.auth.reach import ReachDep
from api.auth.roles import Permission
from api.common import Day, Page, PageDep, QueryFlag
from api.compliance import service
from api.compliance.engine import Status
from api.compliance.models import (
    ClausePublic,
    GroupCompliancePublic,
    OrganisationReportPublic,
    RulePublic,
    StaffCompliancePublic,
    Waiver,
    WaiverCreate,
    WaiverPublic,
)
from api.compliance.rules import ALL_RULES
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND
from api.groups.models import Platform

router = APIRouter()

Reader = Annotated[Principal, Depends(require(Permission.COMPLIANCE_READ))]
Admin = Annotated[Principal, Depends(require(Permission.POLICY_ADMIN))]
AsOf = Annotated[
    Day | None,
    Query(
        description="Evaluate the dated facts as they stood on this day (default today; not in the future)"
    ),
]

CATALOG = [
    RulePublic(
        id=r.id,
        title=r.title,
        scope=r.scope,
        severity=r.severity,
        clause=ClausePublic(id=r.clause.id, text=r.clause.text),
        also=[ClausePublic(id=c.id, text=c.text) for c in r.also],
        remediation=r.remediation,
    )
    for r in ALL_RULES
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV on request"}
}


def _json(report: object) -> Response:
    # orjson writes the engine's dataclasses directly: far cheaper than validating a big dict on the way out.
    return Response(orjson.dumps(report), media_type="application/json")


def _cell(value: object) -> object:
    # A spreadsheet would run a cell starting with these as a formula (a group name is free text).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(report: service.OrganisationReport) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(service.CSV_COLUMNS)
    for row in service.report_rows(report):
        writer.writerow([_cell(v) for v in row])
    filename = f"compliance-{report.as_of}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def waiver_or_404(waiver_id: uuid.UUID, session: SessionDep) -> Waiver:
    return service.get_waiver(session=session, waiver_id=waiver_id)


WaiverById = Annotated[Waiver, Depends(waiver_or_404)]


@router.get("/compliance/rules", response_model=list[RulePublic], summary="List the compliance rules")
def list_compliance_rules(_: Reader) -> list[RulePublic]:
    """Every rule: its id (a stable contract), title, scope, severity, the policy sentence it enforces
    (verbatim, with its clause id) and what to do when it fails."""
    return CATALOG


@router.get(
    "/compliance",
    response_model=OrganisationReportPublic,
    responses=CSV_RESPONSE,
    summary="Organisation compliance report",
)
def get_organisation_compliance(
    request: Request,
    session: SessionDep,
    _: Reader,
    reach: ReachDep,
    as_of: AsOf = None,
    status_: Annotated[
        Status | None, Query(alias="status", description="Only groups with this status")
    ] = None,
    platform: Platform | None = None,
    rule: Annotated[
        str | None, Query(max_length=64, description="Only groups where this rule fails or warns")
    ] = None,
) -> Response:
    """The organisation's own findings (the coordinator, and each staff rule across all staff), then every
    active group's status with its failing, warning and waived rules, and totals over the groups listed.
    Staff see only the groups they are in. Send `Accept: text/csv` for the same report as a spreadsheet."""
    report = service.organisation_report(
        session=session,
        reach=reach,
        as_of=service.check_as_of(as_of),
        status=status_,
        platform=platform,
        rule=rule,
    )
    if "text/csv" in request.headers.get("accept", ""):
        return _csv(report)
    return _json(report)


@router.get("/compliance/waivers", response_model=Page[WaiverPublic], summary="List waivers")
def list_compliance_waivers(
    session: SessionDep,
    _: Reader,
    reach: ReachDep,
    paging: PageDep,
    group_id: uuid.UUID | None = None,
    rule_id: Annotated[str | None, Query(max_length=64)] = None,
    active: Annotated[
        QueryFlag | None, Query(description="Only in force today (true) or not (false)")
    ] = None,
) -> Page[Waiver]:
    """Waivers, newest first. Staff see only the waivers of groups they are in."""
    items, total = service.list_waivers(
        session=session,
        reach=reach,
        limit=paging.limit,
        offset=paging.offset,
        group_id=group_id,
        rule_id=rule_id,
        active=active,
    )
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post(
    "/compliance/waivers",
    response_model=WaiverPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Waive a rule for a group",
)
def create_compliance_waiver(session: SessionDep, caller: Admin, data: WaiverCreate) -> Waiver:
    """Waive one group rule for one group, with a reason, until `expires_on` (the first day it no longer
    holds). The finding keeps its true outcome and shows the waiver, but does not count against the group's
    status while the waiver is in force. One waiver in force per group and rule (409 otherwise)."""
    return service.create_waiver(session=session, actor=caller, data=data)


@router.post(
    "/compliance/waivers/{waiver_id}/revoke",
    response_model=WaiverPublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Revoke a waiver",
)
def revoke_compliance_waiver(session: SessionDep, caller: Admin, waiver: WaiverById) -> Waiver:
    """End a waiver today. Revoking one already revoked or expired is a 409."""
    return service.revoke_waiver(session=session, actor=caller, waiver=waiver)


@router.get(
    "/groups/{group_id}/compliance",
    response_model=GroupCompliancePublic,
    responses=NOT_FOUND,
    summary="A group's compliance",
)
def get_group_compliance(
    session: SessionDep, _: Reader, reach: ReachDep, group_id: uuid.UUID, as_of: AsOf = None
) -> Response:
    """The group's status, counts per outcome and one finding per group rule, each citing its policy clause,
    with the records involved and what to do. Staff may evaluate only groups they are in (404 otherwise);
    trustees see participants as an id and a neutral label."""
    report = service.group_report(
        session=session, reach=reach, group_id=group_id, as_of=service.check_as_of(as_of)
    )
    return _json(report)


@router.get(
    "/staff/{staff_id}/compliance",
    response_model=StaffCompliancePublic,
    responses=NOT_FOUND,
    summary="A staff member's compliance",
)
def get_staff_compliance(
    session: SessionDep, _: Reader, reach: ReachDep, staff_id: uuid.UUID, as_of: AsOf = None
) -> Response:
    """One member of staff against the staff rules. Staff may read only their own (404 otherwise)."""
    report = service.staff_report(
        session=session, reach=reach, staff_id=staff_id, as_of=service.check_as_of(as_of)
    )
    return _json(report)
