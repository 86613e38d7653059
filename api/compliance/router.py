"""Compliance routes: the rule catalog, group/staff/organisation reports, and waivers."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from api import clock
from api.auth.permissions import ComplianceRead, PolicyAdmin
from api.auth.reach import Reach, ReachDep
from api.common import Day, Page, PageDep, QueryFlag, shifted
from api.compliance import (
    cache,
    exports,
    forecast_cache,
    grain,
    history,
    org_cache,
    policy_facts,
    service,
    waivers,
)
from api.compliance import forecast as forecasting
from api.compliance.engine import in_force_clauses, withdrawn
from api.compliance.models import (
    ClausePublic,
    GroupCompliancePublic,
    GroupForecastReportPublic,
    GroupHistoryPublic,
    OrganisationForecastPublic,
    OrganisationHistoryPublic,
    OrganisationReportPublic,
    RulePublic,
    StaffCompliancePublic,
    Status,
    Waiver,
    WaiverCreate,
    WaiverPublic,
)
from api.compliance.params import AsOf, Days, From, GroupId, ReportDay, StaffId, To, report_day
from api.compliance.rules import ALL_RULES
from api.compliance.snapshot import PolicyFacts
from api.db import reads_on_loop, run_then_release
from api.deps import SessionDep
from api.errors import CONFLICT, NOT_FOUND
from api.groups.models import Platform

router = APIRouter()


def _span(
    reach: Reach, start: Day | None, end: Day | None, interval: history.Interval = history.Interval.month
) -> tuple[Day, Day]:
    """`from`..`to` with their defaults, as the caller may ask them (`grain.span`)."""
    last, _ = grain.as_of(reach, end, field="to")
    first = start if start is not None else shifted(last, -365, field="to")
    return grain.span(reach, first, last, monthly=interval is history.Interval.month)


def _catalog(policy: PolicyFacts | None) -> list[RulePublic]:
    """Every rule with the sentences it cites that `policy` (the version in force) still has, in its words
    (`engine.in_force_clauses`; all of them, in their last words, for a rule not applied), and whether that
    version still has any of them (`applied`)."""
    out = []
    for r in ALL_RULES:
        primary, also = in_force_clauses(r.clause, r.also, policy)
        out.append(
            RulePublic(
                id=r.id,
                title=r.title,
                scope=r.subject,
                severity=r.severity,
                clause=ClausePublic(id=primary.id, text=primary.text),
                also=[ClausePublic(id=c.id, text=c.text) for c in also],
                remediation=r.remediation,
                applied=not withdrawn(r, policy),
            )
        )
    return out


CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "JSON, or CSV on request"}
}


def _json(report: object) -> Response:
    # orjson writes the engine's dataclasses directly: far cheaper than validating a big dict on the way out.
    return Response(orjson.dumps(report), media_type="application/json")


def _csv(report: service.OrganisationReport) -> Response:
    return _attachment(
        exports.csv_text(exports.CSV_COLUMNS, exports.report_rows(report)),
        "text/csv; charset=utf-8",
        f"compliance-{report.as_of}.csv",
    )


def _attachment(body: str | bytes, media_type: str, filename: str) -> Response:
    return Response(
        body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {exports.XLSX: {"schema": {"type": "string", "format": "binary"}}},
        "description": "An Excel workbook",
    }
}
GROUP_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"},
    **NOT_FOUND,
}


def waiver_or_404(
    waiver_id: Annotated[uuid.UUID, Path(description="The waiver's id")], session: SessionDep
) -> Waiver:
    return waivers.get_waiver(session=session, waiver_id=waiver_id)


WaiverById = Annotated[Waiver, Depends(waiver_or_404)]


@router.get("/compliance/rules", response_model=list[RulePublic], summary="List the compliance rules")
def list_compliance_rules(session: SessionDep, _: ComplianceRead) -> list[RulePublic]:
    """Every rule: its id (a stable contract), title, scope, severity, the policy sentence it enforces
    (verbatim, in the words of the version in force today, with its clause id), whether it is applied (false
    once the version in force has none of its sentences) and what to do when it fails."""
    return _catalog(policy_facts.policy_on(session, clock.today()))


@router.get(
    "/compliance",
    response_model=OrganisationReportPublic,
    responses=CSV_RESPONSE,
    summary="Organisation compliance report",
)
def get_organisation_compliance(
    request: Request,
    session: SessionDep,
    _: ComplianceRead,
    reach: ReachDep,
    as_of: AsOf = None,
    status_: Annotated[
        Status | None, Query(alias="status", description="Only groups with this status")
    ] = None,
    platform: Annotated[Platform | None, Query(description="Only groups on this platform")] = None,
    rule: Annotated[
        str | None, Query(max_length=64, description="Only groups where this rule fails or warns, unwaived")
    ] = None,
) -> Response:
    """The organisation's own findings (the coordinator, and each staff rule across all staff), then every
    active group's status with its failing, warning and waived rules, and totals over the groups listed.
    Staff see only the groups they are in. Send `Accept: text/csv` for the same report as a spreadsheet."""
    # `as_of` is its own parameter, not `ReportDay`: a dependency's parameters follow the route's own in the
    # spec, and here it stands before the filters.
    report = org_cache.organisation_report(
        session=session,
        reach=reach,
        as_of=report_day(reach, as_of),
        status=status_,
        platform=platform,
        rule=rule,
    )
    if "text/csv" in request.headers.get("accept", ""):
        return _csv(report)
    return _json(report)


@router.get(
    "/compliance/forecast", response_model=OrganisationForecastPublic, summary="Organisation forecast"
)
def get_organisation_forecast(
    session: SessionDep, _: ComplianceRead, reach: ReachDep, days: Days = forecasting.DEFAULT_DAYS
) -> Response:
    """For each active group the caller reaches, every day in the next `days` on which a finding gets worse
    if nothing is done (a review falling due, a consent or training expiring, a birthday past the group's
    age range, a recorded leaving date, a waiver ending), with the findings as they will stand, the records
    involved (redacted as in today's reports) and the group's status from that day."""
    return _json(forecast_cache.served_forecast(session=session, reach=reach, as_of=clock.today(), days=days))


@router.get(
    "/compliance/history", response_model=OrganisationHistoryPublic, summary="Organisation compliance history"
)
def get_organisation_history(
    session: SessionDep,
    _: ComplianceRead,
    reach: ReachDep,
    start: From = None,
    end: To = None,
    interval: Annotated[
        history.Interval,
        Query(
            description="How far apart the points are (a week only for a caller who reads every young person)"
        ),
    ] = history.Interval.month,
) -> Response:
    """The trend: at `from`, every week or month after it, and `to`, the groups the caller reaches counted by
    the status recorded for them that day, and the failing, warning and waived findings counted per rule.
    For a caller who does not read every young person, by the month only (`interval=week`: 422), with
    `from` and `to` taken by the month (`grain.span`).
    From the history the compliance watch records (see the README, "Compliance history"); at most 120
    points."""
    first, last = _span(reach, start, end, interval)
    found = history.organisation_history(
        session=session, reach=reach, start=first, end=last, interval=interval
    )
    return _json(found)


@router.get("/compliance/waivers", response_model=Page[WaiverPublic], summary="List waivers")
def list_compliance_waivers(
    session: SessionDep,
    _: ComplianceRead,
    reach: ReachDep,
    paging: PageDep,
    group_id: Annotated[uuid.UUID | None, Query(description="Only the waivers of this group")] = None,
    rule_id: Annotated[str | None, Query(max_length=64, description="Only the waivers of this rule")] = None,
    active: Annotated[
        QueryFlag | None, Query(description="Only in force today (true) or not (false)")
    ] = None,
) -> Page[Waiver]:
    """Waivers, newest first. Staff see only the waivers of groups they are in."""
    return waivers.list_waivers(
        session=session, reach=reach, paging=paging, group_id=group_id, rule_id=rule_id, active=active
    )


@router.post(
    "/compliance/waivers",
    response_model=WaiverPublic,
    status_code=status.HTTP_201_CREATED,
    responses=CONFLICT,
    summary="Waive a rule for a group",
)
def create_compliance_waiver(session: SessionDep, caller: PolicyAdmin, data: WaiverCreate) -> Waiver:
    """Waive one group rule for one group, with a reason, until `expires_on` (the first day it no longer
    holds). The finding keeps its true outcome and shows the waiver, but does not count against the group's
    status while the waiver is in force. One waiver in force per group and rule (409 otherwise)."""
    return waivers.create_waiver(session=session, caller=caller, data=data)


@router.post(
    "/compliance/waivers/{waiver_id}/revoke",
    response_model=WaiverPublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Revoke a waiver",
)
def revoke_compliance_waiver(session: SessionDep, caller: PolicyAdmin, waiver: WaiverById) -> Waiver:
    """End a waiver today. Revoking one already revoked or expired is a 409."""
    return waivers.revoke_waiver(session=session, caller=caller, waiver=waiver)


@router.get(
    "/groups/{group_id}/compliance",
    response_model=GroupCompliancePublic,
    responses=NOT_FOUND,
    summary="A group's compliance",
)
async def get_group_compliance(
    session: SessionDep, _: ComplianceRead, reach: ReachDep, group_id: GroupId, day: ReportDay
) -> Response:
    """The group's status, counts per outcome and one finding per group rule, each citing its policy clause,
    with the records involved and what to do. Staff may evaluate only groups they are in (404 otherwise);
    trustees see participants as an id and a neutral label."""
    # Async. Where a short read may run on the event loop (SQLite), an answer kept in the cache is found
    # there, with no hand-off to the thread pool at all; the rest (an evaluation) goes to the thread pool
    # with the session's close in the same hand-off (`db.run_then_release`).
    looked = None
    if reads_on_loop(session):
        looked = cache.look_up(session=session, reach=reach, group_id=group_id, as_of=day)
        if looked is not None and looked.body is not None:
            return Response(looked.body, media_type="application/json")
    body = await run_then_release(
        session,
        partial(
            cache.group_report_json, session=session, reach=reach, group_id=group_id, as_of=day, looked=looked
        ),
    )
    return Response(body, media_type="application/json")


@router.get(
    "/groups/{group_id}/compliance/forecast",
    response_model=GroupForecastReportPublic,
    responses=NOT_FOUND,
    summary="A group's forecast",
)
def get_group_forecast(
    session: SessionDep,
    _: ComplianceRead,
    reach: ReachDep,
    group_id: GroupId,
    days: Days = forecasting.DEFAULT_DAYS,
) -> Response:
    """The organisation forecast for one group (staff: a group they are in; 404 otherwise)."""
    found = forecast_cache.served_forecast(
        session=session, reach=reach, as_of=clock.today(), days=days, group_id=group_id
    )
    return Response(
        orjson.dumps({"as_of": found.as_of, "until": found.until, **asdict(found.groups[0])}),
        media_type="application/json",
    )


@router.get(
    "/compliance/export",
    response_class=Response,
    responses=XLSX_RESPONSE,
    summary="Organisation report as an Excel workbook",
)
def export_organisation_compliance(
    session: SessionDep, _: ComplianceRead, reach: ReachDep, day: ReportDay
) -> Response:
    """The organisation report as an .xlsx workbook: a sheet of the groups (the CSV report's columns) and a
    sheet of every failing or warning finding with its message, clause, the records involved as the caller
    may see them, remediation and `since`; dates as dates. Cells that would start a formula are quoted."""
    body = exports.organisation_workbook(session=session, reach=reach, as_of=day)
    return _attachment(body, exports.XLSX, f"compliance-{day}.xlsx")


@router.get(
    "/groups/{group_id}/compliance/export",
    response_class=Response,
    responses=GROUP_CSV_RESPONSE,
    summary="A group's findings as CSV",
)
def export_group_compliance(
    session: SessionDep, _: ComplianceRead, reach: ReachDep, group_id: GroupId, day: ReportDay
) -> Response:
    """Every finding of the group's report as CSV, one a row, with the workbook's finding columns (staff: a
    group they are in; 404 otherwise). Cells that would start a formula are quoted."""
    body = exports.group_findings_csv(session=session, reach=reach, group_id=group_id, as_of=day)
    return _attachment(body, "text/csv; charset=utf-8", f"group-{group_id}-{day}.csv")


@router.get(
    "/groups/{group_id}/compliance/history",
    response_model=GroupHistoryPublic,
    responses=NOT_FOUND,
    summary="A group's compliance history",
)
def get_group_history(
    session: SessionDep,
    _: ComplianceRead,
    reach: ReachDep,
    group_id: GroupId,
    start: From = None,
    end: To = None,
) -> Response:
    """How the group's status and its failing, warning and waived rules changed from `from` to `to`: the
    state recorded on `from` (if any), then each change (staff: a group they are in; 404 otherwise)."""
    first, last = _span(reach, start, end)
    found = history.group_history(session=session, reach=reach, group_id=group_id, start=first, end=last)
    return _json(found)


@router.get(
    "/staff/{staff_id}/compliance",
    response_model=StaffCompliancePublic,
    responses=NOT_FOUND,
    summary="A staff member's compliance",
)
def get_staff_compliance(
    session: SessionDep, _: ComplianceRead, reach: ReachDep, staff_id: StaffId, day: ReportDay
) -> Response:
    """One member of staff against the staff rules. Staff may read only their own (404 otherwise)."""
    report = service.staff_report(session=session, reach=reach, staff_id=staff_id, as_of=day)
    return _json(report)
