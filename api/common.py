"""Shapes shared by every domain: strict input types, pagination, date-order checks, ETags."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any, ClassVar, Generic, Literal, Protocol, TypeVar, cast

from fastapi import Depends, Query
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    Strict,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError
from sqlalchemy import ColumnElement
from sqlmodel import SQLModel
from sqlmodel._compat import SQLModelConfig

from api.described import DescribedEnum, Values
from api.errors import Unprocessable

T = TypeVar("T")

# --- strict input -------------------------------------------------------------------------------------------
# Pydantic's lax mode reads `0` as 1970-01-01, `false` as the integer 0 and `1` as true: a client's mistake
# answered as if it meant something. Every date, timestamp, integer and boolean a client sends, in a body or
# a query string, is one of these types instead (tests/test_strict_input.py walks every route to hold it).

# ASCII digits only: `\d` alone also matches other scripts' digits (full-width ones), which int() would read.
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
# A timestamp: a day, "T" (or a space), a time, optionally fractions and an offset.
_ISO_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?", re.ASCII
)
_DIGITS = re.compile(r"-?\d+", re.ASCII)


def _calendar_day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise PydanticCustomError("date_format", "Not a date: use YYYY-MM-DD (for example 2026-07-02)")


def _instant(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_INSTANT.fullmatch(value):
        return value
    raise PydanticCustomError(
        "datetime_format",
        "Not a timestamp: use an RFC 3339 date-time, YYYY-MM-DDTHH:MM:SS with Z or an offset (for example "
        "2026-07-02T14:00:00Z)",
    )


def _query_whole(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise PydanticCustomError("int_parsing", "Not a whole number: use digits only (for example 50)")


def _query_flag(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("bool_parsing", "Not a boolean: use true or false")


def _not_blank(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        # Invisible format characters (a zero-width space, a BOM) write nothing either.
        if not value or all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in value):
            raise PydanticCustomError("blank", "Must not be blank: write the text, not only spaces")
    return value


# Free text a person must actually write (a reason, an outcome): stripped of surrounding whitespace, and
# nothing left is a 422 naming the field; length limits apply to the stripped text. An optional one is
# `Annotated[str | None, NOT_BLANK]` (absent or null is fine, blank is not).
NOT_BLANK = BeforeValidator(_not_blank)
NonBlank = Annotated[str, NOT_BLANK]

# Control characters (C0: U+0000 to U+001F) write nothing a person meant, and PostgreSQL refuses a NUL in
# text outright (so SQLite kept what PostgreSQL would refuse). Refused in every text a client sends, in one
# place, `refuse_control_characters`, a dependency of every /api route: a 422 naming the field. A tab, line
# feed or carriage return is allowed where text may run over lines, but not in a one-line value: a name,
# an email, a phone number or a handle (a field so named), nor in a query parameter; nor, there, a bidi
# override (`_BIDI_CONTROL`).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LINE_BREAK = re.compile(r"[\t\n\r]")
# Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) make a one-line value
# display differently from what it says ("Discord" shown for "drocsiD"), so one is refused there too. The
# marks (U+200E, U+200F, U+061C) stay: right-to-left names need them and they reorder nothing.
_BIDI_CONTROL = re.compile("[\u202a-\u202e\u2066-\u2069]")
ONE_LINE_FIELDS = ("name", "email", "phone", "handle")


def _one_line(field: str) -> bool:
    last = field.rsplit(".", 1)[-1].lower()
    return last.endswith(ONE_LINE_FIELDS)


def control_character_errors(value: Any, field: str, *, one_line: bool = False) -> list[tuple[str, str]]:
    """(field, message) for every text in `value` (a JSON value: objects and lists are walked, fields named
    as the errors name them, "items.0.full_name") holding a control character it may not hold."""
    if isinstance(value, dict):
        return [
            e
            for k, v in value.items()
            for e in control_character_errors(v, f"{field}.{k}" if field else str(k), one_line=one_line)
        ]
    if isinstance(value, list):
        return [
            e
            for i, v in enumerate(value)
            for e in control_character_errors(v, f"{field}.{i}", one_line=one_line)
        ]
    if isinstance(value, str):
        if _CONTROL.search(value):
            return [(field, "Must not contain control characters (such as NUL)")]
        if (one_line or _one_line(field)) and _LINE_BREAK.search(value):
            return [(field, "Must be one line: no tab, line feed or carriage return")]
        if (one_line or _one_line(field)) and _BIDI_CONTROL.search(value):
            return [(field, "Must not contain bidirectional embedding, override or isolate characters")]
    return []


# Body and query string alike: a date is exactly YYYY-MM-DD (not a number, not a timestamp).
Day = Annotated[date, BeforeValidator(_calendar_day)]
# A timestamp is ISO 8601 text (not a number of seconds).
Instant = Annotated[datetime, BeforeValidator(_instant)]
# In a JSON body: a JSON integer (not true/false, not 2.0, not "2") and a JSON boolean (not 0/1, not "yes").
Whole = Annotated[int, Strict()]
Flag = Annotated[bool, Strict()]
# In a query string, where everything arrives as text: exactly true or false, and digits only. An integer
# query parameter is `Annotated[int, Query(ge=..., ...), DIGITS_ONLY]`: after the Query, so its bounds
# still show in the spec as minimum and maximum (placed before them, pydantic would print them as "ge").
QueryFlag = Annotated[bool, BeforeValidator(_query_flag)]
DIGITS_ONLY = BeforeValidator(_query_whole)
# The same for a date query parameter with bounds: `Annotated[date | None, Query(le=...), YYYY_MM_DD]`.
YYYY_MM_DD = BeforeValidator(_calendar_day)

STRICT_MARKERS = (_calendar_day, _instant, _query_whole, _query_flag)


class Patch(SQLModel):
    """A PATCH body: every field may be left out, and a field in `NOT_NULL` (a column that always holds a
    value) may not be sent as null: a 422 naming it, and the spec does not mark it nullable. The others may
    be null to clear them. tests/test_strict_input.py checks `NOT_NULL` against the table's columns."""

    NOT_NULL: ClassVar[frozenset[str]] = frozenset()
    # The models whose fields these are (the create or public shape): a field described by neither its own
    # docstring nor Field(description=...) is described as there, so each meaning is written once.
    DESCRIBED_BY: ClassVar[tuple[type[BaseModel], ...]] = ()

    @field_validator("*")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name in cls.NOT_NULL:
            raise PydanticCustomError("not_null", "May be left out, but not null: it always has a value")
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        properties = handler.resolve_ref_schema(schema)["properties"]
        for name, field in properties.items():
            if "description" in field:
                continue
            for model in cls.DESCRIBED_BY:
                info = model.model_fields.get(name)
                if info is not None and info.description:
                    field["description"] = f"{info.description} Left out: unchanged."
                    break
        for name in cls.NOT_NULL:
            field = properties[name]
            branches = [b for b in field.pop("anyOf", []) if b.get("type") != "null"]
            if len(branches) == 1:
                field.update(branches[0])
            elif branches:
                field["anyOf"] = branches
            if "default" in field and field["default"] is None:
                del field["default"]
        return schema


# Inputs reject unknown fields, so a typo in a field name is an error rather than silently ignored.
# Attribute docstrings (the string under a field) are the field's description in the spec (api/described.py).
FORBID_EXTRA = SQLModelConfig(extra="forbid", use_attribute_docstrings=True)


def forbid_extra(*examples: dict[str, Any]) -> SQLModelConfig:
    """FORBID_EXTRA with examples for the schema: Swagger UI's "Try it out" starts from the first, so each
    must be a body the model accepts (tests/test_examples.py validates every one)."""
    return SQLModelConfig(
        extra="forbid", use_attribute_docstrings=True, json_schema_extra={"examples": list(examples)}
    )


class Page(BaseModel, Generic[T]):
    """One page of a list, in the list's stable order."""

    model_config = ConfigDict(use_attribute_docstrings=True)
    items: list[T]
    """The records on this page (at most `limit`)."""
    total: int
    """How many records match the filters in all, across every page."""
    limit: int
    """The page size asked for (default 50, at most 200)."""
    offset: int
    """How many matching records come before this page."""


WriteOutcome = Annotated[
    Literal["created", "updated", "unchanged"],
    Values(
        "What a write did to the record.",
        {
            "created": "No record had this id or external id: a new record was made.",
            "updated": "The record existed and at least one field changed (its version went up).",
            "unchanged": "The record already held exactly these values: nothing was written.",
        },
    ),
]


class Severity(DescribedEnum):
    """How serious: one scale for an incident and for a compliance rule's failure, in rising order.

    - low: the least serious. An incident: no harm likely (a filter letting one unsuitable site through). A
      rule: a record or a refresher is out of date (e-safety training, a risk assessment's privacy check,
      the policy on display).
    - medium: an incident: a breach of the policy that needs action, with nobody at immediate risk. A rule:
      a safeguard is missing or lapsed (a review overdue, a code of conduct unsigned, a declaration not
      made, someone past the group's age range).
    - high: serious. An incident: harm done or likely to a young person; act the same day; its young
      people's parents or carers must be informed within the policy's `parent_notification_days`, and while
      open it makes its group's GRP-OPEN-SERIOUS-INCIDENT warn. A rule: a setting or consent that protects
      young people is wrong (a group not closed, too few staff admins, no image consent, no risk
      assessment).
    - critical: the most serious. An incident: a child at risk of serious harm (grooming, abuse); act at
      once; parents or carers informed as for `high`. A rule: someone who should not reach young people can
      (departed staff still in a group, a person nobody has identified on a platform's member list, no
      e-safety coordinator)."""

    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


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
    limit: Annotated[int, Query(ge=1, le=200, description="Page size (at most 200)"), DIGITS_ONLY] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Records to skip"), DIGITS_ONLY] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(page_params)]


def check_order(start: date | None, end: date | None, *, start_field: str, end_field: str) -> None:
    """An end before its start is a 422 that names the end field."""
    if start is not None and end is not None and end < start:
        raise Unprocessable.field(end_field, f"{end_field} ({end}) is before {start_field} ({start})")


def shifted(day: date, days: int, *, field: str) -> date:
    """`day` moved by `days` (back when negative), where a client's day is the start: a 422 naming `field`
    when the result would fall off the calendar (before 0001-01-01 or after 9999-12-31), never a 500."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise Unprocessable.field(
            field, f"{field} ({day}) is too close to the end of the calendar to count {abs(days)} days from"
        ) from None


def in_force(start: date | None, end: date | None, on: date) -> bool:
    """Whether a dated fact holds on `on`. End dates are exclusive everywhere in this service:
    `left_on`, `ended_on`, `withdrawn_on`, `expires_on` and `archived_on` are the first day it no longer holds
    (people who leave lose access the day they leave)."""
    return (start is None or start <= on) and (end is None or on < end)


def contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive "contains" for a search box: LIKE's wildcards in `text` match literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(ColumnElement[bool], column.ilike(f"%{escaped}%", escape="\\"))


class _OfOnePerson(Protocol):
    staff_id: uuid.UUID | None
    participant_id: uuid.UUID | None


OfOnePerson = TypeVar("OfOnePerson", bound=_OfOnePerson)


def exactly_one_person(body: OfOnePerson) -> OfOnePerson:
    """`body` if it names exactly one of `staff_id` and `participant_id`, else 422 naming `staff_id`: a
    membership or a platform identity belongs to one person, a member of staff or a young person. The
    model validator their create bodies share (`model_validator(mode="after")(exactly_one_person)`)."""
    if (body.staff_id is None) == (body.participant_id is None):
        raise Unprocessable.field("staff_id", "give exactly one of staff_id and participant_id")
    return body
