"""The routes of the records filed under another (an incident's entries, a group's reviews, a control's
checks), written once: a page of them, and one more added. Kept beside `records.py` (which it stands on),
as `Records` declares the routes of a record type itself.

    filed = SubRecords(records)

    @filed.list("/{group_id}/reviews", public=ReviewPublic, summary="List a group's reviews")
    def list_reviews(read: Write, group: Group, paging: PageParams) -> Page[ReviewPublic]:
        "The group's reviews, newest first."
        return read.call(service.list_reviews, group=group, paging=paging)

As with `Records`, the endpoint is built here with a fixed signature: its operation id is the declared
function's name and its description the function's docstring.
"""

# No `from __future__ import annotations`: the endpoints' annotations are objects held in closures (see
# records.py).

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, Response, status

from api.common import Page, PageDep
from api.errors import NOT_FOUND, Responses
from api.preconditions import set_etag
from api.records import F, Present, Records, Write, _body, _depends, acting


class SubRecords:
    """The routes of the records filed under those of `records` (whose `by_id` reads the record they are
    filed under from the path, 404 when missing or out of the caller's reach, and whose `reader` and
    `writer` are the default permissions)."""

    def __init__(self, records: Records) -> None:
        self.records = records

    def list(
        self, path: str, *, public: type, summary: str, reader: Any = None, present: Present | None = None
    ) -> Callable[[F], F]:
        """GET a page of them (`Page[public]`; 404 as `by_id` decides). The declared function
        `(read, record, paging) -> page` makes the call; `read` is a `Write` with no If-Match. The answer is
        `present`'s (session, reach, page) where given, else the page itself."""
        reading = acting(reader if reader is not None else self.records.reader)
        by_id = _depends(self.records.by_id)

        def declare(fn: F) -> F:
            def endpoint(
                read: Annotated[Write, reading], record: Annotated[Any, by_id], paging: PageDep
            ) -> Any:
                found = fn(read, record, paging)
                return present(read.session, read.reach, found) if present is not None else found

            self.records._add(endpoint, fn, "get", path, summary, NOT_FOUND, model=Page[public])  # type: ignore[valid-type]
            return fn

        return declare

    def add(
        self,
        path: str,
        *,
        public: type,
        summary: str,
        responses: Responses = NOT_FOUND,
        writer: Any = None,
        etag: bool = False,
        present: Present | None = None,
    ) -> Callable[[F], F]:
        """POST one more: 201 with it as `public` (404 as `by_id` decides; with `etag`, its ETag). The
        declared function is `(write, record, data) -> added`; the answer is `present`'s (session, reach,
        added) where given, else `added` itself."""
        writing = acting(writer if writer is not None else self.records.writer)
        by_id = _depends(self.records.by_id)

        def declare(fn: F) -> F:
            body = _body(fn)

            def endpoint(
                write: Annotated[Write, writing],
                record: Annotated[Any, by_id],
                data: Annotated[body, Body()],  # type: ignore[valid-type]
                response: Response,
            ) -> Any:
                added = fn(write, record, data)
                if etag:
                    set_etag(response, added.version)
                return present(write.session, write.reach, added) if present is not None else added

            self.records._add(endpoint, fn, "post", path, summary, responses, status.HTTP_201_CREATED, public)
            return fn

        return declare
