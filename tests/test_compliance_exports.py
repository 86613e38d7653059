"""Exports: the organisation workbook and a group's findings CSV on the demo, as each role may see them, and
formula neutralisation in every cell."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.auth.roles import Role
from api.compliance.exports import CELL_MAX, FINDING_COLUMNS, NOTES, XLSX, Book, cell
from api.compliance.rules import GROUP_RULES
from api.demo import seed
from api.groups.models import Group
from api.participants.models import Participant
from tests.clock import FixedClock
from tests.factories import compliance_group
from tests.kit.auth import Actor, signed_in_as
from tests.kit.compliance import bulk_groups as compliance_bulk_groups
from tests.kit.staff import make_staff
from tests.test_compliance_api import count_queries

WORKBOOK = "/api/v1/compliance/export"


@pytest.mark.parametrize(
    "text",
    [
        "=1+2",
        "+1",
        "-1",
        "@SUM(A1)",
        "\tx",
        "\rx",
        "\nx",
        "\0x",
        "\uff1d1+2",
        "\uff0b1",
        "\uff0d1",
        "\uff20SUM(A1)",
    ],
)
def test_a_cell_that_would_start_a_formula_is_quoted(text: str) -> None:
    assert cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Youth Band", "a=b", "", 3, -3, None, date(2026, 7, 2)])
def test_other_cells_are_left_alone(value: object) -> None:
    assert cell(value) == value


def test_the_organisation_csv_quotes_new_formula_starts(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    # (A NUL cannot be stored in PostgreSQL text: the unit test above covers it.)
    for name in ("\uff1dHYPERLINK(x)", "\nnewline first"):
        compliance_group(session, name=name)
    r = client.get("/api/v1/compliance", headers={**coordinator.headers, "Accept": "text/csv"})
    names = {row["name"] for row in csv.DictReader(io.StringIO(r.text))}
    assert {"'\uff1dHYPERLINK(x)", "'\nnewline first"} <= names


@pytest.fixture
def demo(fixed_clock: FixedClock, session: Session) -> date:
    seed(session)
    return fixed_clock.today


def _sheets(body: bytes) -> tuple[list[str], str, str]:
    """The sheet names, the shared strings and the XML of every sheet, from the .xlsx (a zip of XML)."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        book = z.read("xl/workbook.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
        sheets = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet"))
    return re.findall(r'<sheet name="([^"]+)"', book), strings, sheets


def test_the_workbook_on_the_demo_as_coordinator_and_as_trustee(
    demo: date, session: Session, client: TestClient
) -> None:
    names = [p.full_name for p in session.exec(select(Participant)).all()]
    seen = {}
    for role in (Role.coordinator, Role.trustee):
        r = client.get(WORKBOOK, headers=signed_in_as(session, role))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == XLSX
        assert f'filename="compliance-{demo}.xlsx"' in r.headers["content-disposition"]
        sheets, strings, _ = _sheets(r.content)
        assert sheets == ["Groups", "Findings"]
        for header in FINDING_COLUMNS:
            assert f">{header}<" in strings
        for group in session.exec(select(Group)).all():
            assert group.name in strings
        assert "GRP-VISIBILITY-CLOSED" in strings  # Summer Showcase is public
        assert "Remove participants who are too old" in strings
        # Dates are numbers with a date format, not text: the as_of column of the groups sheet.
        assert 'formatCode="yyyy-mm-dd"' in z_styles(r.content)
        assert f">{demo.isoformat()}<" not in strings
        seen[role] = strings
    assert [n for n in names if n in seen[Role.coordinator]]
    assert not [n for n in names if n in seen[Role.trustee]]
    assert "participant " in seen[Role.trustee]


def z_styles(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        return z.read("xl/styles.xml").decode()


def test_a_groups_findings_csv(demo: date, session: Session, client: TestClient) -> None:
    producers = session.exec(select(Group).where(Group.name == "Young Producers")).one()
    url = f"/api/v1/groups/{producers.id}/compliance/export"
    names = [p.full_name for p in session.exec(select(Participant)).all()]
    r = client.get(url, headers=signed_in_as(session, Role.coordinator))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0]) == FINDING_COLUMNS
    assert len(rows) == len(GROUP_RULES)
    age = next(row for row in rows if row["rule_id"] == "GRP-AGE-RANGE")
    assert age["outcome"] == "fail"
    # Already failing when the demo's backfilled year of history begins, in a group older than that: the
    # day it began is not recorded, and the export says so rather than give the history's first day.
    assert (age["since"], age["since_before_records"]) == ("", "True")
    assert [n for n in names if n in age["evidence"]]
    trustee = client.get(url, headers=signed_in_as(session, Role.trustee))
    assert trustee.status_code == 200
    assert not [n for n in names if n in trustee.text]


def test_the_workbook_takes_the_same_statements_for_5_and_60_groups(
    client: TestClient, engine: Engine, coordinator: Actor, session: Session
) -> None:
    admins = (make_staff(session), make_staff(session))
    counts = []
    for n in (5, 55):
        compliance_bulk_groups(session, n, admins)
        with count_queries(engine) as statements:
            assert client.get(WORKBOOK, headers=coordinator.headers).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1]


def _cells(body: bytes, sheet: int) -> dict[str, tuple[str, str]]:
    """Each cell of the `sheet`th sheet (from 1) by reference: its type (`s` a string, `n` a number, `b` a
    boolean) and its value, a string cell's text read from the shared strings."""
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        shared = ET.fromstring(z.read("xl/sharedStrings.xml"))
        xml = ET.fromstring(z.read(f"xl/worksheets/sheet{sheet}.xml"))
    ns = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    strings = ["".join(t.text or "" for t in si.iter(f"{{{ns['x']}}}t")) for si in shared.findall("x:si", ns)]
    out = {}
    for c in xml.iter(f"{{{ns['x']}}}c"):
        assert c.find("x:f", ns) is None  # never a formula
        v = c.find("x:v", ns)
        if v is None:
            continue
        kind = c.get("t", "n")
        out[c.get("r", "")] = (kind, strings[int(v.text or 0)] if kind == "s" else v.text or "")
    return out


def test_a_text_longer_than_a_cell_is_kept_whole_on_the_notes_sheet() -> None:
    """Issue 17 breaker finding 4: Excel cuts a cell at 32,767 characters without a word. A 40,000-character
    message begins in its cell, which says where the rest is, and is whole on the Notes sheet."""
    message = "".join(f"{i:05d} " for i in range(40_000 // 6 + 1))[:40_000]
    short = "a short message"
    book = Book()
    book.sheet("Findings", ("group", "message"), [("Youth Band", message), ("Youth Band", short)], {})
    body = book.close()
    sheets, _, _ = _sheets(body)
    assert sheets == ["Findings", NOTES]
    cells = _cells(body, 1)
    kind, begun = cells["B2"]
    assert kind == "s"
    assert len(begun) <= CELL_MAX
    assert f"note 1 on the {NOTES} sheet" in begun
    assert message.startswith(begun.split(" [… cut here")[0])
    assert cells["B3"] == ("s", short)
    notes = _cells(body, 2)
    parts = sorted((int(notes[f"C{r}"][1]), notes[f"E{r}"][1]) for r in range(2, 4))
    assert [n for n, _ in parts] == [1, 2]
    assert all(len(text) <= CELL_MAX for _, text in parts)
    assert "".join(text for _, text in parts) == message
    assert {notes["A2"][1], notes["B2"][1], notes["D2"][1]} == {"1", "Findings!B2", "2"}


def test_the_workbook_shows_formula_like_text_as_it_is_in_string_cells(
    client: TestClient, coordinator: Actor, session: Session
) -> None:
    """Issue 17 breaker finding 5b: the CSV's apostrophe showed in the workbook. There, text is a string
    cell (never run as a formula), written as it is; the CSV keeps its apostrophe."""
    names = ("=HYPERLINK(x)", "+1", "\uff1dSUM(A1)", "@A1")
    for name in names:
        compliance_group(session, name=name)
    body = client.get(WORKBOOK, headers=coordinator.headers).content
    groups = {v for k, v in _cells(body, 1).values() if k == "s"}
    assert set(names) <= groups
    assert not [v for v in groups if v.startswith("'")]
    r = client.get("/api/v1/compliance", headers={**coordinator.headers, "Accept": "text/csv"})
    assert {"'" + n for n in names} <= {row["name"] for row in csv.DictReader(io.StringIO(r.text))}
