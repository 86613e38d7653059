from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.consents.publication import Entry, Match, find, fold, phone_key
from tests.factories import Actor, consents_make_participant, make_staff

PEOPLE = [
    Entry("name", "Sam Lee", "participant"),
    Entry("name", "Zoë Ó Briain", "participant"),
    Entry("name", "José Núñez", "staff"),
    Entry("name", "Mary-Jane Watts", "participant"),
    Entry("name", "Sam Lee Smith", "staff"),
    Entry("email", "Asha.Patel@moremusic.org.uk", "staff"),
    Entry("phone", "07700 900123", "participant"),
    Entry("phone", "+33 1 23 45 67 89", "participant"),
]


def spans(text: str, entries: list[Entry] = PEOPLE) -> list[tuple[str, str, str]]:
    """Each match as (the original text it covers, kind, person)."""
    return [(text[m.start : m.end], m.kind, m.person) for m in find(text, entries)]


# --- the pure matcher -------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["Sam Lee", "SAM LEE", "sam lee", "sAm lEe"])
def test_names_in_any_case(written: str) -> None:
    assert spans(f"Thanks to {written} for playing.") == [(written, "name", "participant")]


@pytest.mark.parametrize(
    "written",
    [
        "Zoë Ó Briain",
        "Zoe O Briain",
        "ZOË Ó BRIAIN",
        "Zoe\u0308 O\u0301 Briain",  # the same accents written as combining marks
    ],
)
def test_names_with_or_without_accents(written: str) -> None:
    assert spans(f"Solo by {written}!") == [(written, "name", "participant")]


@pytest.mark.parametrize("gap", ["  ", "\n", " \r\n  ", "\t", "\u00a0"])
def test_names_across_extra_spaces_and_line_breaks(gap: str) -> None:
    text = f"Photo: Sam{gap}Lee on drums"
    assert spans(text) == [(f"Sam{gap}Lee", "name", "participant")]


@pytest.mark.parametrize(
    "text",
    ["Sam Leeds played", "Samuel Lee", "Sam Lees", "Sam Lee2", "Sam Lee-Jones", "Jo-Sam Lee", "O'Sam Lee"],
)
def test_never_inside_a_longer_word(text: str) -> None:
    assert spans(text) == []


def test_possessives_and_punctuation_still_match() -> None:
    assert [s[0] for s in spans("Sam Lee's band, (Sam Lee), 'Sam Lee'.")] == ["Sam Lee"] * 3


def test_hyphenated_and_curly_apostrophe_names() -> None:
    assert spans("mary-jane WATTS sang") == [("mary-jane WATTS", "name", "participant")]
    entries = [Entry("name", "Sinéad O'Neil", "participant")]
    assert spans("with Sinead O\u2019Neil", entries) == [("Sinead O\u2019Neil", "name", "participant")]


def test_the_longest_name_wins() -> None:
    assert spans("Sam Lee Smith and Sam Lee") == [
        ("Sam Lee Smith", "name", "staff"),
        ("Sam Lee", "name", "participant"),
    ]


def test_positions_are_in_the_original_text() -> None:
    # "ß" folds to two characters and "e" + U+0301 to one: positions must still point into the original.
    text = "Straße…\nJose\u0301  Nu\u0301n\u0303ez, then Sam Lee"
    found = find(text, PEOPLE)
    assert [(text[m.start : m.end], m.kind, m.person) for m in found] == [
        ("Jose\u0301  Nu\u0301n\u0303ez", "name", "staff"),
        ("Sam Lee", "name", "participant"),
    ]
    assert found[0] == Match(
        start=8, end=8 + len("Jose\u0301  Nu\u0301n\u0303ez"), kind="name", person="staff"
    )


def test_a_name_held_by_a_participant_and_a_staff_member_is_reported_for_each() -> None:
    entries = [Entry("name", "Sam Lee", "staff"), Entry("name", "sam  LEE", "participant")]
    assert spans("Sam Lee", entries) == [("Sam Lee", "name", "participant"), ("Sam Lee", "name", "staff")]


def test_emails_case_insensitive_and_whole() -> None:
    assert spans("Write to ASHA.PATEL@moremusic.org.uk.") == [
        ("ASHA.PATEL@moremusic.org.uk", "email", "staff")
    ]
    assert spans("xasha.patel@moremusic.org.uk or asha.patel@moremusic.org.uk.evil") == []


@pytest.mark.parametrize(
    "written",
    [
        "07700 900123",
        "07700900123",
        "+44 7700 900123",
        "+447700900123",
        "+44 (0)7700 900123",
        "0044 7700 900 123",
        "07700-900-123",
        "07700.900.123",
    ],
)
def test_phones_compare_digits_only(written: str) -> None:
    assert spans(f"Call {written} today") == [(written, "phone", "participant")]


def test_other_countries_and_longer_numbers() -> None:
    assert spans("ring +33 1 23 45 67 89 or 0033 123456789") == [
        ("+33 1 23 45 67 89", "phone", "participant"),
        ("0033 123456789", "phone", "participant"),
    ]
    assert spans("ref 077009001234 or 107700900123 or 7700900123") == []


def test_phone_keys() -> None:
    assert phone_key("+44 (0) 7700 900123") == phone_key("07700 900123") == "07700900123"
    assert phone_key("+33 1 23 45 67 89") == "+33123456789"
    assert phone_key("123") is None  # too short to tell from ordinary numbers


def test_fold() -> None:
    assert fold("ZOË Ó\u2019Brían ﬁne Straße") == "zoe o'brian fine strasse"


def test_nothing_to_find() -> None:
    assert find("Sam Lee", []) == []
    assert find("", PEOPLE) == []
    # A one-letter "name" would flag every "a": it is not looked for.
    assert find("a b c", [Entry("name", "A", "participant")]) == []


def test_many_people_and_a_long_text() -> None:
    entries = [Entry("name", f"Person{i} Surname{i}", "participant") for i in range(2000)]
    text = ("nothing to see here " * 5000) + "person1999\nSURNAME1999"
    assert spans(text, entries) == [("person1999\nSURNAME1999", "name", "participant")]


# --- the route --------------------------------------------------------------------------------------------

URL = "/api/v1/publication-checks"


def test_finds_participants_and_staff_without_revealing_who(
    client: TestClient, staff_actor: Actor, session: Session
) -> None:
    child = consents_make_participant(
        session, full_name="Élodie Brennan", carer_email="k.brennan@example.org", carer_phone="07700 900456"
    )
    leader = make_staff(session, full_name="Tomás Reyes", email="tomas.reyes@moremusic.org.uk")
    text = (
        "Great gig!\nELODIE\n brennan on bass, Tomas Reyes leading. "
        "Call +44 7700 900456 or k.Brennan@example.org"
    )
    r = client.post(URL, json={"text": text}, headers=staff_actor.headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["clean"] is False
    assert [(text[m["start"] : m["end"]], m["kind"], m["person"]) for m in result["matches"]] == [
        ("ELODIE\n brennan", "name", "participant"),
        ("Tomas Reyes", "name", "staff"),
        ("+44 7700 900456", "phone", "participant"),
        ("k.Brennan@example.org", "email", "participant"),
    ]
    assert set(result["matches"][0]) == {"start", "end", "kind", "person"}
    for secret in (str(child.id), str(leader.id), "2010", "tomas.reyes@"):
        assert secret not in r.text


def test_a_clean_text(client: TestClient, coordinator: Actor, session: Session) -> None:
    consents_make_participant(session, full_name="Sam Lee")
    r = client.post(
        URL, json={"text": "Sam Leeds Youth Orchestra played on Saturday."}, headers=coordinator.headers
    )
    assert r.json() == {"clean": True, "matches": []}


@pytest.mark.parametrize("text", ["", "x" * 100_001])
def test_text_length_is_bounded(client: TestClient, coordinator: Actor, text: str) -> None:
    r = client.post(URL, json={"text": text}, headers=coordinator.headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "text"


def test_trustees_and_other_systems_may_not_check(
    client: TestClient, trustee: Actor, integration: Actor
) -> None:
    for caller in (trustee, integration):
        assert client.post(URL, json={"text": "hello"}, headers=caller.headers).status_code == 403


def test_unknown_fields_are_rejected(client: TestClient, coordinator: Actor) -> None:
    r = client.post(
        URL, json={"text": "hi", "participant_id": str(uuid.uuid4())}, headers=coordinator.headers
    )
    assert r.status_code == 422
