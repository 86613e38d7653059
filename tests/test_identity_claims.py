"""Issue 16 (second review): identities belong to one person, a claim tells a caller nothing they may not
read, and a roster's entries are held to the rules every other body is (F3 to F7)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from api.audit.models import AuditEvent
from api.groups.models import Group
from api.identities.models import PlatformIdentity
from api.rosters.models import GroupRoster, RosterEntry
from tests.factories import Actor, make_group, make_membership

CSV = {"Content-Type": "text/csv"}


def rosters(group: Group) -> str:
    return f"/api/v1/groups/{group.id}/rosters"


def _stored(session: Session) -> tuple[int, ...]:
    return tuple(
        session.exec(select(func.count()).select_from(table)).one()
        for table in (GroupRoster, RosterEntry, AuditEvent, PlatformIdentity)
    )


# --- F7 and the minor ones: CSV and JSON entries are judged by one function ------------------------------


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("handle", "dj\x1b[2Jx", "control characters"),
        ("email", "a\x07@example.org", "control characters"),
        ("display_name", "Ann\nSmith", "one line"),
        ("email", "not-an-email", "not an email address"),
        ("phone", "abc", "not a phone number"),
    ],
)
def test_csv_and_json_refuse_the_same_entry_naming_row_and_column(
    client: TestClient, session: Session, coordinator: Actor, column: str, value: str, words: str
) -> None:
    group = make_group(session)
    before = _stored(session)
    quoted = '"' + value + '"'
    row = {"display_name": "Ann", "handle": "", "email": "", "phone": "", column: quoted}
    body = "display_name,handle,email,phone\nBen,,,\n" + ",".join(row.values()) + "\n"
    r = client.post(rosters(group), content=body, headers={**coordinator.headers, **CSV})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == f"rows.3.{column}"
    assert words in r.json()["detail"]
    entries = [{"display_name": "Ben"}, {"display_name": "Ann", column: value}]
    j = client.post(rosters(group), json={"entries": entries}, headers=coordinator.headers)
    assert j.status_code == 422, j.text
    assert j.json()["errors"][0]["field"] == f"entries.1.{column}"
    assert _stored(session) == before


def test_owner_is_an_admin_in_json_as_in_csv(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    group = make_group(session)
    entries = [
        {"display_name": "Ann", "platform_role": "Owner"},
        {"display_name": "Ben", "platform_role": "group admin"},
    ]
    r = client.post(rosters(group), json={"entries": entries}, headers=coordinator.headers)
    assert r.status_code == 201, r.text
    assert [e["platform_role"] for e in r.json()["entries"]] == ["admin", "admin"]
    csv = "name,role\nAnn,Owner\nBen,group admin\n"
    r = client.post(rosters(group), content=csv, headers={**coordinator.headers, **CSV})
    assert r.status_code == 201, r.text
    assert [e["platform_role"] for e in r.json()["entries"]] == ["admin", "admin"]
