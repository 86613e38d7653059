"""The publication check against a directory of 10,000 participants (each with a carer's name, email and
phone, and a consent giver), plus staff: a 16 KB HTML text, as the coordinator (told everything) and as a
member of staff (reach computed per request). Run by `make bench` after the compliance figures; alone with
`BENCH_ONLY=publication`.

Also, in-process and without HTTP: building the directory index (once per change to the people behind it)
and reading the text against it (every request).
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

PEOPLE = 10_000
TEXT_BYTES = 16 * 1024
FIRST = [
    "Søren",
    "Łukasz",
    "Niamh",
    "Mary-Jane",
    "Zoë",
    "José",
    "Aoife",
    "Kit",
    "Ellis",
    "Maya",
    "Tomás",
    "Chloë",
    "Dmitri",
    "Ayşe",
    "Björn",
    "Siobhán",
    "Ngozi",
    "Olamide",
    "Freya",
    "Hamish",
    "Priya",
    "Ravi",
    "Leah",
    "Jonas",
    "Isla",
    "Ruairí",
    "Aleksandra",
    "Jamal",
    "Imogen",
    "Oskar",
    "Élodie",
    "Sam",
    "Fatima",
    "Yusuf",
    "Grace",
    "Callum",
    "Ffion",
    "Dylan",
    "Anwen",
    "Bartosz",
    "Zofia",
    "Kwame",
    "Ama",
    "Ines",
    "Mateo",
    "Lucía",
    "Hugo",
    "Astrid",
]
LAST = [
    "Dahl",
    "Wiśniewski",
    "O'Brien",
    "Okoro",
    "Núñez",
    "Fairweather",
    "Brennan",
    "Okafor",
    "Reyes",
    "Ó",
    "Briain",
    "Petrov",
    "Yıldız",
    "Lindqvist",
    "Mac",
    "Giolla",
    "Adeyemi",
    "Campbell",
    "Sharma",
    "Patel",
    "Marchant",
    "Weiß",
    "Sørensen",
    "Kowalczyk",
    "Nowak",
    "Mensah",
    "Asante",
    "Silva",
    "Costa",
    "Fernández",
    "García",
    "Svensson",
    "Jones",
    "Williams",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Hughes",
    "Lewis",
    "Morgan",
    "Griffiths",
    "Fitzgerald",
    "Murphy",
    "Kelly",
    "Byrne",
    "Walsh",
    "Ryan",
    "O'Connor",
    "McCarthy",
    "Doyle",
]
WORDS = [
    "the",
    "winter",
    "concert",
    "was",
    "a",
    "great",
    "night",
    "for",
    "everyone",
    "who",
    "came",
    "along",
    "and",
    "the",
    "young",
    "musicians",
    "played",
    "brilliantly",
    "with",
    "new",
    "songs",
    "from",
    "the",
    "summer",
    "school",
    "workshops",
    "our",
    "thanks",
    "to",
    "all",
    "the",
    "volunteers",
    "and",
    "families",
    "who",
    "helped",
    "with",
    "the",
    "lighting",
    "sound",
    "and",
    "refreshments",
    "next",
    "term",
    "starts",
    "in",
    "september",
]


def _row(**values: Any) -> dict[str, Any]:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, **values}


def seed(url: str, today: Any) -> tuple[list[dict[str, Any]], uuid.UUID, uuid.UUID]:
    """The people (for writing the text), the coordinator's user id and a member of staff's user id."""
    from sqlmodel import SQLModel

    from api.migrations import upgrade

    upgrade(url)
    t = SQLModel.metadata.tables
    rng = random.Random(13)
    staff = [
        _row(
            full_name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            email=f"staff{i}@moremusic.org.uk",
            personal_phone=f"+4420794{i:05d}",
            employment_type="employee",
            started_on=today - timedelta(days=800),
        )
        for i in range(60)
    ]
    users = [
        _row(staff_id=staff[0]["id"], email=staff[0]["email"], password_hash="x", role="coordinator"),
        _row(staff_id=staff[1]["id"], email=staff[1]["email"], password_hash="x", role="staff"),
    ]
    for u in users:
        u.update(is_active=True, token_epoch=0)
    group = _row(
        name="Bench group",
        platform="discord",
        visibility="closed",
        join_approval="admins_only",
        min_age=11,
        max_age=25,
        shares_images=True,
        started_on=today - timedelta(days=200),
        status="active",
    )
    participants, consents, members = [], [], []
    for i in range(PEOPLE):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        carer = f"{rng.choice(FIRST)} {last}"
        p = _row(
            full_name=f"{first} {last}",
            date_of_birth=today.replace(year=today.year - 12 - i % 8),
            is_vulnerable_adult=False,
            carer_name=carer,
            carer_email=f"carer{i}@example.org",
            carer_phone=f"+4477009{i:05d}",
            joined_on=today - timedelta(days=300),
        )
        participants.append(p)
        consents.append(
            _row(
                participant_id=p["id"],
                kind="image_use",
                purposes=["website"],
                given_by="parent_carer",
                given_by_name=carer,
                given_on=today - timedelta(days=100),
            )
        )
        if i < 50:
            members.append(
                _row(
                    group_id=group["id"],
                    participant_id=p["id"],
                    staff_id=None,
                    role="member",
                    started_on=today - timedelta(days=100),
                )
            )
    members.append(
        _row(
            group_id=group["id"],
            participant_id=None,
            staff_id=staff[1]["id"],
            role="admin",
            started_on=today - timedelta(days=100),
        )
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.insert(t["staff"]), staff)
        conn.execute(sa.insert(t["user_account"]), users)
        conn.execute(sa.insert(t["online_group"]), [group])
        conn.execute(sa.insert(t["participant"]), participants)
        conn.execute(sa.insert(t["consent"]), consents)
        conn.execute(sa.insert(t["membership"]), members)
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()
    print(f"  seeded {len(participants)} participants with carers and consents, {len(staff)} staff")
    return participants, users[0]["id"], users[1]["id"]


def text(people: list[dict[str, Any]]) -> str:
    """About 16 KB of HTML newsletter with a dozen protected details in it, spelled as people do."""
    rng = random.Random(7)
    spelled = [
        people[0]["full_name"],
        people[1]["full_name"].upper(),
        people[2]["carer_name"],
        "07700&nbsp;9" + people[3]["carer_phone"][-5:],
        people[4]["carer_email"],
        people[60]["full_name"].replace(" ", "\u00ad "),
        people[70]["full_name"].replace(" ", " <b>") + "</b>",
    ]
    paragraphs: list[str] = []
    size = 0
    while size < TEXT_BYTES:
        words = [rng.choice(WORDS) for _ in range(60)]
        if len(paragraphs) < len(spelled):
            words.insert(rng.randrange(60), spelled[len(paragraphs)])
        paragraph = "<p>" + " ".join(words) + ".</p>\n"
        paragraphs.append(paragraph)
        size += len(paragraph.encode())
    return "".join(paragraphs)


def in_process(url: str, body: str) -> None:
    from sqlmodel import Session

    from api.consents import publication_check
    from api.consents.canonical import read
    from api.consents.publication import Directory
    from api.db import make_engine

    engine = make_engine(url)
    with Session(engine) as session:
        t0 = time.perf_counter()
        entries = list(publication_check._entries(session))
        loaded = time.perf_counter() - t0
        t0 = time.perf_counter()
        directory = Directory(entries)
        built = time.perf_counter() - t0
        version_times = []
        for _ in range(20):  # the first also opens the connection: the median is the per-request cost
            t0 = time.perf_counter()
            assert publication_check._version(session)
            version_times.append(time.perf_counter() - t0)
        versioned = statistics.median(version_times)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        found = directory.find(read(body))
        times.append(time.perf_counter() - t0)
    engine.dispose()
    print(
        f"  in process: {len(entries)} details loaded in {loaded * 1000:.0f} ms, "
        f"indexed in {built * 1000:.0f} ms "
        f"(once per change); data version query median {versioned * 1000:.2f} ms; "
        f"reading the {len(body)}-character text: median {statistics.median(times) * 1000:.2f} ms, "
        f"max {max(times) * 1000:.2f} ms, "
        f"{len(found)} matches"
    )


def measure(
    client: httpx.Client, headers: dict[str, str], body: str, rounds: int = 5, per_round: int = 40
) -> None:
    request = {"text": body}
    t0 = time.perf_counter()
    first = client.post("/api/v1/publication-checks", json=request, headers=headers)
    cold = time.perf_counter() - t0
    first.raise_for_status()
    latencies: list[float] = []
    for _ in range(rounds):
        for _ in range(per_round):
            t0 = time.perf_counter()
            r = client.post("/api/v1/publication-checks", json=request, headers=headers)
            latencies.append(time.perf_counter() - t0)
            r.raise_for_status()
    lat = sorted(latencies)
    print(
        f"    first call {cold * 1000:.0f} ms; then n={len(lat)} p50 {statistics.median(lat) * 1000:.2f} ms, "
        f"p99 {lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000:.2f} ms, max {lat[-1] * 1000:.2f} ms; "
        f"{len(first.json()['matches'])} matches"
    )
