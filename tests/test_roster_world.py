"""The issue's acceptance roster: 2,000 entries against 5,000 people, every kind of match and discrepancy,
names in several scripts and spellings; each entry must get the right outcome. Correctness only: the time
it takes is measured by `make bench` (bench/rosters.py), never here."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.rosters.match import ACTIONS
from api.rosters.models import RosterEntry
from bench import rosters
from tests.factories import TODAY, Actor


def test_every_entry_of_a_2000_entry_roster_gets_the_right_outcome(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    w = rosters.world(TODAY)
    rosters.insert(session.connection(), w)
    session.commit()
    assert len(w.entries) == 2_000
    assert {m for m, _ in w.expected} == {"certain", "probable", "unknown"}
    r = client.post(
        f"/api/v1/groups/{w.group['id']}/rosters", json={"entries": w.entries}, headers=coordinator.headers
    )
    assert r.status_code == 201, r.text[:500]
    stored = session.exec(
        select(RosterEntry)
        .where(RosterEntry.roster_id == uuid.UUID(r.json()["id"]))
        .order_by(col(RosterEntry.row))
    ).all()
    got = [(e.match.value, e.staff_id or e.participant_id) for e in stored]
    wrong = [(i, w.entries[i], g, x) for i, (g, x) in enumerate(zip(got, w.expected, strict=True)) if g != x]
    assert wrong == []
    # Every kind of discrepancy is in it, with what to do (but the impostor's and the several accounts'
    # kinds, which tests/test_roster_abuse.py and tests/test_roster_findings.py cover).
    later = {"name_of_another_account", "several_accounts"}
    assert set(r.json()["counts"]["discrepancies"]) == set(ACTIONS) - later
