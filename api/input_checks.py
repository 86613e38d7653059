"""The checks every /api request passes before its route reads anything (one router-wide dependency,
`refuse_malformed_input`): control characters where a person meant none, a JSON body nested deeper than
any record, a query parameter the route does not take. Each a 422 in the problem-details shape naming the
field; the depth measured without recursion, so a hostile body cannot take a check out of the stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request

from api.common import control_character_errors
from api.errors import Unprocessable

# No record of this API nests more than a few levels (a sync batch: the batch, its records, a consent's
# purposes); a body nested far deeper is refused before anything walks it, so neither the JSON parser nor
# the checks below recurse out of the stack (a 500) on a hostile body (OWASP Input Validation Cheat Sheet).
MAX_JSON_DEPTH = 32
TOO_DEEP_MESSAGE = f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
TOO_DEEP_BODY: list[Any] = [[]]  # stands for a body the parser gave up on: deeper than any limit


def nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether `value` (a parsed JSON value) has objects or lists nested more than `limit` deep; without
    recursion, so a value of any depth is measured. A body the parser refused as too deep counts as deeper."""
    if value is TOO_DEEP_BODY:
        return True
    level: list[Any] = [value]
    depth = 0
    while level:
        inner: list[Any] = []
        for v in level:
            if isinstance(v, dict):
                inner.extend(v.values())
            elif isinstance(v, list):
                inner.extend(v)
        if not inner and not any(isinstance(v, (dict, list)) for v in level):
            return False
        depth += 1
        if depth > limit:
            return True
        level = inner
    return False


def refuse_too_deep(body: Any) -> None:
    """A 422 naming `body` when the parsed JSON `body` nests more than `MAX_JSON_DEPTH` levels (or is
    `TOO_DEEP_BODY`, the parser having given up)."""
    if nested_deeper_than(body, MAX_JSON_DEPTH):
        raise Unprocessable.field("body", TOO_DEEP_MESSAGE, "json_too_deep")


async def refuse_control_characters(request: Request) -> None:
    """Refuse a request whose path parameters, query string, JSON body or form holds a control character
    where it may not (see `control_character_errors`): a 422 naming the first such field, before anything
    is read or written. A body in another format (a roster's CSV) is its parser's to judge."""
    # A path parameter is one line too (an id, a code): checked here for every route, whatever its type, so
    # a NUL in a path is refused alike on SQLite and on PostgreSQL (which would refuse it only on writing).
    found = [
        e
        for name, value in [*request.path_params.items(), *request.query_params.multi_items()]
        for e in control_character_errors(value, name, one_line=True)
    ]
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if not found and (media == "application/json" or media.endswith("+json")):
        try:
            body = await request.json()
        except ValueError:
            body = None  # not JSON: the framework's own 422 names the body
        except RecursionError:
            body = TOO_DEEP_BODY  # past the parser's own limit
        refuse_too_deep(body)
        found = control_character_errors(body, "")
    elif not found and media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        found = [e for name, value in form.multi_items() for e in control_character_errors(value, name)]
    if found:
        raise Unprocessable.field(*found[0])


def _query_names(dependant: Any) -> Iterator[str]:
    for param in dependant.query_params:
        yield param.alias
    for sub in dependant.dependencies:
        yield from _query_names(sub)


async def refuse_unknown_query(request: Request) -> None:
    """Refuse a query parameter the route does not take (a 422 naming it and listing the ones it does), as
    a body refuses an unknown field (`FORBID_EXTRA`): a misspelt or misplaced filter (`as_of` on the
    forecast, which always starts today) would otherwise be answered as if it had been applied. Each
    route's names worked out once (routes live as long as the app)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known: frozenset[str] | None = getattr(route, "_esafety_known_queries", None)
    if known is None:
        known = frozenset(_query_names(dependant))
        route._esafety_known_queries = known  # type: ignore[union-attr]
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise Unprocessable.field(
            unknown[0], f"{unknown[0]} is not a parameter here (this one takes: {takes})"
        )


async def refuse_malformed_input(request: Request) -> None:
    """Both checks above, in order, as one async dependency (each one FastAPI solves costs every request)."""
    await refuse_control_characters(request)
    await refuse_unknown_query(request)
