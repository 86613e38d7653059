"""Reading an uploaded member list: JSON (`RosterUpload`) or CSV with a header row.

CSV is read with the standard library's `csv` module (quoted fields, commas and line breaks inside quotes,
a UTF-8 byte-order mark from Excel). The header's column names are matched without regard to case, spaces,
hyphens or underscores, and each has a few other names platforms and spreadsheets use (`COLUMNS`). Any error
is a 422 naming the row (as a spreadsheet numbers it, the header being row 1) and the column, and nothing is
stored.
docs/rosters.md lists the columns and how to export a list from each platform.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from datetime import date

from pydantic import ValidationError

from api.errors import FieldError, Unprocessable
from api.rosters.models import MAX_ENTRIES, EntryIn, PlatformRole

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
ROLES = {
    "admin": "admin",
    "owner": "admin",
    "group_admin": "admin",
    "moderator": "moderator",
    "member": "member",
}
_SEPARATORS = re.compile(r"[\s\-_]+")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _fold_header(name: str) -> str:
    return _SEPARATORS.sub("_", name.strip().lower()).strip("_")


def _bad(row: int, column: str, message: str, type_: str = "value_error") -> Unprocessable:
    field = f"rows.{row}.{column}"
    text = f"row {row}, column {column}: {message}"
    return Unprocessable(text, errors=[FieldError(field=field, message=text, type=type_)])


def _date(value: str) -> date:
    uk = _UK_DATE.match(value)
    if uk:  # the day first, as UK spreadsheets write it
        return date(int(uk.group(3)), int(uk.group(2)), int(uk.group(1)))
    return date.fromisoformat(value)


def read_csv(body: bytes) -> list[tuple[int, EntryIn]]:
    """Each data row as (its row number, the entry). Errors: 422 naming `rows.<row>.<column>`."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(1, "body", "the file is not UTF-8 text; save it as CSV UTF-8") from exc
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise _bad(line, "body", "the file holds a NUL character: it is not a CSV file")
    # strict: a quote left open to the end of the file is an error, not the rest of the file in one cell.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    reading = 1  # the row being read, for a file the csv module cannot read
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise _bad(1, "display_name", "the file is empty: the first row names the columns")
        columns: list[str] = []
        for name in header:
            column = _ALIASES.get(_fold_header(name))
            if column is None:
                raise _bad(
                    1, name.strip() or "(blank)", f"unknown column {name.strip()!r}; see docs/rosters.md"
                )
            if column in columns:
                raise _bad(1, name.strip(), f"a second column for {column}")
            columns.append(column)
        if not set(columns) & set(IDENTIFYING):
            raise _bad(1, "display_name", "no column says who each member is (name, handle, email or phone)")
        entries: list[tuple[int, EntryIn]] = []
        reading = 2
        # Rows as a spreadsheet numbers them (the header is row 1), not the file's lines: a cell with a line
        # break in it (Alt+Enter in Excel) is one row over two lines.
        for row, values in enumerate(reader, start=2):
            reading = row + 1
            if not any(v.strip() for v in values):
                continue  # a blank line, as spreadsheets leave at the end
            if len(entries) == MAX_ENTRIES:
                raise _bad(row, columns[0], f"more than {MAX_ENTRIES:,} members: split the list")
            if len(values) < len(columns):
                raise _bad(row, columns[len(values)], "missing: the row has fewer values than the header")
            if len(values) > len(columns):
                raise _bad(row, f"column {len(columns) + 1}", "the row has more values than the header")
            entries.append((row, _entry(row, dict(zip(columns, values, strict=True)))))
    except csv.Error as exc:
        raise _bad(reading, "body", f"not readable as CSV ({exc})") from exc
    if not entries:
        # An empty list is not "nobody is on the platform": it is a failed export, and applied it would end
        # every membership of the group.
        raise _bad(2, columns[0], "the list has nobody on it: a group's member list has at least its admin")
    return entries


def _entry(row: int, raw: dict[str, str]) -> EntryIn:
    fields: dict[str, object] = {}
    for column, value in raw.items():
        value = value.strip()
        if not value:
            continue
        if column == "platform_role":
            role = ROLES.get(_fold_header(value))
            if role is None:
                raise _bad(row, column, f"{value!r} is not admin, moderator or member")
            fields[column] = PlatformRole(role)
        elif column == "joined_on":
            try:
                fields[column] = _date(value)
            except ValueError as exc:
                raise _bad(row, column, f"{value!r} is not a date (YYYY-MM-DD or DD/MM/YYYY)") from exc
        else:
            fields[column] = value
    try:
        entry = EntryIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise _bad(row, str(first["loc"][0]), first["msg"], first["type"]) from exc
    return check_entry(entry, row=row)


def _visible(value: str | None) -> bool:
    """Whether a value holds something a person can read: not only spaces, control or invisible formatting
    characters (a row of zero-width spaces names nobody)."""
    return any(not c.isspace() and unicodedata.category(c) not in ("Cc", "Cf") for c in value or "")


def check_entry(entry: EntryIn, *, row: int | None = None, index: int | None = None) -> EntryIn:
    """An entry must say who the member is (a name, handle, email or phone with something visible in it)
    and hold no NUL character (PostgreSQL cannot store one: refused alike on every database)."""
    for column in IDENTIFYING:
        if "\x00" in (getattr(entry, column) or ""):
            if row is not None:
                raise _bad(row, column, "holds a NUL character")
            raise Unprocessable.field(f"entries.{index}.{column}", f"entry {index}: holds a NUL character")
    if not any(_visible(getattr(entry, c)) for c in IDENTIFYING):
        if row is not None:
            raise _bad(row, "display_name", "the row names nobody: give a name, handle, email or phone")
        raise Unprocessable.field(
            f"entries.{index}.display_name", "the entry names nobody: give a name, handle, email or phone"
        )
    return entry
