"""The issue's acceptance roster: 2,000 entries against 5,000 people, every kind of match and discrepancy,
names in several scripts and spellings (Latin with accents and ø ł đ æ œ þ ß ı, Greek, Cyrillic, Arabic,
Devanagari, Chinese; decomposed accents, invisible format characters, Latin spellings of other scripts);
each entry must get the right outcome: its match, the person it names, and the discrepancies it carries,
as bench/rosters.py's world says from how it made the entry. Correctness only: the time it takes is
measured by `make bench` (bench/rosters.py), never here."""  # noqa: RUF002

from __future__ import annotations

import unicodedata
import uuid
from collections import defaultdict

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from api.rosters.match import ACTIONS
from api.rosters.models import RosterEntry
from bench import rosters
from tests.kit.auth import Actor
from tests.kit.clock import TODAY


def test_every_entry_of_a_2000_entry_roster_gets_the_right_outcome(
    client: TestClient, session: Session, coordinator: Actor
) -> None:
    w = rosters.world(TODAY)
    rosters.insert(session.connection(), w)
    session.commit()
    assert len(w.entries) == 2_000
    assert {m for m, _ in w.expected} == {"certain", "probable", "unknown"}
    names = " ".join(str(e.get("display_name")) for e in w.entries)
    for letters in ("ø", "ł", "đ", "æ", "œ", "þ", "ı", "ß", "\u200b", "\u00ad", "\u0308"):  # noqa: RUF001
        assert letters in names or letters.upper() in names, letters
    scripts = {unicodedata.name(c, "").split(" ")[0] for c in names}
    assert {"GREEK", "CYRILLIC", "ARABIC", "DEVANAGARI", "CJK"} <= scripts
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
    # Each entry's discrepancies, and the memberships to end, exactly as the world says.
    body = r.json()
    kinds: dict[str, set[str]] = defaultdict(set)
    ending: set[str] = set()
    for d in body["discrepancies"]:
        if d["entry_id"] is not None:
            kinds[d["entry_id"]].add(d["kind"])
        else:
            assert d["kind"] == "not_on_platform"
            ending.add(d["membership_id"])
    shown = [kinds[e["id"]] for e in body["entries"]]
    off = [
        (i, w.entries[i], s, x) for i, (s, x) in enumerate(zip(shown, w.entry_kinds, strict=True)) if s != x
    ]
    assert off == []
    assert ending == {str(m) for m in w.not_on_platform}
    # Every kind of discrepancy is in it, with what to do.
    assert set(body["counts"]["discrepancies"]) == set(ACTIONS)
    assert all(d["action"] == ACTIONS[d["kind"]][1] for d in body["discrepancies"])
    # Spelt as the platform shows it: stored as sent, invisible characters and all.
    assert [e.display_name for e in stored] == [e.get("display_name") for e in w.entries]
    assert any(unicodedata.is_normalized("NFC", n) is False for n in (e.display_name or "" for e in stored))
