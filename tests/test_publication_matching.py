"""The publication check's matcher, pure: every spelling of a protected detail, in both directions."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from api.consents.canonical import fold, read
from api.consents.publication import Directory, find, shapes
from api.consents.publication_keys import Entry, name_keys, phone_key

# (category, stored name, text, expected spans of the text). Each pair of spellings appears both ways
# round: what is stored in one row is written in the text of the next.
NAME_ROWS = [
    ("format character", "Ellis Fairweather", "Well done Ellis Fair\xadweather!", [(10, 28)]),
    ("format character", "Ellis Fair\xadweather", "Well done Ellis Fairweather!", [(10, 27)]),
    ("format character", "Ellis Fairweather", "Well done Ell\u200bis Fairweather!", [(10, 28)]),
    ("format character", "Ell\u200bis Fairweather", "Well done Ellis Fairweather!", [(10, 27)]),
    ("format character", "Ellis Fairweather", "Well done Ellis\u2060 Fair\u200dweather!", [(10, 29)]),
    ("format character", "Ellis\u2060 Fair\u200dweather", "Well done Ellis Fairweather!", [(10, 27)]),
    ("format character", "Ellis Fairweather", "Well done \u200eEllis Fairweather\u200f!", [(11, 28)]),
    ("format character", "\u200eEllis Fairweather\u200f", "Well done Ellis Fairweather!", [(10, 27)]),
    ("no decomposition", "Søren Dahl", "Well done Soren Dahl!", [(10, 20)]),
    ("no decomposition", "Soren Dahl", "Well done Søren Dahl!", [(10, 20)]),
    ("no decomposition", "Łukasz Wiśniewski", "Well done Lukasz Wisniewski!", [(10, 27)]),
    ("no decomposition", "Lukasz Wisniewski", "Well done Łukasz Wiśniewski!", [(10, 27)]),
    ("no decomposition", "Đorđe Petrović", "Well done Dorde Petrovic!", [(10, 24)]),
    ("no decomposition", "Dorde Petrovic", "Well done Đorđe Petrović!", [(10, 24)]),
    ("no decomposition", "Æsa Kjær", "Well done Aesa Kjaer!", [(10, 20)]),
    ("no decomposition", "Aesa Kjaer", "Well done Æsa Kjær!", [(10, 18)]),
    ("no decomposition", "Chloë Bœuf", "Well done Chloe Boeuf!", [(10, 21)]),
    ("no decomposition", "Chloe Boeuf", "Well done Chloë Bœuf!", [(10, 20)]),
    ("no decomposition", "Jonas Weiß", "Well done Jonas Weiss!", [(10, 21)]),
    ("no decomposition", "Jonas Weiss", "Well done Jonas Weiß!", [(10, 20)]),
    ("no decomposition", "Þóra Jónsdóttir", "Well done Thora Jonsdottir!", [(10, 26)]),
    ("no decomposition", "Thora Jonsdottir", "Well done Þóra Jónsdóttir!", [(10, 25)]),
    ("no decomposition", "Aylın Yıldız", "Well done Aylin Yildiz!", [(10, 22)]),
    ("no decomposition", "Aylin Yildiz", "Well done Aylın Yıldız!", [(10, 22)]),
    ("no decomposition", "İpek Işık", "Well done Ipek Isik!", [(10, 19)]),
    ("no decomposition", "Ipek Isik", "Well done İpek Işık!", [(10, 19)]),
    ("case", "Søren Dahl", "Well done SØREN DAHL!", [(10, 20)]),
    ("case", "SØREN DAHL", "Well done Søren Dahl!", [(10, 20)]),
    ("combining marks", "Zoë Núñez", "Well done Zoë Núñez!", [(10, 22)]),
    ("combining marks", "Zoë Núñez", "Well done Zoë Núñez!", [(10, 19)]),
    # A letter written as base + combining mark folds as the letter written whole, in every script: a
    # decomposed Cyrillic й is "y" as the precomposed one is (transliterating the base alone gives "i").
    ("canonical composition", "Андрей Йонов", "Well done Андрей Йонов!", [(10, 24)]),
    ("canonical composition", "Андрей Йонов", "Well done Андрей Йонов!", [(10, 22)]),
    ("canonical composition", "Пётр Ёлкин", "Well done Пётр Ёлкин!", [(10, 22)]),
    ("canonical composition", "김민준", "Well done 김민준!", [(10, 19)]),
    ("canonical composition", "김민준", "Well done 김민준!", [(10, 13)]),
    ("compatibility", "Fiona Field", "Well done ﬁona Field!", [(10, 20)]),
    ("compatibility", "ﬁona Field", "Well done Fiona Field!", [(10, 21)]),
    ("separator", "Niamh O'Brien", "Well done Niamh O Brien!", [(10, 23)]),
    ("separator", "Niamh O Brien", "Well done Niamh O'Brien!", [(10, 23)]),
    ("separator", "Niamh O'Brien", "Well done Niamh OBrien!", [(10, 22)]),
    ("separator", "Niamh OBrien", "Well done Niamh O'Brien!", [(10, 23)]),
    ("separator", "Niamh O'Brien", "Well done Niamh O’Brien!", [(10, 23)]),
    ("separator", "Niamh O’Brien", "Well done Niamh O'Brien!", [(10, 23)]),
    ("separator", "Mary-Jane Okoro", "Well done Mary Jane Okoro!", [(10, 25)]),
    ("separator", "Mary Jane Okoro", "Well done Mary-Jane Okoro!", [(10, 25)]),
    ("separator", "Mary-Jane Okoro", "Well done MaryJane Okoro!", [(10, 24)]),
    ("separator", "MaryJane Okoro", "Well done Mary-Jane Okoro!", [(10, 25)]),
    ("separator", "Mary-Jane Okoro", "Well done Mary–Jane Okoro!", [(10, 25)]),
    ("separator", "Mary–Jane Okoro", "Well done Mary-Jane Okoro!", [(10, 25)]),
    ("separator", "Mary-Jane Okoro", "Well done Mary‑Jane Okoro!", [(10, 25)]),
    ("separator", "Mary‑Jane Okoro", "Well done Mary-Jane Okoro!", [(10, 25)]),
    ("separator", "Sam Lee", "Well done Sam\xa0Lee!", [(10, 17)]),
    ("separator", "Sam\xa0Lee", "Well done Sam Lee!", [(10, 17)]),
    ("separator", "Sam Lee", "Well done Sam\n  Lee!", [(10, 19)]),
    ("separator", "Sam\n  Lee", "Well done Sam Lee!", [(10, 17)]),
    ("html", "Ellis Fairweather", "Well done Ellis <b>Fairweather</b>!", [(10, 30)]),
    ("html", "Ellis Fairweather", "Well done Ellis&nbsp;Fairweather!", [(10, 32)]),
    ("html", "Ellis Fairweather", 'Well done Ellis <span class="x">Fair</span>weather!', [(10, 50)]),
    ("html", "Ellis Fairweather", "Well done Ellis<br>Fairweather!", [(10, 30)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair&shy;weather!", [(10, 32)]),
    ("html", "Niamh O'Brien", "Well done Niamh O&#8217;Brien!", [(10, 29)]),
    ("html", "Niamh O'Brien", "Well done Niamh O&apos;Brien!", [(10, 28)]),
    ("possessive", "Sam Lee", "Well done Sam Lee's!", [(10, 17)]),
    ("punctuation", "Hartley-Quinn, Rosalind", "Well done Hartley-Quinn, Rosalind!", [(10, 33)]),
    ("punctuation", "Hartley-Quinn, Rosalind", "Well done Rosalind Hartley-Quinn!", [(10, 32)]),
    ("punctuation", "Hartley-Quinn, Rosalind", "Well done Rosalind HartleyQuinn!", [(10, 31)]),
    ("punctuation", "Rosalind Hartley-Quinn", "Well done Hartley-Quinn, Rosalind!", [(10, 33)]),
    ("punctuation", "Dr. Imogen Hartley-Quinn", "Well done Dr. Imogen Hartley-Quinn!", [(10, 34)]),
    ("punctuation", "Dr. Imogen Hartley-Quinn", "Well done Dr Imogen Hartley-Quinn!", [(10, 33)]),
    ("punctuation", "Dr. Imogen Hartley-Quinn", "Well done Imogen Hartley-Quinn!", [(10, 30)]),
    ("punctuation", "Dr Imogen Hartley-Quinn", "Well done Dr. Imogen Hartley-Quinn!", [(10, 34)]),
    ("punctuation", "St. John Pemberton-Vale", "Well done St. John Pemberton-Vale!", [(10, 33)]),
    ("punctuation", "St. John Pemberton-Vale", "Well done St John Pemberton Vale!", [(10, 32)]),
    ("punctuation", "St John Pemberton-Vale", "Well done St. John Pemberton-Vale!", [(10, 33)]),
    ("punctuation", "Ellis (Elle) Fairweather", "Well done Ellis (Elle) Fairweather!", [(10, 34)]),
    ("punctuation", "Ellis (Elle) Fairweather", "Well done Ellis Fairweather!", [(10, 27)]),
    ("punctuation", "Ellis (Elle) Fairweather", "Well done Elle Fairweather!", [(10, 26)]),
    ("punctuation", "Joanne & Paul Fairbrook", "Well done Joanne & Paul Fairbrook!", [(10, 33)]),
    ("punctuation", "Joanne/Paul Fairbrook", "Well done Joanne / Paul Fairbrook!", [(10, 33)]),
    ("middle name", "Ellis James Fairweather", "Well done Ellis Fairweather!", [(10, 27)]),
    ("middle name", "Ellis James Fairweather", "Well done Fairweather, Ellis!", [(10, 28)]),
    ("two people", "Joanne & Paul Fairbrook", "Well done Paul Fairbrook!", [(10, 24)]),
    ("two people", "Joanne and Paul Fairbrook", "Well done Joanne Fairbrook!", [(10, 26)]),
    ("markdown", "Ellis Fairweather", "Well done Ellis **Fair**weather!", [(10, 31)]),
    ("markdown", "Ellis Fairweather", "Well done Ellis *Fair*weather!", [(10, 29)]),
    ("markdown", "Ellis Fairweather", "Well done Ellis Fair\\-weather!", [(10, 29)]),
    ("markdown", "Ellis Fairweather", "Well done _Ellis Fairweather_!", [(11, 28)]),
    ("reversed", "Ellis Fairweather", "Well done Fairweather, Ellis!", [(10, 28)]),
    ("reversed", "Ellis Fairweather", "Well done FAIRWEATHER Ellis!", [(10, 27)]),
    ("reversed", "Fairweather, Ellis", "Well done Ellis Fairweather!", [(10, 27)]),
    ("run together", "Ellis Fairweather", "Well done #EllisFairweather!", [(11, 27)]),
    ("run together", "Ellis Fairweather", "Well done @EllisFairweather!", [(11, 27)]),
    ("run together", "Ellis Fairweather", "Well done ellis_fairweather!", [(10, 27)]),
    ("run together", "Ellis Fairweather", "Well done ellis.fairweather!", [(10, 27)]),
    ("run together", "Ellis Fairweather", "Well done **Ellis** **Fairweather**!", [(12, 33)]),
    ("run together", "Ellis Fairweather", "Well done Sam, Ellis, Fairweather!", [(15, 33)]),
    ("control character", "Ellis Fairweather", "Well done Ellis\x01 Fair\x00weather!", [(10, 29)]),
    ("control character", "Ellis Fairweather", "Well done Ellis\x7f\x1fFairweather!", [(10, 28)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair<!-- x -->weather!", [(10, 37)]),
    ("html", "Ellis Fairweather", "Well done Ellis <o:p>Fair</o:p>weather!", [(10, 38)]),
    ("html", "Ellis Fairweather", "Well done Ellis <x-y>Fair</x-y>weather!", [(10, 38)]),
    ("html", "Ellis Fairweather", "Well done Ellis <svg:tspan>Fair</svg:tspan>weather!", [(10, 50)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair&#173weather!", [(10, 32)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair<!-->weather!", [(10, 32)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair<!--->weather!", [(10, 33)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair<!-- a --!>weather!", [(10, 38)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair<?x?>weather!", [(10, 32)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair<!x>weather!", [(10, 31)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair</ x>weather!", [(10, 32)]),
    ("html", "Ellis Fairweather", "Well done Ellis Fair<![CDATA[]]>weather!", [(10, 39)]),
    ("html", "Ellis Fairweather", 'Well done Ellis <span title="a>b">Fair</span>weather!', [(10, 52)]),
    ("html", "Ellis Fairweather", "Well done Ellis &#00000070;airweather!", [(10, 37)]),
    ("html", "Ellis Fairweather", "Well done Ellis &#x000046;airweather!", [(10, 36)]),
]
NOT_FOUND_ROWS = [
    ("longer word", "Sam Lee", "Well done Sam Leeds!"),
    ("longer word", "Sam Lee", "Well done Samuel Lee!"),
    ("longer word", "Sam Lee", "Well done Sam Lee-Jones!"),
    ("longer word", "Sam Lee", "Well done Jo-Sam Lee!"),
    ("longer word", "Sam Lee", "Well done O'Sam Lee!"),
    ("longer word", "Sam Lee", "Well done Sam Lee2!"),
    ("longer word", "Sam Lee", "Well done @Sam_Lee_Jones!"),
    ("a middle name is not a name", "Ellis James Fairweather", "Well done James!"),
    ("longer word", "Niamh O'Brien", "Well done Niamh O'Briens!"),
    ("a short name run together", "Sam Lee", "Well done SamLee!"),
    ("across an email's @", "Sam Lee", "Write to sam@lee.org!"),
    ("one short word", "Mum", "Thanks to every mum and dad!"),
    ("one short word", "Jo", "Jo's cafe, Jo!"),
    ("one short word", "Bo", "Bo Diddley!"),
    ("a relative", "Grandma", "Thanks to every grandma!"),
    ("inside a word", "Mary-Jane Okoro", "Well done Mary-Jane Okorowski!"),
    ("nobody", "Søren Dahl", "Well done everyone at the winter concert!"),
]


@pytest.mark.parametrize(("category", "stored", "text", "expected"), NAME_ROWS)
def test_a_name_in_every_spelling(
    category: str, stored: str, text: str, expected: list[tuple[int, int]]
) -> None:
    found = find(text, [Entry("name", stored, "them")])
    assert [(m.start, m.end) for m in found] == expected, category
    assert all(m.kind == "name" and m.owners == {"them"} for m in found)


@pytest.mark.parametrize(("category", "stored", "text"), NOT_FOUND_ROWS)
def test_a_name_is_not_found_where_it_is_not(category: str, stored: str, text: str) -> None:
    assert find(text, [Entry("name", stored, "them")]) == [], category


PHONE_ROWS = [
    ("07700 900777", "Ring 07700/900777 today", [(5, 17)]),
    ("07700 900777", "Ring 07700 900777 today", [(5, 17)]),
    ("07700 900777", "Ring 07700900777 today", [(5, 16)]),
    ("07700 900777", "Ring 07700.900.777 today", [(5, 18)]),
    ("07700 900777", "Ring 07700\u2013900\u2014777 today", [(5, 18)]),
    ("07700 900777", "Ring (07700) 900777 today", [(6, 19)]),
    ("07700 900777", "Ring +44 7700 900777 today", [(5, 20)]),
    ("07700 900777", "Ring +44 (0)7700 900777 today", [(5, 23)]),
    ("07700 900777", "Ring 0044 7700 900777 today", [(5, 21)]),
    ("07700 900777", "Ring 077\u00ad00 900\u200b777 today", [(5, 19)]),
    ("07700 900777", "Ring \uff10\uff17\uff17\uff10\uff10 900777 today", [(5, 17)]),
    ("+447700900777", "Ring 07700 900777 today", [(5, 17)]),
    ("07700/900777", "Ring 07700 900777 today", [(5, 17)]),
    ("+33 1 23 45 67 89", "Ring +33 1 23 45 67 89 today", [(5, 22)]),
    ("+33 1 23 45 67 89", "Ring 0033 123456789 today", [(5, 19)]),
    ("07700 900777", "Ring 07700 900777 or 07700 900456", [(5, 17)]),
    ("07700 900777", "Ring 07700 900456 or 07700 900777", [(21, 33)]),
    ("07700 900777", "Ref 077009007771 or 107700900777 or 7700900777", []),
    ("+447700900777", "Ring 44 7700 900777 today", [(5, 19)]),
    ("+447700900777", "Ring 44 (0)7700 900777 today", [(5, 22)]),
    ("+33 1 23 45 67 89", "Ring 33 1 23 45 67 89 today", [(5, 21)]),
    ("07700 900777", "<a href='tel:07700%20900777'>Ring</a>", [(13, 27)]),
    ("07700 900777", "Ring 07700_900_777 today", [(5, 18)]),
    ("07700 900777", "Ring 07700,900777 today", [(5, 17)]),
    ("07700 900777", "Ring 07700;900;777 today", [(5, 18)]),
    ("07700 900777", "Ring 07700  -  900777 today", [(5, 21)]),
    ("07700 900777", "Ring [07700] 900777 today", [(6, 19)]),
]


@pytest.mark.parametrize(("stored", "text", "expected"), PHONE_ROWS)
def test_a_phone_number_in_every_spelling(stored: str, text: str, expected: list[tuple[int, int]]) -> None:
    found = find(text, [Entry("phone", stored, "carer")])
    assert [(m.start, m.end) for m in found] == expected
    assert all(m.kind == "phone" for m in found)


EMAIL_ROWS = [
    ("Asha.Patel@example.org", "Mail asha.patel@example.org.", [(5, 27)]),
    ("Asha.Patel@example.org", "Mail ASHA.PATEL@EXAMPLE.ORG", [(5, 27)]),
    ("Asha.Patel@example.org", "Mail asha.pa\u00adtel@exam\u200bple.org", [(5, 29)]),
    ("asha.pa\u200btel@example.org", "Mail asha.patel@example.org", [(5, 27)]),
    ("Asha.Patel@example.org", '<a href="mailto:asha.patel@example.org">write</a>', [(16, 38)]),
    ("Asha.Patel@example.org", "Mail xasha.patel@example.org or asha.patel@example.org.uk", []),
    ("Asha.Patel@example.org", "Mail asha.patel@example.org\u2014she replies", [(5, 27)]),
    ("Asha.Patel@example.org", "Mail asha.patel@example.org-she replies", [(5, 27)]),
    ("Asha.Patel@ex-ample.org", "Mail asha.patel@ex-ample.org.", [(5, 28)]),
    ("Asha.Patel@example.org", '<a href="mailto:asha.patel%40example.org">write</a>', [(16, 40)]),
    ("Asha.Patel@example.org", "Mail asha.patel [at] example [dot] org", [(5, 38)]),
    ("Asha.Patel@example.org", "Mail asha.patel(at)example(dot)org", [(5, 34)]),
    ("Asha.Patel@example.org", "Mail asha.patel at example dot org now", [(5, 34)]),
    ("Asha.Patel@example.org", "Mail asha.patel @ example.org now", [(5, 29)]),
    ("asha.patel+kids@example.org", "Mail asha.patel@example.org", [(5, 27)]),
    ("asha.patel@example.org", "Mail asha.patel+kids@example.org", [(5, 32)]),
    ("Asha.Patel@example.org", "Mail asha.patel at example or asha at example dot org", []),
]


@pytest.mark.parametrize(("stored", "text", "expected"), EMAIL_ROWS)
def test_an_email_in_every_spelling(stored: str, text: str, expected: list[tuple[int, int]]) -> None:
    found = find(text, [Entry("email", stored, "carer")])
    assert [(m.start, m.end) for m in found] == expected
    assert all(m.kind == "email" for m in found)


def test_the_table_is_big_enough() -> None:
    assert len(NAME_ROWS) + len(NOT_FOUND_ROWS) + len(PHONE_ROWS) + len(EMAIL_ROWS) >= 40


# --- HTML ------------------------------------------------------------------------------------------------


def test_html_is_detected_and_offsets_stay_in_the_text_as_sent() -> None:
    text = "<p>Thanks to <b>Ellis</b>&nbsp;<i>Fair</i>weather</p>"
    (match,) = find(text, [Entry("name", "Ellis Fairweather", "p")])
    assert text[match.start : match.end] == "Ellis</b>&nbsp;<i>Fair</i>weather"
    assert read(text).read_as == "text/html"


def test_attribute_values_are_published_and_read() -> None:
    text = '<img src="kit.jpg" alt="Kit Fairbrook on drums"><p title="Kit Fairbrook">Hi</p>'
    found = find(text, [Entry("name", "Kit Fairbrook", "p")])
    assert [text[m.start : m.end] for m in found] == ["Kit Fairbrook", "Kit Fairbrook"]
    assert [m.start for m in found] == [text.index("Kit"), text.rindex("Kit")]


def test_a_block_tag_separates_words_and_an_inline_tag_does_not() -> None:
    entries = [Entry("name", "Sam Lee", "p")]
    assert find("<p>Sam</p><p>Lee</p>", entries) != []
    assert find("<b>Sam</b>Lee", entries) == []  # shown as "SamLee"


def test_plain_text_with_markup_is_read_both_ways() -> None:
    # Text declared plain may still end up in a page: a tag or an entity between the parts of a name must
    # not hide it. Read as sent too, so a name written with the markup's own characters is found as well.
    entries = [Entry("name", "Ellis Fairweather", "p")]
    for text in ("Ellis&nbsp;Fairweather", "Ellis</b><br>Fairweather", "Ellis Fair<!-- x -->weather"):
        assert [(m.start, m.end) for m in find(text, entries, "text/plain")] == [(0, len(text))]
        assert [(m.start, m.end) for m in find(text, entries, "text/html")] == [(0, len(text))]
    assert read("Ellis&nbsp;Fairweather", "text/plain").read_as == "text/plain"
    assert read("Sam < Lee & Jo > Kit").read_as == "text/plain"
    assert read("Sam <o:p>Lee").read_as == "text/html"


def test_markup_a_browser_hides_is_taken_out_and_the_rest_is_read() -> None:
    text = "a</>b</ x>c<![CDATA[x]]>d<?x?>e<!x>f<!--->g<!-- a --!>h"
    assert read(text, "text/html").text.split("\x00")[0] == "abcdefgh"
    # A tag never closed: the browser shows nothing after it, and neither does the HTML reading.
    assert read('Ellis <a href="x Fairweather', "text/html").text.split("\x00")[0] == "ellis "


def test_a_text_read_both_ways_reports_each_detail_once() -> None:
    text = "<p>Ellis Fairweather</p> and Ellis Fairweather"
    found = find(text, [Entry("name", "Ellis Fairweather", "p")])
    assert [(m.start, m.end) for m in found] == [(3, 20), (29, 46)]


# --- the canonical form ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("Søren", "soren"),
        ("Łukasz", "lukasz"),
        ("Đorđe", "dorde"),
        ("Æsa", "aesa"),
        ("Bœuf", "boeuf"),
        ("Weiß", "weiss"),
        ("WEIẞ", "weiss"),
        ("Þóra", "thora"),
        ("ıİ", "ii"),
        ("Fair\u00adweather", "fairweather"),
        ("O\u2019Brien", "o'brien"),
        ("Mary\u2014Jane", "mary-jane"),
        ("Sam\u00a0\tLee", "sam  lee"),
        ("\ufb01ne", "fine"),
    ],
)
def test_fold(written: str, canonical: str) -> None:
    assert fold(written) == canonical


def test_phone_keys() -> None:
    assert phone_key("+44 (0) 7700 900123") == phone_key("07700 900123") == ("gb", "7700900123")
    assert phone_key("+33 1 23 45 67 89") == ("intl", "33123456789")
    assert phone_key("123") is None


def test_the_longest_name_wins_and_shared_names_report_every_owner() -> None:
    entries = [
        Entry("name", "Sam Lee", "a"),
        Entry("name", "sam  LEE", "b"),
        Entry("name", "Sam Lee Smith", "c"),
    ]
    found = find("Sam Lee Smith and Sam Lee", entries)
    assert [(m.start, m.end, m.owners) for m in found] == [
        (0, 13, frozenset({"c"})),
        (18, 25, frozenset({"a", "b"})),
    ]


def test_shapes_counts_phone_and_email_shaped_strings() -> None:
    numbers = " ".join(f"07700 900{i:03d}" for i in range(30))
    assert shapes(read(numbers)) == 30
    assert shapes(read("a@b.org, c@d.org and +44 7700 900123; on 12.03.2025 at 19:30")) == 3
    # A short number with its country code is a full number ("+376 310001", Andorra).
    assert shapes(read("+376 310001 +376 310002 +376 310003; 310004")) == 3


def test_a_directory_is_reused_across_texts() -> None:
    directory = Directory([Entry("name", "Sam Lee", "a")])
    assert len(directory.find(read("Sam Lee"))) == 1
    assert directory.find(read("nobody")) == []


# --- properties ------------------------------------------------------------------------------------------

FORMAT_CHARS = st.sampled_from(
    [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf" and not 0xE0000 <= c <= 0xE007F]
    + ["\U000e0001", "\U000e0020"]
)
SEPARATORS = st.sampled_from(
    [
        " ",
        "\u00a0",
        "\u2009",
        "\u3000",
        "-",
        "\u2010",
        "\u2011",
        "\u2013",
        "\u2014",
        "\u2212",
        "'",
        "\u2019",
        "\u02bc",
    ]
)
PART = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzøłæßéñ"), min_size=2, max_size=8)
NAMES = st.lists(PART, min_size=2, max_size=4)


def _join(parts: list[str], separators: list[str]) -> str:
    return parts[0] + "".join(s + p for s, p in zip(separators, parts[1:], strict=False))


ANY_SCRIPT_PART = st.text(
    alphabet=st.sampled_from("abcdeéñøçйёщиеëüâąśžğşअनिकाणूĉŝŭἀὈήάکیحمدँँ가각간김민준"), min_size=2, max_size=8
)


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(ANY_SCRIPT_PART, min_size=2, max_size=3), decompose_stored=st.booleans())
def test_a_name_written_composed_or_decomposed_still_matches(
    parts: list[str], decompose_stored: bool
) -> None:
    name = unicodedata.normalize("NFC", " ".join(parts))
    decomposed = unicodedata.normalize("NFD", name)
    stored, written = (decomposed, name) if decompose_stored else (name, decomposed)
    assume(fold(stored).strip())
    text = f"Photo: {written}."
    assert [(m.start, m.end) for m in find(text, [Entry("name", stored, "p")])] == [(7, 7 + len(written))]


@settings(max_examples=150, deadline=None)
@given(parts=NAMES, data=st.data())
def test_inserting_a_format_character_anywhere_still_matches(parts: list[str], data: st.DataObject) -> None:
    name = " ".join(parts)
    position = data.draw(st.integers(min_value=0, max_value=len(name)))
    mark = data.draw(FORMAT_CHARS)
    altered = name[:position] + mark + name[position:]
    for stored, written in ((name, altered), (altered, name)):
        text = f"Photo: {written}."
        # A mark just before or after the name is not part of it.
        start = 7 + written.startswith(mark)
        end = 7 + len(written) - written.endswith(mark)
        assert [(m.start, m.end) for m in find(text, [Entry("name", stored, "p")])] == [(start, end)]


@settings(max_examples=150, deadline=None)
@given(parts=NAMES, data=st.data())
def test_replacing_any_separator_with_another_still_matches(parts: list[str], data: st.DataObject) -> None:
    first = data.draw(st.lists(SEPARATORS, min_size=len(parts) - 1, max_size=len(parts) - 1))
    second = data.draw(st.lists(SEPARATORS, min_size=len(parts) - 1, max_size=len(parts) - 1))
    stored, written = _join(parts, first), _join(parts, second)
    text = f"Photo: {written}."
    assert [(m.start, m.end) for m in find(text, [Entry("name", stored, "p")])] == [(7, 7 + len(written))]


@settings(max_examples=150, deadline=None)
@given(parts=NAMES, extra=PART, before=st.booleans())
def test_a_name_never_matches_inside_a_longer_word(parts: list[str], extra: str, before: bool) -> None:
    name = " ".join(parts)
    text = f"Photo: {extra}{name}." if before else f"Photo: {name}{extra}."
    # A word that is the whole name run together, in any of its spellings, is the name ("aaaaaa aa" is in
    # "aa aaaaaaaa" as "aaaaaaaa", last word first): not what this property is about.
    run_together = {key for key, _, _ in name_keys(name)}
    assume(not run_together & set(fold(text[7:-1]).split()))
    # A part written twice makes a shorter spelling ("aa bb aa bb" holds "aa bb", first and last) whole.
    assume(len(set(parts)) == len(parts))
    assert find(text, [Entry("name", name, "p")]) == []


STORED_PUNCTUATION = st.sampled_from([",", ", ", ".", ". ", "&", " & ", "/", " / ", "-", "'", " (", ") "])
WRITTEN_SEPARATORS = st.sampled_from(["", " ", "  ", "\n", "_", ".", ", ", "-", "'", "*", " / ", "\u2014"])


@settings(max_examples=150, deadline=None)
@given(parts=NAMES, data=st.data())
def test_punctuation_in_a_stored_name_meets_any_separator_or_none(
    parts: list[str], data: st.DataObject
) -> None:
    stored_gaps = data.draw(st.lists(STORED_PUNCTUATION, min_size=len(parts) - 1, max_size=len(parts) - 1))
    written_gaps = data.draw(st.lists(WRITTEN_SEPARATORS, min_size=len(parts) - 1, max_size=len(parts) - 1))
    stored, written = _join(parts, stored_gaps), _join(parts, written_gaps)
    text = f"Photo: {written}!"
    assert [(m.start, m.end) for m in find(text, [Entry("name", stored, "p")])] == [(7, 7 + len(written))]


@settings(max_examples=150, deadline=None)
@given(parts=NAMES, comma=st.booleans(), upper=st.booleans())
def test_a_name_is_found_last_word_first(parts: list[str], comma: bool, upper: bool) -> None:
    surname = parts[-1].upper() if upper else parts[-1]
    written = surname + (", " if comma else " ") + " ".join(parts[:-1])
    text = f"Photo: {written}!"
    for stored in (" ".join(parts), f"{parts[-1]}, {' '.join(parts[:-1])}"):
        found = find(text, [Entry("name", stored, "p")])
        assert [(m.start, m.end) for m in found] == [(7, 7 + len(written))]
