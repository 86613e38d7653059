"""Shapes shared by every domain: pagination, date-order checks, ETags."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any, Generic, Literal, TypeVar, cast

from fastapi import Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement
from sqlmodel._compat import SQLModelConfig

from api.errors import PreconditionFailed, Unprocessable

T = TypeVar("T")

# Inputs reject unknown fields, so a typo in a field name is an error rather than silently ignored.
FORBID_EXTRA = SQLModelConfig(extra="forbid")


def forbid_extra(*examples: dict[str, Any]) -> SQLModelConfig:
    """FORBID_EXTRA with examples for the schema: Swagger UI's "Try it out" starts from the first, so each
    must be a body the model accepts (tests/test_examples.py validates every one)."""
    return SQLModelConfig(extra="forbid", json_schema_extra={"examples": list(examples)})


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


WriteOutcome = Literal["created", "updated", "unchanged"]


class WriteReceipt(BaseModel):
    """What a write answers to a caller who may change a kind of record but not read it (an API key scoped
    to `sync:write` only): that the write happened, never the record's fields. The same shape for every
    write route and every bulk sync result."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="The record's id")
    version: int = Field(description="The record's version after the write (send it back in If-Match)")
    status: WriteOutcome = Field(description="What the write did to the record")


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=200, description="Page size (at most 200)")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Records to skip")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def check_order(start: date | None, end: date | None, *, start_field: str, end_field: str) -> None:
    """An end before its start is a 422 that names the end field."""
    if start is not None and end is not None and end < start:
        raise Unprocessable.field(end_field, f"{end_field} ({end}) is before {start_field} ({start})")


def in_force(start: date | None, end: date | None, on: date) -> bool:
    """Whether a dated fact holds on `on`. End dates are exclusive everywhere in this service:
    `left_on`, `ended_on`, `withdrawn_on`, `expires_on` and `archived_on` are the first day it no longer holds
    (people who leave lose access the day they leave)."""
    return (start is None or start <= on) and (end is None or on < end)


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The ETag you read (e.g. "3"): the change is refused with 412 if the record moved on',
        ),
    ] = None,
) -> int | None:
    """The version the client expects, from an If-Match header; `*` or no header means any."""
    if value is None or value.strip() == "*":
        return None
    tag = value.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise PreconditionFailed(f"If-Match {value!r} is not an ETag this service issued")
    return int(tag)


IfMatch = Annotated[int | None, Depends(if_match)]


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive "contains" for a search box: LIKE's wildcards in `text` match literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(ColumnElement[bool], column.ilike(f"%{escaped}%", escape="\\"))
