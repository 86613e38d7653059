"""Spreadsheets: the organisation report as an Excel workbook, one group's findings as CSV, and the one
rule that keeps a cell from running as a formula in either.

Every cell a spreadsheet shows goes through `cell`: a group's name, a message or an evidence label is free
text, and a spreadsheet runs a cell beginning with `=`, `+`, `-` or `@` as a formula (OWASP, "CSV
Injection"); some also treat a leading tab, carriage return, line feed or NUL as a place to start one,
and full-width = + - @ (U+FF1D, U+FF0B, U+FF0D, U+FF20) are folded to their ASCII forms by spreadsheets
that normalise input. In CSV, such a cell is written with a leading apostrophe (CSV has no cell types). In
the workbook every text is a string cell (`write_string`), which a spreadsheet never runs as a formula, so
the text is written as it is, with no apostrophe to show.

A workbook cell holds at most 32,767 characters (Excel's limit; longer text is cut off without a word). A
longer text keeps its beginning in the cell, which says where the rest is, and is written whole, in parts
of that size, to the `Notes` sheet (`Book`).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import xlsxwriter  # type: ignore[import-untyped]  # no stubs published
from sqlmodel import Session
from xlsxwriter.utility import xl_rowcol_to_cell  # type: ignore[import-untyped]

from api.auth.reach import Reach
from api.compliance import cache, history, org_cache, redaction, service
from api.compliance.engine import Evaluation, Finding
from api.compliance.models import Status
from api.compliance.rules.base import Outcome

FORMULA_STARTS = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\0",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)  # full-width = + - @
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FINDING_COLUMNS = (
    "group",
    "rule_id",
    "title",
    "severity",
    "outcome",
    "counts_against_status",
    "since",
    "since_before_records",
    "since_precision",
    "message",
    "clause_id",
    "clause",
    "evidence",
    "remediation",
    "waiver_expires_on",
)


def cell(value: object) -> object:
    """The value as a CSV cell may hold it: text that would start a formula gets a leading apostrophe;
    anything else is unchanged. (The workbook needs none: its text cells are string cells.)"""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def finding_row(group_name: str, f: Finding) -> tuple[object, ...]:
    """One finding as `FINDING_COLUMNS`: evidence as the labels the caller may see, joined by "; "."""
    return (
        group_name,
        f.rule_id,
        f.title,
        f.severity.value,
        f.outcome.value,
        f.counts_against_status,
        f.since,
        f.since_before_records,
        f.since_precision.value,
        f.message,
        f.clause.id,
        f.clause.text,
        "; ".join(e.label if e.detail is None else f"{e.label} ({e.detail})" for e in f.evidence),
        f.remediation,
        f.waiver.expires_on if f.waiver is not None else None,
    )


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return out.getvalue()


def group_findings_csv(*, session: Session, reach: Reach, group_id: uuid.UUID, as_of: date) -> str:
    """One group's findings as CSV (`FINDING_COLUMNS`), as its report shows them to the caller."""
    report = cache.group_report(session=session, reach=reach, group_id=group_id, as_of=as_of)
    return csv_text(FINDING_COLUMNS, (finding_row(report.group_name, f) for f in report.findings))


def group_evaluations(
    *, session: Session, reach: Reach, as_of: date, report: service.OrganisationReport | None = None
) -> list[tuple[service.GroupSummary, Evaluation]]:
    """Every active group the caller reaches (those of `report`, if given) with its findings, redacted as
    the caller may see them and with `since`, in a fixed number of statements, by name."""
    if report is None:
        report = org_cache.organisation_report(session=session, reach=reach, as_of=as_of)
    found = org_cache.group_evaluations(
        session=session, as_of=as_of, group_ids=[g.group_id for g in report.groups]
    )
    # A group archived since the report's list was read (PostgreSQL reads each statement afresh) is left out.
    listed = [g for g in report.groups if g.group_id in found]
    every = [f for g in listed for f in found[g.group_id].findings]
    redacted = iter(
        redaction.redact_for(session, reach, Evaluation(Status.compliant, {}, tuple(every))).findings
    )
    shown = {
        g.group_id: Evaluation(
            found[g.group_id].status,
            found[g.group_id].counts,
            tuple(next(redacted) for _ in found[g.group_id].findings),
        )
        for g in listed
    }
    shown = history.with_since_many(session=session, as_of=as_of, evaluations=shown)
    return [(g, shown[g.group_id]) for g in listed]


CELL_MAX = 32_767  # characters in one workbook cell (Excel's specifications and limits)
NOTES = "Notes"


class Book:
    """An in-memory .xlsx: sheets of rows, dates as dates, text as string cells; text over `CELL_MAX` is
    begun in its cell and written whole to the `Notes` sheet (see the module's docstring)."""

    def __init__(self) -> None:
        self.out = io.BytesIO()
        # Strings stay strings: no formulas, numbers or links read into a name or a message.
        self.book = xlsxwriter.Workbook(
            self.out,
            {
                "in_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        self.bold = self.book.add_format({"bold": True})
        self.day = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.notes: list[tuple[str, str]] = []  # (where, full text)

    def text(self, ws: Any, row: int, column: int, value: str) -> None:
        if len(value) <= CELL_MAX:
            ws.write_string(row, column, value)
            return
        where = f"{ws.get_name()}!{xl_rowcol_to_cell(row, column)}"
        self.notes.append((where, value))
        marker = (
            f" [… cut here: the whole text, {len(value):,} characters, is note {len(self.notes)} on the "
            f"{NOTES} sheet]"
        )
        ws.write_string(row, column, value[: CELL_MAX - len(marker)] + marker)

    def sheet(
        self, name: str, header: Sequence[str], rows: Iterable[Sequence[object]], widths: dict[int, int]
    ) -> None:
        ws = self.book.add_worksheet(name)
        ws.write_row(0, 0, header, self.bold)
        ws.freeze_panes(1, 0)
        n = 0
        for n, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if isinstance(value, date):
                    ws.write_datetime(n, c, value, self.day)
                elif value is None:
                    ws.write_blank(n, c, None)
                elif isinstance(value, bool):
                    ws.write_boolean(n, c, value)
                elif isinstance(value, int):
                    ws.write_number(n, c, value)
                else:
                    self.text(ws, n, c, str(value))
        ws.autofilter(0, 0, max(n, 1), len(header) - 1)
        for c, width in widths.items():
            ws.set_column(c, c, width, self.wrap if width > 30 else None)

    def close(self) -> bytes:
        """The workbook's bytes, with the `Notes` sheet if any text was too long for its cell: one row per
        part of at most `CELL_MAX` characters (note, cell, part, parts, text), read in order."""
        if self.notes:
            rows = [
                (i, where, k + 1, -(-len(full) // CELL_MAX), full[k * CELL_MAX : (k + 1) * CELL_MAX])
                for i, (where, full) in enumerate(self.notes, start=1)
                for k in range(-(-len(full) // CELL_MAX))
            ]
            self.sheet(NOTES, ("note", "cell", "part", "parts", "text"), rows, {1: 14, 4: 100})
        self.book.close()
        return self.out.getvalue()


def organisation_workbook(*, session: Session, reach: Reach, as_of: date) -> bytes:
    """The organisation report as an .xlsx workbook: a sheet of groups (the CSV report's columns) and a sheet
    of every failing, warning or waived finding (`FINDING_COLUMNS`), dates as dates; a `Notes` sheet holds
    any text longer than a cell takes."""
    report = org_cache.organisation_report(session=session, reach=reach, as_of=as_of)
    groups = group_evaluations(session=session, reach=reach, as_of=as_of, report=report)
    book = Book()
    book.sheet(
        "Groups",
        ("as_of", *CSV_COLUMNS),
        ((report.as_of, *row) for row in report_rows(report)),
        {0: 11, 3: 28, 11: 40, 12: 40},
    )
    book.sheet(
        "Findings",
        FINDING_COLUMNS,
        (
            finding_row(g.group_name, f)
            for g, ev in groups
            for f in ev.findings
            if f.outcome in (Outcome.fail, Outcome.warn)
        ),
        {0: 24, 1: 26, 2: 36, 8: 60, 10: 60, 11: 50, 12: 50},
    )
    return book.close()


def _outcomes(findings: Iterable[Finding], outcome: Outcome, *, waived: bool | None = None) -> list[str]:
    return [
        f.rule_id
        for f in findings
        if f.outcome is outcome and (waived is None or (f.waiver is not None) == waived)
    ]


CSV_COLUMNS = (
    "scope",
    "id",
    "name",
    "platform",
    "status",
    "pass",
    "fail",
    "warn",
    "not_applicable",
    "waived",
    "failing_rules",
    "warning_rules",
    "waived_rules",
)


def report_rows(report: service.OrganisationReport) -> Iterable[Sequence[object]]:
    """The report as spreadsheet rows: the organisation first, then one row per group."""
    org = report.organisation
    c = org.counts
    yield (
        "organisation",
        "",
        "organisation",
        "",
        org.status,
        c["pass"],
        c["fail"],
        c["warn"],
        c["not_applicable"],
        c["waived"],
        ";".join(_outcomes(org.findings, Outcome.fail)),
        ";".join(_outcomes(org.findings, Outcome.warn)),
        "",
    )
    for g in report.groups:
        c = g.counts
        yield (
            "group",
            g.group_id,
            g.group_name,
            g.platform,
            g.status,
            c["pass"],
            c["fail"],
            c["warn"],
            c["not_applicable"],
            c["waived"],
            ";".join(g.failing_rules),
            ";".join(g.warning_rules),
            ";".join(g.waived_rules),
        )
