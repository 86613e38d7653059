"""The dashboard: server-rendered pages for people who would rather look (an organisation page that prints
as a board report, and a page per group), signed in with the same accounts as the API.

Everything is served by the app (no scripts, fonts or styles from anywhere else; the chart is SVG drawn
here). The session is the API's own access token in a cookie that is `Secure`, `HttpOnly` and
`SameSite=Strict` (so no other site can make a browser send it, and no script can read it); a bearer token
is accepted too, so a client and the tests can read the pages without a browser. The pages only read, so
they need no CSRF token; signing in and out are the only forms, and refuse a request whose `Origin` is
another site's. What each role sees is what the API shows it: the same services, the same `Reach`, so a
trustee sees no child's name.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import clock
from api.accounts import service as auth_service
from api.accounts.router import client_of
from api.auth import principal as auth
from api.auth.reach import Reach
from api.auth.roles import Permission
from api.compliance import cache, exports, forecast_cache, grain, history, org_cache
from api.compliance import forecast as forecasting
from api.compliance.engine import Evaluation, Finding, Precision
from api.compliance.rules.base import Outcome
from api.dashboard.chart import trend_svg
from api.deps import SessionDep
from api.errors import (
    DATABASE_ERRORS,
    AnsweringRoute,
    AppError,
    FieldError,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    validation_errors,
)

log = logging.getLogger(__name__)
TITLES = {
    401: "Sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Service unavailable",
}


def error_page(
    code: int, detail: str, errors: Sequence[FieldError] = (), headers: Mapping[str, str] | None = None
) -> HTMLResponse:
    """An error as a page (the status code the API would give), for a person in a browser rather than
    problem+json for a program: the routes under /api keep problem details."""
    page = _page(
        "error.html",
        code,
        title=TITLES.get(code, "Error"),
        who=None,
        status=code,
        detail=detail,
        errors=errors,
    )
    page.headers.update(headers or {})
    return page


class DashboardRoute(AnsweringRoute):
    """Every error of a dashboard page answered as an HTML page with the API's status code: a refusal or an
    unknown record (the services' `AppError`), input the framework refused (422, naming each field), the
    framework's own HTTP errors, a database that failed (503), and anything unexpected (500, logged, its
    text never shown)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # A page that answers GET answers HEAD too (RFC 9110 §9.3.2), the server leaving the body out.
        methods = kwargs.get("methods")
        if methods is not None and "GET" in {m.upper() for m in methods}:
            kwargs["methods"] = {*methods, "HEAD"}
        super().__init__(path, endpoint, **kwargs)

    def answer(self, exc: Exception) -> Response:
        if isinstance(exc, AppError):
            return error_page(exc.status_code, exc.detail, exc.errors or (), exc.headers)
        if isinstance(exc, RequestValidationError):
            errors = validation_errors(exc)
            names = ", ".join(sorted({e.field for e in errors}))
            return error_page(422, f"Invalid fields: {names}", errors)
        if isinstance(exc, StarletteHTTPException):
            return error_page(exc.status_code, str(exc.detail), headers=exc.headers)
        if isinstance(exc, DATABASE_ERRORS):
            log.warning("database unavailable on a dashboard page", exc_info=True)
            return error_page(503, "The database is unavailable or busy. Try again shortly.")
        log.exception("unexpected error on a dashboard page")
        return error_page(500, "The page could not be made. The error has been logged.")


router = APIRouter(prefix="/dashboard", include_in_schema=False, route_class=DashboardRoute)
COOKIE = "esafety_session"
TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "css"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
# The findings shown as "overdue": the ones that fall due with time (reviews, controls, training, consents).
OVERDUE_RULES = frozenset(
    {
        "GRP-PERIODIC-REVIEW",
        "GRP-RISK-ASSESSED",
        "GRP-ROSTER-RECONCILED",
        "GRP-STAFF-TRAINING",
        "GRP-STAFF-CODE-OF-CONDUCT",
        "GRP-ESAFETY-AGREEMENT",
        "GRP-IMAGE-CONSENT",
    }
)


def bad(ev: Evaluation) -> list[Finding]:
    """Failing then warning findings, each kind in rule order."""
    return [f for o in (Outcome.fail, Outcome.warn) for f in ev.findings if f.outcome is o]


def since(f: Finding) -> str:
    """When a finding's current run began, in words: its day, "before records began", or nothing."""
    if f.since is not None:
        return shown_day(f.since, f.since_precision)
    return BEFORE_RECORDS if f.since_before_records else ""


def shown_day(day: date, precision: Precision) -> str:
    """A day as precise as it is: the day, or its month ("August 2026") with precision month."""
    return forecasting.month_label(day) if precision is Precision.month else day.isoformat()


BEFORE_RECORDS = "before records began"
TEMPLATES.globals["bad"] = bad
TEMPLATES.globals["since"] = since
TEMPLATES.globals["shown_day"] = shown_day


# The pages' one stylesheet is inline (nothing loads from elsewhere), so the policy allows exactly it by hash;
# the API's own policy (default-src 'none'; form-action 'none') would block it and the sign-in form.
_STYLE_HASH = base64.b64encode(
    hashlib.sha256(TEMPLATES.get_template("dashboard.css").render().encode()).digest()
).decode()
PAGE_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _page(name: str, code: int = 200, **context: object) -> HTMLResponse:
    html = TEMPLATES.get_template(name).render(today=clock.today(), **context)
    return HTMLResponse(
        html,
        status_code=code,
        headers={"Cache-Control": "no-store", "Content-Security-Policy": PAGE_POLICY},
    )


def _signed_in(request: Request, session: Session) -> auth.Principal | None:
    """The caller from the session cookie, else (no cookie, or one that no longer holds) from a bearer token
    or API key as the API reads them; None when none holds (then the page answers 401 with the sign-in
    form). A stale cookie never hides the credentials sent with it: sign-out must end the session it is
    called for."""
    token = request.cookies.get(COOKIE)
    if token:
        try:
            return auth._from_token(session, token)
        except Unauthorized:
            pass
    header = request.headers.get("authorization", "")
    bearer = header[7:] if header.lower().startswith("bearer ") else None
    try:
        return auth.identify(request, session, token=bearer, api_key=request.headers.get("x-api-key"))
    except Unauthorized:
        return None


def _reader(request: Request, session: Session) -> auth.Principal | HTMLResponse:
    """The signed-in reader of compliance (Permission.COMPLIANCE_READ), or the sign-in page (401); 403 for
    a caller whose role may not read it."""
    who = _signed_in(request, session)
    if who is None:
        return _page("sign_in.html", 401, title="Sign in", who=None, error=None, email=None)
    if Permission.COMPLIANCE_READ not in who.permissions:
        raise Forbidden(f"Your role ({who.role}) may not do this ({Permission.COMPLIANCE_READ})")
    return who


def _same_site(request: Request) -> None:
    """Refuse a sign-in form posted from another site (login CSRF).

    Browsers say where a request comes from in `Sec-Fetch-Site` (W3C Fetch Metadata; OWASP CSRF cheat
    sheet), which holds whatever the referrer policy: under the service's `Referrer-Policy: no-referrer` a
    browser sends `Origin: null` on a form post, so `Origin` alone would refuse the service's own page.
    Without Fetch Metadata (an older browser or a script), `Origin`, when sent, must name this host.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site != "same-origin":
            raise Forbidden("Sign in from this site's own page")
        return
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("Sign in from this site's own page")


@router.get("/sign-in")
def dashboard_sign_in_form(request: Request) -> HTMLResponse:
    return _page("sign_in.html", title="Sign in", who=None, error=None, email=None)


@router.post("/sign-in")
def dashboard_sign_in(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Check the password as `POST /api/v1/auth/token` does (same lockout and audit), then set the cookie."""
    _same_site(request)
    try:
        token, expires_in = auth_service.sign_in(
            session=session, email=email, password=password, client=client_of(request)
        )
    except TooManyRequests as exc:
        # The same counters as the API's sign-in: say so and how long to wait, as the token endpoint does.
        page = _page("sign_in.html", 429, title="Sign in", who=None, error=exc.detail, email=email)
        page.headers.update(exc.headers or {})
        return page
    except AppError:
        return _page(
            "sign_in.html", 401, title="Sign in", who=None, error="Incorrect email or password.", email=email
        )
    answer = RedirectResponse("/dashboard", status_code=status.HTTP_303_SEE_OTHER)
    answer.set_cookie(
        COOKIE,
        token,
        max_age=expires_in,
        path="/dashboard",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    return answer


@router.post("/sign-out")
def dashboard_sign_out(request: Request, session: SessionDep) -> Response:
    """Sign out: the session's token stops working everywhere at once (the dashboard and the API), then the
    cookie goes. The token is a full API token, so deleting the cookie alone would leave a copied one
    working until it expires; the account's token epoch moves on, as a password change does, which ends
    every token of the account, on every device (there is no per-token revocation list). The session is the
    cookie's, else the bearer token's (`_signed_in`); an API key is no session: 400, revoke the key instead.
    With no session that holds, there is nothing to revoke and the cookie just goes."""
    _same_site(request)
    who = _signed_in(request, session)
    if who is not None and who.kind != "user":
        return error_page(400, "An API key is not a session and cannot sign out: revoke the key instead.")
    if who is not None:
        auth_service.revoke_tokens(session=session, caller=who)
    answer = RedirectResponse("/dashboard/sign-in", status_code=status.HTTP_303_SEE_OTHER)
    answer.delete_cookie(COOKIE, path="/dashboard", secure=True, httponly=True, samesite="strict")
    return answer


@router.get("")
def dashboard_organisation(request: Request, session: SessionDep) -> Response:
    """The organisation page: every group with its status and top findings, the 12-month trend, the next
    90 days' forecast and what is overdue."""
    who = _reader(request, session)
    if isinstance(who, Response):
        return who
    reach = Reach.of(who)
    today = clock.today()
    report = org_cache.organisation_report(session=session, reach=reach, as_of=today)
    groups = exports.group_evaluations(session=session, reach=reach, as_of=today, report=report)
    ahead = forecast_cache.served_forecast(
        session=session, reach=reach, as_of=today, days=forecasting.DEFAULT_DAYS
    )
    start, end = grain.span(reach, today - timedelta(days=365), today, monthly=True)
    trend = history.organisation_history(
        session=session, reach=reach, start=start, end=end, interval=history.Interval.month
    )
    overdue = [(g, f) for g, ev in groups for f in bad(ev) if f.rule_id in OVERDUE_RULES]
    return _page(
        "organisation.html",
        title="Organisation",
        who=who,
        totals=report.totals,
        organisation=report.organisation,
        groups=groups,
        forecasts={g.group_id: g for g in ahead.groups},
        forecast=ahead,
        trend=trend,
        chart=trend_svg(trend.points, "Groups by compliance status over the last 12 months"),
        overdue=overdue,
    )


@router.get("/groups/{group_id}")
def dashboard_group(request: Request, session: SessionDep, group_id: uuid.UUID) -> Response:
    """A group's page: its findings (worst first), its history over the last year and its forecast."""
    who = _reader(request, session)
    if isinstance(who, Response):
        return who
    reach = Reach.of(who)
    today = clock.today()
    report = cache.group_report(session=session, reach=reach, group_id=group_id, as_of=today)
    start, end = grain.span(reach, today - timedelta(days=365), today, monthly=True)
    changes = history.group_history(session=session, reach=reach, group_id=group_id, start=start, end=end)
    ahead = forecast_cache.served_forecast(
        session=session, reach=reach, as_of=today, days=forecasting.DEFAULT_DAYS, group_id=group_id
    )
    order = {Outcome.fail: 0, Outcome.warn: 1, Outcome.pass_: 2, Outcome.not_applicable: 3}
    return _page(
        "group.html",
        title=report.group_name,
        who=who,
        report=report,
        findings=sorted(report.findings, key=lambda f: order[f.outcome]),
        history=changes,
        forecast=ahead.groups[0],
    )


@router.get("/report.xlsx")
def dashboard_workbook(request: Request, session: SessionDep) -> Response:
    who = _reader(request, session)
    if isinstance(who, Response):
        return who
    today = clock.today()
    body = exports.organisation_workbook(session=session, reach=Reach.of(who), as_of=today)
    return Response(
        body,
        media_type=exports.XLSX,
        headers={"Content-Disposition": f'attachment; filename="compliance-{today}.xlsx"'},
    )


@router.get("/groups/{group_id}/findings.csv")
def dashboard_group_csv(request: Request, session: SessionDep, group_id: uuid.UUID) -> Response:
    who = _reader(request, session)
    if isinstance(who, Response):
        return who
    today = clock.today()
    body = exports.group_findings_csv(session=session, reach=Reach.of(who), group_id=group_id, as_of=today)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="group-{group_id}-{today}.csv"'},
    )


_ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("/{rest:path}", methods=_ANY, name="dashboard_unknown")
def dashboard_unknown(request: Request, rest: str) -> Response:
    """Any other address under /dashboard: 404 as a page, or 405 (with `Allow`) where a page is there but
    not for this method. Declared last, so it only answers what no page matched."""
    allowed = {
        m
        for r in router.routes
        if isinstance(r, APIRoute) and r.name != "dashboard_unknown" and r.path_regex.match(request.url.path)
        for m in r.methods or ()
    }
    if allowed:
        return error_page(
            405, f"{request.method} is not allowed here", headers={"Allow": ", ".join(sorted(allowed))}
        )
    raise NotFound("There is no such page")
