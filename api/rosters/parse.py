"""Reading an uploaded member list: JSON (`RosterUpload`) or CSV with a header row.

CSV is read with the standard library's `csv` module (quoted fields, commas and line breaks inside quotes,
a UTF-8 byte-order mark from Excel). The header's column names are matched without regard to case, spaces,
hyphens or underscores, and each has a few other names platforms and spreadsheets use (`COLUMNS`). Any error
is a 422 naming the row (as a spreadsheet numbers it, the header being row 1, with the line of the file it
begins on) and the column; a JSON error names the JSON location (`entries.<index>.<field>`, from 0) and the
entry as a person counts it (from 1). Nothing is stored.
docs/rosters.md lists the columns and how to export a list from each platform.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from pydantic import ValidationError

from api.common import control_character_errors
from api.errors import FieldError, Unprocessable, readable_message
from api.identities import normalise
from api.rosters.models import MAX_ENTRIES, ROLE_NAMES, EntryIn, PlatformRole, RosterUpload

# Accepted column names (after folding: lower case, runs of spaces, hyphens and underscores as one "_").
COLUMNS: dict[str, tuple[str, ...]] = {
    "display_name": ("display_name", "name", "full_name", "member", "member_name"),
    "handle": ("handle", "username", "user_name", "user", "profile", "profile_url", "user_id", "discord_id"),
    "email": ("email", "email_address", "e_mail"),
    "phone": ("phone", "phone_number", "mobile", "number", "whatsapp"),
    "platform_role": ("platform_role", "role"),
    "joined_on": ("joined_on", "joined", "date_joined", "joined_at", "member_since"),
}
_ALIASES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
IDENTIFYING = ("display_name", "handle", "email", "phone")
ROLES = ROLE_NAMES
_SEPARATORS = re.compile(r"[\s\-_]+")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _fold_header(name: str) -> str:
    return _SEPARATORS.sub("_", name.strip().lower()).strip("_")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st: how a person counts."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


class Source(Protocol):
    """Where an uploaded list came from, so an error names the place in the caller's own terms."""

    def error(self, row: int, column: str, message: str, type_: str = "value_error") -> Unprocessable:
        """The 422 for a fault at entry `row` (as stored: `RosterEntry.row`), column or field `column`."""
        ...


@dataclass(frozen=True)
class CsvSource:
    """A CSV file: rows as a spreadsheet numbers them (the header is row 1), each with the line of the file
    it begins on (a cell with a line break in it, Alt+Enter in Excel, makes one row span two lines)."""

    lines: Mapping[int, int] = field(default_factory=dict)

    def error(self, row: int, column: str, message: str, type_: str = "value_error") -> Unprocessable:
        """`rows.<row>.<column>`, said as "row 7 (line 7 of the file), column joined_on: ..."."""
        line = self.lines.get(row, row)
        text = f"row {row} (line {line} of the file), column {column}: {message}"
        return Unprocessable(
            text, errors=[FieldError(field=f"rows.{row}.{column}", message=text, type=type_)]
        )


@dataclass(frozen=True)
class JsonSource:
    """A JSON body: entries are stored numbered from 1 (`entries[0]` is entry 1), and an error names both
    the JSON location (`entries.<index>.<field>`, the index counting from 0 as in the array) and the entry
    as a person counts it."""

    def error(self, row: int, column: str, message: str, type_: str = "value_error") -> Unprocessable:
        """`entries.<row - 1>.<column>`, said as "entries[5].joined_on: entry 6 (the 6th in the list)..."."""
        return Unprocessable.field(json_field(row - 1, column), json_words(row - 1, column, message), type_)


JSON = JsonSource()


def json_field(index: int, column: str) -> str:
    return f"entries.{index}.{column}"


def json_words(index: int, column: str, message: str) -> str:
    """A JSON entry's fault in words: the JSON location, then the entry as a person counts it."""
    n = index + 1
    return f"entries[{index}].{column}: entry {n} (the {ordinal(n)} in the list), field {column}: {message}"


# An upload as read: (row, entry) pairs, the body's `captured_on` (JSON only) and where it came from.
Parsed = tuple[list[tuple[int, EntryIn]], date | None, Source]


def _date(value: str) -> date:
    uk = _UK_DATE.match(value)
    if uk:  # the day first, as UK spreadsheets write it
        return date(int(uk.group(3)), int(uk.group(2)), int(uk.group(1)))
    return date.fromisoformat(value)


def read_csv(body: bytes) -> tuple[list[tuple[int, EntryIn]], CsvSource]:
    """Each data row as (its row number, the entry), and where each row begins in the file. Errors: 422
    naming `rows.<row>.<column>`, the message saying the row, the line of the file and the column."""
    lines: dict[int, int] = {1: 1}
    source = CsvSource(lines)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise source.error(1, "body", "the file is not UTF-8 text; save it as CSV UTF-8") from exc
    # strict: a quote left open to the end of the file is an error, not the rest of the file in one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    reading = 1  # the row being read, for a file the csv module cannot read
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise source.error(1, "display_name", "the file is empty: the first row names the columns")
        columns: list[str] = []
        for name in header:
            column = _ALIASES.get(_fold_header(name))
            if column is None or "\x00" in name:
                raise source.error(
                    1, name.strip() or "(blank)", f"unknown column {name.strip()!r}; see docs/rosters.md"
                )
            if column in columns:
                raise source.error(1, name.strip(), f"a second column for {column}")
            columns.append(column)
        if not set(columns) & set(IDENTIFYING):
            raise source.error(
                1, "display_name", "no column says who each member is (name, handle, email or phone)"
            )
        entries: list[tuple[int, EntryIn]] = []
        # Rows as a spreadsheet numbers them (the header is row 1), not the file's lines: a cell with a line
        # break in it (Alt+Enter in Excel) is one row over two lines.
        reading, lines[2] = 2, reader.line_num + 1
        for row, values in enumerate(reader, start=2):
            reading, lines[row + 1] = row + 1, reader.line_num + 1
            if not any(v.strip() for v in values):
                continue  # a blank line, as spreadsheets leave at the end
            if len(entries) == MAX_ENTRIES:
                raise source.error(row, columns[0], f"more than {MAX_ENTRIES:,} members: split the list")
            if len(values) < len(columns):
                raise source.error(
                    row, columns[len(values)], "missing: the row has fewer values than the header"
                )
            if len(values) > len(columns):
                raise source.error(
                    row, f"column {len(columns) + 1}", "the row has more values than the header"
                )
            raw = dict(zip(columns, values, strict=True))
            for column, value in raw.items():
                if "\x00" in value:  # PostgreSQL cannot store one: refused alike on every database
                    raise source.error(row, column, "holds a NUL character: the file is not a CSV file")
            entries.append((row, _entry(source, row, raw)))
    except csv.Error as exc:
        raise source.error(reading, "body", f"not readable as CSV ({exc})") from exc
    if not entries:
        # An empty list is not "nobody is on the platform": it is a failed export, and applied it would end
        # every membership of the group.
        raise source.error(
            2, columns[0], "the list has nobody on it: a group's member list has at least its admin"
        )
    return entries, source


def _entry(source: CsvSource, row: int, raw: dict[str, str]) -> EntryIn:
    fields: dict[str, object] = {}
    for column, value in raw.items():
        value = value.strip()
        if not value:
            continue
        if column == "platform_role":
            role = ROLES.get(_fold_header(value))
            if role is None:
                raise source.error(row, column, f"{value!r} is not admin, moderator or member")
            fields[column] = PlatformRole(role)
        elif column == "joined_on":
            try:
                fields[column] = _date(value)
            except ValueError as exc:
                raise source.error(
                    row, column, f"{value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)"
                ) from exc
        else:
            fields[column] = value
    try:
        entry = EntryIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise source.error(row, str(first["loc"][0]), readable_message(first), first["type"]) from exc
    return check_entry(entry, source, row)


def read_json(body: bytes) -> Parsed:
    """The entries of a `RosterUpload`, numbered from 1, and its `captured_on`. Errors: 422 naming each
    field (`entries.<index>.<field>`, at most 20), each message saying the entry as a person counts it."""
    try:
        upload = RosterUpload.model_validate_json(body)
    except ValidationError as exc:
        errors = []
        for e in exc.errors()[:20]:
            loc = e["loc"]
            if len(loc) >= 3 and loc[0] == "entries" and isinstance(loc[1], int):
                column = ".".join(str(p) for p in loc[2:])
                errors.append(
                    FieldError(
                        field=json_field(loc[1], column),
                        message=json_words(loc[1], column, readable_message(e)),
                        type=e["type"],
                    )
                )
            else:
                where = ".".join(str(p) for p in loc) or "body"
                errors.append(
                    FieldError(field=where, message=f"{where}: {readable_message(e)}", type=e["type"])
                )
        detail = "; ".join(e.message for e in errors[:3]) + (
            f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        )
        raise Unprocessable(detail, errors=errors) from exc
    entries = [(i + 1, check_entry(e, JSON, i + 1)) for i, e in enumerate(upload.entries)]
    return entries, upload.captured_on, JSON


def _visible(value: str | None) -> bool:
    """Whether a value holds something a person can read: not only spaces, control or invisible formatting
    characters (a row of zero-width spaces names nobody)."""
    return any(not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf") for c in value or "")


def check_entry(entry: EntryIn, source: Source, row: int) -> EntryIn:
    """An entry must say who the member is (a name, handle, email or phone with something visible in it),
    hold no control character and no line break in those one-line fields (the rule every JSON body is held
    to, `api.common.control_character_errors`: PostgreSQL cannot store a NUL, and an escape sequence
    rewrites a terminal), and an email or phone must be one matching can read (an "@" in an email, a digit
    in a phone: `api.identities.normalise`). The same for CSV and JSON. Errors: 422 naming the place as
    `source` says it."""
    for column in IDENTIFYING:
        value = getattr(entry, column)
        if "\x00" in (value or ""):
            raise source.error(row, column, "holds a NUL character")
        for _, message in control_character_errors(value, column, one_line=True):
            raise source.error(row, column, message)
    if entry.email is not None and entry.email.strip() and normalise.email_key(entry.email) is None:
        raise source.error(row, "email", f"{entry.email.strip()!r} is not an email address (no @)")
    if entry.phone is not None and entry.phone.strip() and normalise.phone_key(entry.phone) is None:
        raise source.error(
            row,
            "phone",
            f"{entry.phone.strip()!r} is not a phone number (too short, too long or no number at all)",
        )
    if not any(_visible(getattr(entry, c)) for c in IDENTIFYING):
        raise source.error(row, "display_name", "names nobody: give a name, handle, email or phone")
    return entry
