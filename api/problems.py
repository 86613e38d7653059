"""Every problem `code` this service answers, each with its HTTP status, title and meaning (RFC 9457), and
the problem document itself: its shape (`Problem`), its `instance` and its rendering (`problem_response`).

A problem document's `type` is the relative URI `/api/v1/problems/{code}` (RFC 9457 section 3.1.1: resolved
against the request's own address, so no outside host is named); `GET` on it answers the entry below.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any
from urllib.parse import quote

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.types import Scope

from api.described import DescribedEnum

PROBLEMS_PATH = "/api/v1/problems"
PROBLEM_JSON = "application/problem+json"


class ProblemCode(DescribedEnum):
    """A problem document's machine-readable `code`; `GET /api/v1/problems/{code}` gives its status, title
    and meaning."""

    # Each member's `status` is the HTTP status it is usually answered with (`api_key_expired` is also a 409
    # when a key is confirmed or rotated), its `summary` the document's `title`. A member's name is its
    # value, so `ProblemCode[text]` finds it (calling the class would ask for all four fields).
    status: int
    summary: str  # the document's `title` (`title` itself is str's method)
    description: str

    def __new__(cls, value: str, status: int, summary: str, description: str) -> ProblemCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.status, member.summary, member.description = status, summary, description
        return member

    @classmethod
    def value_descriptions(cls) -> dict[str, str]:
        """Each code's meaning, for the spec's `x-enum-descriptions` (api/described.py)."""
        return {code.value: code.description for code in cls}

    @property
    def type_uri(self) -> str:
        """The problem document's `type`: a relative URI reference that `GET` resolves to this entry."""
        return f"{PROBLEMS_PATH}/{self.value}"

    bad_request = "bad_request", 400, "Bad request", "The request was refused as it stands."
    http_error = (
        "http_error",
        400,
        "Request refused",
        "Another refusal by the HTTP layer; the answer's status says which.",
    )
    not_authenticated = (
        "not_authenticated",
        401,
        "Not authenticated",
        "No credentials, or a token or API key that is unknown, revoked or expired: sign in again.",
    )
    api_key_expired = (
        "api_key_expired",
        401,
        "API key expired",
        "The API key has passed its expires_at: a 401 when it is used; a 409 when it is confirmed, or "
        "rotated without a new expires_at. Rotate it with a new expires_at.",
    )
    api_key_unconfirmed = (
        "api_key_unconfirmed",
        401,
        "API key unconfirmed",
        "The API key's creator has left or been disabled: a coordinator must confirm or rotate it.",
    )
    forbidden = (
        "forbidden",
        403,
        "Forbidden",
        "The caller's role, or their relation to the record, does not allow this.",
    )
    not_group_admin = (
        "not_group_admin",
        403,
        "Not the group's admin",
        "The caller may see the group but does not admin it: ask one of its admins or a coordinator.",
    )
    coordinator_only = (
        "coordinator_only",
        403,
        "Coordinator only",
        "Only a coordinator may do what the request asks (add a young person to a group): ask one.",
    )
    whole_records_only = (
        "whole_records_only",
        403,
        "Whole records only",
        "The caller may write this kind of record but not read it, so it pushes whole records only "
        "(PUT …/by-external-id/{id}, or bulk sync with mode replace): a partial push is checked against "
        "stored values the caller may not read, and its answer would tell them.",
    )
    not_your_record = (
        "not_your_record",
        403,
        "Not your record",
        "The caller may read this person but not change their records: ask a coordinator.",
    )
    not_found = (
        "not_found",
        404,
        "Not found",
        "No such record or route, or a record the caller may not see (both answer alike).",
    )
    method_not_allowed = (
        "method_not_allowed",
        405,
        "Method not allowed",
        "The path exists but not with this method; the Allow header lists those it takes.",
    )
    conflict = (
        "conflict",
        409,
        "Conflict",
        "The change clashes with an existing record or with the record's state.",
    )
    confirmation_required = (
        "confirmation_required",
        409,
        "Confirmation required",
        "Publishing the policy version would stop rules being applied, or reword or remove sentences rules "
        "enforce; the body must name each one and send the preview's token for this very body as "
        "preview_token (see the preview).",
    )
    last_coordinator = (
        "last_coordinator",
        409,
        "Last coordinator",
        "The change would leave the organisation with no active coordinator.",
    )
    invalid_transition = (
        "invalid_transition",
        409,
        "Invalid transition",
        "The incident cannot move from its status to the one asked; `allowed` lists where it can.",
    )
    removals_unconfirmed = (
        "removals_unconfirmed",
        409,
        "Removals unconfirmed",
        "Applying the roster would end every membership of the group, or the caller's own: send "
        "confirm_removals true if that is meant.",
    )
    roster_unresolved = (
        "roster_unresolved",
        409,
        "Roster unresolved",
        "Roster entries still wait for an answer (unknown or probable matches): resolve them first.",
    )
    consent_is_append_only = (
        "consent_is_append_only",
        409,
        "Consent is append-only",
        "A consent is never changed, only withdrawn: push a new consent under a new external id.",
    )
    consent_already_recorded = (
        "consent_already_recorded",
        409,
        "Consent already recorded",
        "A consent in force already records this form for the participant; `existing_id` names it.",
    )
    idempotency_key_in_use = (
        "idempotency_key_in_use",
        409,
        "Idempotency key in use",
        "A request with this Idempotency-Key is still being processed: retry after Retry-After.",
    )
    precondition_failed = (
        "precondition_failed",
        412,
        "Precondition failed",
        "If-Match does not match the record's current version: read it again.",
    )
    payload_too_large = (
        "payload_too_large",
        413,
        "Payload too large",
        "The body is over the service's size limit.",
    )
    unsupported_media_type = (
        "unsupported_media_type",
        415,
        "Unsupported media type",
        "The body's Content-Type is not one the route reads.",
    )
    validation_error = (
        "validation_error",
        422,
        "Invalid input",
        "A value is missing, malformed or out of range; `errors` names each field.",
    )
    idempotency_key_reused = (
        "idempotency_key_reused",
        422,
        "Idempotency key reused",
        "This Idempotency-Key was already used for a different request: use a new key.",
    )
    precondition_required = (
        "precondition_required",
        428,
        "Precondition required",
        "The change is only made against the version the client read: send If-Match (RFC 6585 section 3).",
    )
    too_many_requests = (
        "too_many_requests",
        429,
        "Too many requests",
        "Over a rate limit: retry after the seconds in Retry-After.",
    )
    database_unavailable = (
        "database_unavailable",
        503,
        "Service unavailable",
        "The database failed, is busy or unreachable; `detail` says whether anything was saved.",
    )
    sync_interrupted = (
        "sync_interrupted",
        503,
        "Sync interrupted",
        "The database failed part way through a sync batch; the results say what was saved before it.",
    )
    not_ready = (
        "not_ready",
        503,
        "Not ready",
        "The database is unreachable or its migrations are not at head.",
    )


def example(code: ProblemCode, instance: str = "/api/v1/…") -> dict[str, Any]:
    """The smallest problem document with `code` for a request to `instance` (a path), as the spec's
    examples show it."""
    return {
        "type": code.type_uri,
        "title": code.summary,
        "status": code.status,
        "instance": instance,
        "code": code.value,
    }


def with_codes(
    response: dict[str, Any], codes: Iterable[ProblemCode], instance: str = "/api/v1/…"
) -> dict[str, Any]:
    """A declared problem answer (`responses={status: ...}`) listing the codes it may carry, as examples of
    its problem document for a request to `instance`: Swagger UI shows each, and the spec names them per
    route."""
    media = response.setdefault("content", {}).setdefault(PROBLEM_JSON, {})
    examples = media.setdefault("examples", {})
    for code in codes:
        examples[code.value] = {"summary": code.summary, "value": example(code, instance)}
    return response


# Each status's generic code: what a declared status carries when its route names none, and what the
# framework's own refusals (an unknown path, a method the path does not take) answer.
GENERIC = {
    code.status: code
    for code in (
        ProblemCode.not_authenticated,
        ProblemCode.forbidden,
        ProblemCode.not_found,
        ProblemCode.method_not_allowed,
        ProblemCode.conflict,
        ProblemCode.precondition_failed,
        ProblemCode.payload_too_large,
        ProblemCode.unsupported_media_type,
        ProblemCode.validation_error,
        ProblemCode.precondition_required,
        ProblemCode.too_many_requests,
        ProblemCode.database_unavailable,
    )
}
# What the Idempotency-Key middleware adds to every POST under /api/v1 (api/idempotency/middleware.py).
IDEMPOTENCY_CODES = (ProblemCode.idempotency_key_in_use, ProblemCode.idempotency_key_reused)


def declare_problem_codes(schema: dict[str, Any], *, idempotent_prefix: str) -> None:
    """Name, in the generated spec, the codes each route's declared problem answers may carry: those the
    route declares, else the status's generic code, plus the Idempotency-Key codes on a POST under
    `idempotent_prefix` (where that status is declared). Each is an example of the problem document, and
    the answer's description lists them. A problem answer is declared as `application/problem+json` only
    (RFC 9457 section 3): FastAPI also declares the model under `application/json`, which is moved."""
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if PROBLEM_JSON not in content:
                    continue
                # FastAPI shares a declared answer's dicts between routes: change a copy.
                media = content[PROBLEM_JSON] = dict(content[PROBLEM_JSON])
                declared = content.pop("application/json", {})
                if "schema" in declared:
                    media["schema"] = declared["schema"]
                media["examples"] = dict(media.get("examples", {}))
                codes = [ProblemCode[name] for name in media["examples"]]
                if not codes and int(status) in GENERIC:
                    codes.append(GENERIC[int(status)])
                if method == "post" and path.startswith(idempotent_prefix):
                    codes += [c for c in IDEMPOTENCY_CODES if c.status == int(status) and c not in codes]
                with_codes(response, codes, path)
                listed = ", ".join(f"`{code.value}`" for code in codes)
                response["description"] = f"{response['description']}. Codes: {listed}"


# The problem's `instance` (RFC 9457 section 3.1.5): the path of the request being answered, set for each
# request by the outermost middleware (`DatabaseErrors`), so every problem document carries it, whichever
# layer answers. The path only: a query string may hold what a person typed (a name searched for). Kept as
# sent and percent-encoded only when a problem is answered: most requests never need it.
request_instance: ContextVar[str | None] = ContextVar("request_instance", default=None)
# Characters a path keeps unescaped (RFC 3986 pchar and "/"): everything else is percent-encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def instance_of(scope: Scope) -> str:
    """The request's path as sent (`request_instance`); `problem_response` percent-encodes it."""
    return str(scope.get("root_path", "") + scope.get("path", ""))


class FieldError(BaseModel):
    """One bad value of the request."""

    field: str = Field(
        description="Where the value is: a body field's dotted path (`items.1.full_name`), a query or header "
        "parameter's name, or `body` for the body as a whole"
    )
    message: str = Field(description="What is wrong and, where it helps, what to send instead")
    type: str = Field(description="The kind of error, for a program (`date_format`, `enum`, `missing`, ...)")


class Problem(BaseModel):
    """RFC 9457 problem details, plus a machine-readable `code` and, for bad input, the fields."""

    type: str = Field(
        description="`/api/v1/problems/{code}`: a URI reference relative to the request's address (RFC 9457 "
        "section 3.1.1); GET it for the code's status, title and meaning"
    )
    title: str = Field(description="The code's title: the same for every occurrence of the code")
    status: int = Field(description="The HTTP status of this answer")
    detail: str | None = Field(default=None, description="What went wrong this time, for a person")
    instance: str = Field(
        description="This occurrence (RFC 9457 section 3.1.5): the path of the request answered, without its "
        "query string (a URI reference relative to the request's address); a `urn:uuid:` where no request "
        "path is known",
        examples=["/api/v1/groups/83ee50c5-f38f-44f4-99b9-822eb2c018d1/compliance"],  # the demo's Beat Lab
    )
    code: ProblemCode = Field(description="What kind of problem it is (`GET /api/v1/problems/{code}`)")
    errors: list[FieldError] | None = Field(
        default=None, description="For bad input (422): each bad value, with where it is and what is wrong"
    )


def problem_response(
    code: ProblemCode,
    detail: str | None = None,
    errors: list[FieldError] | None = None,
    *,
    status: int | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """The problem document for `code`: its status and title unless the answer gives its own, `type` the
    code's entry in the catalogue (`/api/v1/problems/{code}`) and `instance` the request's path (a fresh
    `urn:uuid:` outside a request); `extra` adds members to the body."""
    code = ProblemCode[code]
    status = code.status if status is None else status
    problem = Problem(
        type=code.type_uri,
        title=title or code.summary,
        status=status,
        detail=detail,
        instance=quote(path, safe=_PATH_SAFE) if (path := request_instance.get()) else uuid.uuid4().urn,
        code=code,
        errors=errors,
    )
    body = problem.model_dump(mode="json", exclude_none=True)
    body.update(extra or {})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)
