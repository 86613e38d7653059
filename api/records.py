"""The routes every kind of record declares alike, written once: get one, change one (a PATCH or a verb
such as end, leave, archive), add one (201), and the CRM's create-or-replace by external id.

A domain's router makes one `Records` for its record type (the lookup that answers 404 out of reach, the
answering model, the permissions) and declares each route as its name, summary and docstring plus the one
service call that differs, e.g.

    records = Records(router, by_id=StaffById, public=StaffPublic, reader=StaffRead, writer=StaffWrite)
    records.get("/{staff_id}", "get_staff", "Get a staff member", "One member of staff. ...")

    @records.change("patch", "/{staff_id}", summary="Update staff", responses={**NOT_FOUND, **PRECONDITION})
    def update_staff(write: Write, staff: Staff, data: StaffUpdate) -> Staff:
        "Change the fields sent. ..."
        return service.update(session=write.session, caller=write.caller, staff=staff, data=data, ...)

The endpoint FastAPI serves is built here with a fixed signature (no signature is rewritten): the route's
operation id is the declared function's name and its description the function's docstring, so the spec
reads exactly as if each route were written out by hand. Every such answer carries the record's ETag.
"""

# No `from __future__ import annotations` here: the endpoints below are annotated with the domain's own
# dependency aliases, held in closures, which FastAPI must see as objects rather than names to look up.

import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal, TypeVar, get_type_hints

from fastapi import APIRouter, Body, Depends, Path, Response, status
from sqlmodel import Session

from api.auth.principal import Principal
from api.auth.reach import Reach, ReachDep, Record
from api.common import Page, PageDep, WriteOutcome, WriteReceipt
from api.crud import check_version
from api.deps import SessionDep
from api.errors import NOT_FOUND, Forbidden, Responses, problem
from api.external_ids import EXTERNAL_ID, EXTERNAL_ID_MAX
from api.preconditions import (
    CONDITIONAL_GET,
    CreateOnlyWanted,
    IfMatch,
    create_only,
    set_etag,
)
from api.problems import ProblemCode

# Declared on a partial push by external id of a kind of record some callers may write but not read.
WHOLE_RECORDS_ONLY: Responses = {
    403: problem(
        "`whole_records_only`: the caller may write this kind of record but not read it, so it sends whole "
        "records (PUT); also `forbidden` for a caller who may not push at all",
        ProblemCode.whole_records_only,
        ProblemCode.forbidden,
    )
}

# How a record is answered when the route's model is not the table itself (a group with its member count):
# `(session, reach, record) -> answer`.
Present = Callable[[Session, Reach, Any], Any]
# A declared route function, returned as it is (it stays callable, and testable, on its own).
F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")


@dataclass(frozen=True)
class Write:
    """What a write route hands its service call: the session, the caller (an API key or a user, already
    allowed the route's permission), their reach, and the version an If-Match names (None: any)."""

    session: Session
    caller: Principal
    reach: Reach
    expected_version: int | None

    def call(self, verb: Callable[..., R], **arguments: Any) -> R:
        """`verb(**arguments)` with, added, those of `session`, `caller`, `reach` and `expected_version`
        that the service verb takes (the services' verbs are keyword-only, named alike throughout)."""
        takes = inspect.signature(verb).parameters
        given = {name: getattr(self, name) for name in _WRITE_FIELDS if name in takes}
        return verb(**given, **arguments)


_WRITE_FIELDS = ("session", "caller", "reach", "expected_version")


def acting(permission: Any) -> Any:
    """The `Depends(...)` of a route's `Write` (with no If-Match yet): the session, the caller `permission`
    lets through (an `Annotated[Principal, Depends(require(...))]`; 401 without credentials, 403 without the
    permission) and their reach, resolved in that order, so the permission answers before any lookup the
    route declares after it; the permission matrix finds it in the endpoint's dependencies. Async, as
    `require` is: it only gathers what is in hand, so it costs no hand-off to the thread pool and back."""
    allowed = _depends(permission)

    async def context(session: SessionDep, caller: Annotated[Principal, allowed], reach: ReachDep) -> Write:
        return Write(session, caller, reach, None)

    return Depends(context)


def _depends(alias: Any) -> Any:
    """The `Depends(...)` an `Annotated[T, Depends(...)]` alias carries: the same object, so the route
    depends on exactly what a hand-written one would (the permission matrix reads it)."""
    return alias.__metadata__[-1]


def _doc(fn: Callable[..., Any]) -> str:
    return inspect.cleandoc(fn.__doc__ or "")


def _body(fn: Callable[..., Any]) -> type | None:
    """The model of the body the declared function takes as `data` (None: the route takes no body)."""
    return get_type_hints(fn).get("data") if "data" in inspect.signature(fn).parameters else None


class _NoFilters:
    """A list that takes no query parameter but its page."""


class Records:
    """The routes of one record type on `router` (see the module's docstring).

    `by_id`: the `Annotated[Table, Depends(lookup)]` that reads the record from the path, 404 when missing
    or out of the caller's reach; `to_write`, where it differs, the lookup of a record to change. `public`:
    the model a reader is answered with. `reader` and `writer`: the
    `Annotated[Principal, Depends(require(...))]` of the routes that read and write. `receipts`: the kind
    of record a caller may write without reading it (a `sync:write` key): such a caller's errors quote
    nothing stored and its answer is a `WriteReceipt`. `present`: the answer built from the record where
    it is not the record itself."""

    def __init__(
        self,
        router: APIRouter,
        *,
        by_id: Any,
        public: type,
        reader: Any,
        writer: Any,
        to_write: Any = None,
        receipts: Record | None = None,
        present: Present | None = None,
    ) -> None:
        self.router = router
        self.by_id = by_id
        self.to_write = to_write if to_write is not None else by_id
        self.public = public
        self.reader = reader
        self.writer = writer
        self.receipts = receipts
        self.present = present
        # A caller who may write but not read this kind of record gets a receipt, not the record.
        self.written: Any = public | WriteReceipt if receipts is not None else public

    @contextmanager
    def _blind(self, reach: Reach) -> Iterator[None]:
        with reach.blind(self.receipts) if self.receipts is not None else nullcontext():
            yield

    def _answer(self, write: Write, record: Any, outcome: WriteOutcome, response: Response) -> Any:
        set_etag(response, record.version)
        if self.receipts is not None and not write.reach.reads(self.receipts):
            return WriteReceipt(id=record.id, version=record.version, status=outcome)
        return self.present(write.session, write.reach, record) if self.present is not None else record

    def _whole_records_only(self, reach: Reach) -> None:
        """403 `whole_records_only` for a partial push by a caller who may write but not read this kind of
        record. A patch is merged with the stored record and the result checked (dates in order, fields a
        create needs, unique values), so its 422, 409 or 201 tells what is stored: a date of birth found by
        binary search over `joined_on`. A whole record (PUT) is checked against itself only."""
        if self.receipts is not None and not reach.reads(self.receipts):
            raise Forbidden(
                "This caller may write but not read these records, so it pushes whole records only: "
                "use PUT on the same path (a field left out becomes empty), or bulk sync with mode replace",
                code=ProblemCode.whole_records_only,
            )

    def get(
        self,
        path: str,
        name: str,
        summary: str,
        description: str,
        *,
        responses: Responses = NOT_FOUND,
        present: Present | None = None,
    ) -> None:
        """GET one record: the record (or `present`'s answer, by default the one writes give) with its
        ETag; 404 as `by_id` decides."""
        reading, by_id = acting(self.reader), _depends(self.by_id)
        present = present if present is not None else self.present

        def endpoint(
            read: Annotated[Write, reading], record: Annotated[Any, by_id], response: Response
        ) -> Any:
            answer = present(read.session, read.reach, record) if present is not None else record
            set_etag(response, answer.version)
            return answer

        self.router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            name=name,
            response_model=self.public,
            responses={**CONDITIONAL_GET, **responses},
            summary=summary,
            description=inspect.cleandoc(description),
        )

    def list(
        self,
        name: str,
        summary: str,
        description: str,
        *,
        call: Callable[..., Any],
        filters: type | None = None,
        path: str = "",
    ) -> None:
        """GET a page of the records: `call` (a service verb) with the page asked for and the filters sent,
        plus whichever of the session, caller and reach it takes (`Write.call`). `filters` is a dataclass
        of the query parameters (each a field, with its `Query(...)`), passed on by name."""
        reading = acting(self.reader)
        found_by = filters if filters is not None else _NoFilters

        def endpoint(
            read: Annotated[Write, reading],
            found: Annotated[found_by, Depends()],  # type: ignore[valid-type]
            paging: PageDep,
        ) -> Any:
            return read.call(call, paging=paging, **vars(found))

        self.router.add_api_route(
            path,
            endpoint,
            methods=["GET"],
            name=name,
            response_model=Page[self.public],  # type: ignore[name-defined]
            summary=summary,
            description=inspect.cleandoc(description),
        )

    def change(
        self, method: str, path: str, *, summary: str, responses: Responses, writer: Any = None
    ) -> Callable[[F], F]:
        """A write to the record `by_id` reads (PATCH, or a POST verb such as `/end`), re-read under its row
        lock, honouring If-Match (412 when stale). The declared function `(write, record[, data]) -> record`
        makes the change; the answer is the record with its new ETag (or a receipt: `updated`, or
        `unchanged` when the version did not move)."""
        writing = acting(writer if writer is not None else self.writer)

        def declare(fn: F) -> F:
            by_id, body = _depends(self.to_write), _body(fn)

            def write_to(write: Write, record: Any, response: Response, *data: Any) -> Any:
                # Re-read under the row's lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already queues
                # writers), as the pushes' `crud.locked` does: the version the change compares and sets is
                # then the newest, so changes sent at once queue instead of all but one answering 409.
                write.session.refresh(record, with_for_update=True)
                version = record.version
                # The precondition first: a 422 that compares the body with stored values must not answer
                # a stale If-Match, or the caller learns what it compared with before being told to re-read.
                check_version(record, write.expected_version)
                with self._blind(write.reach):
                    written = fn(write, record, *data)
                outcome: WriteOutcome = "unchanged" if written.version == version else "updated"
                return self._answer(write, written, outcome, response)

            if body is None:

                def endpoint(
                    write: Annotated[Write, writing],
                    record: Annotated[Any, by_id],
                    expected_version: IfMatch,
                    response: Response,
                ) -> Any:
                    return write_to(replace(write, expected_version=expected_version), record, response)

            else:

                def endpoint(  # type: ignore[misc]
                    write: Annotated[Write, writing],
                    record: Annotated[Any, by_id],
                    data: Annotated[body, Body()],  # type: ignore[valid-type]
                    expected_version: IfMatch,
                    response: Response,
                ) -> Any:
                    return write_to(replace(write, expected_version=expected_version), record, response, data)

            self._add(endpoint, fn, method, path, summary, responses)
            return fn

        return declare

    def create(
        self, path: str, *, summary: str, responses: Responses | None = None, writer: Any = None
    ) -> Callable[[F], F]:
        """POST a new record: 201 with the record (or a receipt) and its ETag. The declared function is
        `(write, data) -> record`."""
        writing = acting(writer if writer is not None else self.writer)

        def declare(fn: F) -> F:
            body = _body(fn)

            def endpoint(
                write: Annotated[Write, writing],
                data: Annotated[body, Body()],  # type: ignore[valid-type]
                response: Response,
            ) -> Any:
                with self._blind(write.reach):
                    record = fn(write, data)
                return self._answer(write, record, "created", response)

            self._add(endpoint, fn, "post", path, summary, responses, status.HTTP_201_CREATED)
            return fn

        return declare

    def upsert(
        self,
        path: str,
        *,
        summary: str,
        responses: Responses,
        method: Literal["put", "patch"] = "put",
        example: str | None = None,
    ) -> Callable[[F], F]:
        """PUT (the whole record) or PATCH (the fields sent) the record the CRM knows by `{external_id}`: 201
        when created, 200 otherwise, with its ETag; `If-None-Match: *` creates only (412, nothing written,
        when the record exists), `If-Match: *` never creates (412 when it does not). The declared function
        is `(write, external_id, data) -> (record, outcome)`; `example` is the path parameter's example in
        the spec."""
        examples = [example] if example else None
        writing = acting(self.writer)

        def declare(fn: F) -> F:
            body = _body(fn)

            def endpoint(
                acting_as: Annotated[Write, writing],
                external_id: Annotated[
                    str, Path(min_length=1, max_length=EXTERNAL_ID_MAX, examples=examples), EXTERNAL_ID
                ],
                data: Annotated[body, Body()],  # type: ignore[valid-type]
                expected_version: IfMatch,
                wants_create: CreateOnlyWanted,
                response: Response,
            ) -> Any:
                write = replace(acting_as, expected_version=create_only(expected_version, wants_create))
                if method == "patch":
                    self._whole_records_only(write.reach)
                with self._blind(write.reach):
                    record, outcome = fn(write, external_id, data)
                response.status_code = status.HTTP_201_CREATED if outcome == "created" else status.HTTP_200_OK
                return self._answer(write, record, outcome, response)

            created: Responses = {201: {"model": self.written, "description": "Created"}}
            if method == "patch" and self.receipts is not None:
                created = {**created, **WHOLE_RECORDS_ONLY}
            self._add(endpoint, fn, method, path, summary, {**created, **responses})
            return fn

        return declare

    def _add(
        self,
        endpoint: Callable[..., Any],
        fn: Callable[..., Any],
        method: str,
        path: str,
        summary: str,
        responses: Responses | None,
        status_code: int | None = None,
        model: Any = None,
    ) -> None:
        """Serve `endpoint` as the route `fn` declares: its name the operation id, its docstring the
        description; answered as `model` (by default the record, or its receipt)."""
        self.router.add_api_route(
            path,
            endpoint,
            methods=[method.upper()],
            name=fn.__name__,
            response_model=model if model is not None else self.written,
            status_code=status_code,
            responses=responses,
            summary=summary,
            description=_doc(fn),
        )
