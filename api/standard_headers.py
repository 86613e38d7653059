"""The standard headers a client expects without asking, in one place for every route (a pure ASGI
middleware) and declared in the spec by `declare_standard_headers`:

- `Location` on a 201: the absolute path of the new record, where a GET answers it (RFC 9110 §10.2.2);
- `Link` with `first`, `last` and, where there is one, `prev` and `next` on every page of a list
  (RFC 8288), the request's other query parameters kept;
- a GET answered with a record's version as its `ETag` (`"3"`) carries instead the tag of what it
  answers, `"3.<digest of the body>"` (api/preconditions.py `representation_etag`): the body can change
  while the version does not (a group's member count, `is_current` on a new day), and a tag must tell
  representations apart (RFC 9110 §8.8.3), or a 304 would keep a client on stale data;
- a GET sent with `If-None-Match` naming the answer's current `ETag` (or `*`) is a 304 without a body
  (RFC 9110 §13.1.2: weak comparison, so `W/"3.5f0c…"` matches `"3.5f0c…"`).

A list is a route whose answer is a `Page`; its `total`, `limit` and `offset` give the links, so the
answer is read back here rather than every route building links itself. The body of a re-tagged GET is
held whole for its digest (a single record: a few kilobytes at most).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.common import Page
from api.errors import allowed_methods
from api.preconditions import is_version_etag, representation_etag

_ENTITY_TAG = re.compile(r'\s*(?:W/)?("[^"]*")\s*')
# Answers whose headers a 304 keeps (RFC 9110 §15.4.5); the body's own headers go.
_DROPPED_ON_304 = {b"content-length", b"content-type"}
PREFIX = "/api/"


def none_match(header: str, etag: str) -> bool:
    """Whether an If-None-Match header matches `etag` by weak comparison (RFC 9110 §13.1.2, §8.8.3.2):
    `*`, or a listed tag with the same opaque value whether or not either is weak."""
    if header.strip() == "*":
        return True
    wanted = _ENTITY_TAG.fullmatch(etag)
    if wanted is None:
        return False
    return any(
        (found := _ENTITY_TAG.fullmatch(member)) is not None and found[1] == wanted[1]
        for member in header.split(",")
    )


def links(path: str, query: str, *, total: int, limit: int, offset: int) -> str:
    """The Link header of one page: `first` and `last` always (`last` is `first` for an empty list),
    `prev` and `next` where there is such a page. Each keeps the request's other query parameters."""
    kept = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in ("limit", "offset")]

    def at(start: int) -> str:
        return f"<{path}?{urlencode([*kept, ('limit', limit), ('offset', start)])}>"

    last = max(0, (total - 1) // limit * limit) if limit > 0 else 0
    rels = [f'{at(0)}; rel="first"']
    if offset > 0:
        rels.append(f'{at(max(0, min(offset - limit, last)))}; rel="prev"')
    if offset + limit < total:
        rels.append(f'{at(offset + limit)}; rel="next"')
    rels.append(f'{at(last)}; rel="last"')
    return ", ".join(rels)


def _is_list(route: Any) -> bool:
    model = getattr(route, "response_model", None)
    return isinstance(model, type) and issubclass(model, Page)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), None)


def _gets(app: Any, path: str) -> bool:
    """Whether the app serves a GET at `path` (the new record's own address)."""
    return "GET" in allowed_methods(app.routes, path)


class StandardHeaders:
    """Adds Location, Link, a GET's representation ETag and the 304 (see the module's docstring) to
    answers under /api/."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        held: dict[str, Any] = {}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
                etag = _header(headers, b"etag")
                answered = method == "GET" and status == 200 and etag is not None
                retag = answered and is_version_etag(etag or "")
                # A tag that is already the representation's own (a roster's) is compared as it is.
                if (
                    answered
                    and not retag
                    and await self._not_modified(send, message, headers, etag or "", scope)
                ):
                    held["not_modified"] = True
                    return
                wants_link = method == "GET" and status == 200 and _is_list(scope.get("route"))
                if retag or wants_link or (status == 201 and method in ("POST", "PUT", "PATCH")):
                    held.update(start={**message, "headers": headers}, body=b"", link=wants_link, retag=retag)
                    return
                await send(message)
                return
            if held.get("not_modified"):
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            if "start" not in held:
                await send(message)
                return
            held["body"] += message.get("body", b"")
            if message.get("more_body", False):
                return
            start, body = held["start"], held["body"]
            if held["retag"]:
                tag = representation_etag(_header(start["headers"], b"etag") or "", body) or ""
                start["headers"] = [(k, v) for k, v in start["headers"] if k.lower() != b"etag"]
                start["headers"].append((b"etag", tag.encode("latin-1")))
                if await self._not_modified(send, start, start["headers"], tag, scope):
                    await send({"type": "http.response.body", "body": b""})
                    return
            if held["link"] or start["status"] == 201:
                start["headers"].extend(self._added(scope, start["headers"], body, held["link"]))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _not_modified(
        send: Send, start: Message, headers: list[tuple[bytes, bytes]], etag: str, scope: Scope
    ) -> bool:
        """Answer 304 (the start only, its body's own headers dropped) when the request's If-None-Match
        names `etag`; whether it did."""
        # Read only here, for an answer that has a tag: most requests never look at their headers at all. A
        # field sent more than once is one list (RFC 9110 §5.3).
        sent = [v.decode("latin-1") for k, v in scope["headers"] if k.lower() == b"if-none-match"]
        if not sent or not none_match(", ".join(sent), etag):
            return False
        kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED_ON_304]
        await send({**start, "status": 304, "headers": kept})
        return True

    @staticmethod
    def _added(
        scope: Scope, headers: list[tuple[bytes, bytes]], body: bytes, link: bool
    ) -> list[tuple[bytes, bytes]]:
        try:
            answer = json.loads(body)
        except ValueError:
            return []
        if not isinstance(answer, dict):
            return []
        path = scope.get("root_path", "") + scope["path"]
        if link:
            value = links(
                path,
                scope.get("query_string", b"").decode("latin-1"),
                total=int(answer["total"]),
                limit=int(answer["limit"]),
                offset=int(answer["offset"]),
            )
            return [(b"link", value.encode("latin-1"))]
        record_id = answer.get("id")
        if record_id is None or _header(headers, b"location") is not None:
            return []
        # A push by external id (PUT or PATCH) creates at its own path; the record's address is by its id,
        # beside it.
        base = path.rsplit("/by-external-id/", 1)[0] if "/by-external-id/" in path else path
        location = f"{base}/{record_id}"
        return [(b"location", location.encode("latin-1"))] if _gets(scope["app"], location) else []


LINK_HEADER: dict[str, Any] = {
    "description": "RFC 8288 links to the `first`, `prev`, `next` and `last` pages (e.g. "
    '`</api/v1/staff?limit=50&offset=50>; rel="next"`), your other query parameters kept; no `prev` on '
    "the first page, no `next` on the last",
    "schema": {"type": "string"},
}
LOCATION_HEADER: dict[str, Any] = {
    "description": "The new record's path (GET it there)",
    "schema": {"type": "string"},
}


def _param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def declare_standard_headers(schema: dict[str, Any]) -> None:
    """Declare in the spec the headers StandardHeaders adds: `Link` on the 200 of every list (an answer
    whose schema is a `Page_…`), and `Location` on each 201 whose record a GET answers beside it."""
    paths: dict[str, dict[str, Any]] = schema["paths"]
    single = {
        path.rsplit("/", 1)[0]
        for path, ops in paths.items()
        if "get" in ops and _param(path.rsplit("/", 1)[1])
    }
    for path, operations in paths.items():
        ok = operations.get("get", {}).get("responses", {}).get("200", {})
        ref = ok.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        if ref.rsplit("/", 1)[-1].startswith("Page_"):
            ok.setdefault("headers", {})["Link"] = dict(LINK_HEADER)
        for operation in operations.values():
            created = operation.get("responses", {}).get("201")
            base = path.rsplit("/by-external-id/", 1)[0]
            if created is not None and base in single:
                created.setdefault("headers", {})["Location"] = dict(LOCATION_HEADER)
