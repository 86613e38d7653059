"""A 2,000-entry roster against a directory of 5,000 people, with every kind of match and discrepancy and
names in several scripts and spellings. `world()` builds it with the outcome each entry must get; `make
bench` times its reconciliation (in process, and the upload over HTTP), and tests/test_roster_world.py
checks every entry's outcome without timing anything.
"""

from __future__ import annotations

import random
import statistics
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from anyascii import anyascii

ENTRIES = 2_000
PEOPLE = 5_000
STAFF = 300
# Given and family names in Latin (with accents, and the letters no Unicode decomposition touches: ø ł đ æ
# œ þ ß and the dotless ı), Cyrillic, Greek, Arabic, Devanagari and Chinese script.  # noqa: RUF003
FIRST = [
    "Zoë",
    "Łukasz",
    "Siobhán",
    "José",
    "Chloë",
    "Ayşe",
    "Björn",
    "Tomás",
    "Niamh",
    "Aoife",
    "Søren",
    "Mary-Jane",
    "Kit",
    "Maya",
    "Ellis",
    "Dmitri",
    "Мария",
    "Алексей",
    "Νίκος",
    "Ελένη",
    "فاطمة",
    "يوسف",
    "अनिका",
    "राहुल",
    "小明",
    "美玲",
    "Óscar",
    "Anaïs",
    "Małgorzata",
    "Jürgen",
    "Þórdís",
    "Đurđica",
    "Ægir",
    "Ørjan",
]
LAST = [
    "Okafor",
    "Nowak",
    "Ó-Briain",
    "Álvarez",
    "Żółć",
    "Yılmaz",  # noqa: RUF001 (a Turkish dotless i, on purpose)
    "Øster",
    "Đorđević",
    "Þorsteinsdóttir",
    "Sæther",
    "Cœurdevey",
    "Weiß",
    "Fernández",
    "Byrne",
    "Kowalczyk",
    "Müller",
    "Dubois",
    "Ng",
    "Patel",
    "Rossi",
    "Иванова",
    "Петров",
    "Παπαδόπουλος",
    "Γεωργίου",
    "الزهراء",
    "حداد",
    "शर्मा",
    "वर्मा",
    "王",
    "李",
    "Lindqvist",
    "Haddad",
    "Nguyễn",
    "Çelik",
    "Brontë",
    "Zając",
    "O'Neill",
    "Smith-Jones",
    "Kaczmarek",
    "Ferreira",
    "Gonçalves",
    "Novák",
    "Dvořák",
    "Horváth",
    "Sørensen",
    "Håkansson",
    "Virtanen",
    "Jääskeläinen",
    "Łęcki",
    "Ōtani",
    "Kovačević",
    "Petrović",
    "Ibrahim",
    "Rahman",
    "Chowdhury",
    "Mensah",
    "Adeyemi",
]


def _row(**values: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1, **values}


@dataclass
class World:
    today: date
    group: dict[str, Any]
    staff: list[dict[str, Any]] = field(default_factory=list)
    participants: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    # Per entry: the match it must get and the person it must name (None for unknown).
    expected: list[tuple[str, uuid.UUID | None]] = field(default_factory=list)
    # Per entry: the kinds of discrepancy it must carry; and the memberships to end (not on the platform).
    entry_kinds: list[set[str]] = field(default_factory=list)
    not_on_platform: set[uuid.UUID] = field(default_factory=set)


def _names(rng: random.Random, n: int) -> list[str]:
    # A given name and a double family name (each pair of family names in one order only), so that no two
    # people share a name, in any word order: a name alone then names one person.
    names = [f"{f} {a} {b}" for f in FIRST for i, a in enumerate(LAST) for b in LAST[i + 1 :]]
    rng.shuffle(names)
    assert len(names) >= n
    from api.identities.normalise import name_key

    # The oracle relies on it: however a name is spelt, it names one person.
    assert len({name_key(name) for name in names[:n]}) == n
    return names[:n]


def _spelling(name: str, rng: random.Random) -> str:
    """The same name as a platform may show it: family name first with a comma, other case, decomposed
    accents (NFD, as macOS copies them), invisible format characters (zero-width space and joiner, soft
    hyphen, direction marks, a byte-order mark) copied along, or spelt in Latin letters without accents."""
    first, last = name.split(" ", 1)  # the given name, then the family name
    return rng.choice(
        [
            f"{last}, {first}",
            name.upper(),
            f"  {last.lower()}   {first} ",
            name.swapcase(),
            unicodedata.normalize("NFD", name),
            f"\u200e{first}\u200b {last[:2]}\u00ad{last[2:]}\u200f",
            f"\ufeff{first[:1]}\u200d{first[1:]} {last}",
            anyascii(name),
        ]
    )


def world(today: date, *, entries: int = ENTRIES, seed: int = 16) -> World:
    rng = random.Random(seed)
    names = _names(rng, PEOPLE + entries)
    strangers = iter(names[PEOPLE:])
    w = World(
        today=today,
        group=_row(
            name="Roster bench group",
            platform="discord",
            visibility="closed",
            join_approval="admins_only",
            min_age=11,
            max_age=18,
            shares_images=False,
            started_on=today - timedelta(days=400),
            status="active",
        ),
    )
    for i in range(STAFF):
        w.staff.append(
            _row(
                full_name=names[i],
                email=f"staff{i}@moremusic.org.uk",
                personal_phone=f"+44791100{i:04d}" if i % 3 == 0 else None,
                employment_type="employee",
                started_on=today - timedelta(days=900),
                left_on=today - timedelta(days=20) if i % 25 == 0 else None,
                is_esafety_coordinator=False,
                uses_social_media_for_work=True,
            )
        )
    for i in range(PEOPLE - STAFF):
        age = 12 + i % 6 if i % 40 else 22  # one in forty is too old for the group (11 to 18)
        w.participants.append(
            _row(
                full_name=names[STAFF + i],
                date_of_birth=today.replace(year=today.year - age) - timedelta(days=40),
                is_vulnerable_adult=False,
                personal_phone=f"+44770090{i:04d}" if i % 4 == 1 else None,
                personal_email=f"young{i}@example.org" if i % 5 == 0 else None,
                joined_on=today - timedelta(days=500),
                left_on=today - timedelta(days=10) if i % 50 == 1 else None,
            )
        )
    people = [("staff", s) for s in w.staff] + [("participant", p) for p in w.participants]
    for n, (kind, person) in enumerate(people):
        if n % 2 == 0:  # half of everyone has a Discord user id on record, a tenth a user name too
            w.identities.append(_identity(kind, person, "discord", f"{700000000000 + n}"))
        if n % 10 == 3:
            w.identities.append(_identity(kind, person, "discord", f"user_{n}"))
    ids_by_person = {i.get("staff_id") or i.get("participant_id"): i for i in w.identities}
    order = list(range(len(people)))
    rng.shuffle(order)
    # Each person in one pool only, by what the records hold to match them on.
    pools: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "handle": [],
        "email": [],
        "phone": [],
        "probable": [],
    }
    for i in order:
        kind, person = people[i]
        if person["id"] in ids_by_person:
            pools["handle"].append((kind, person))
        elif person.get("personal_phone"):
            pools["phone"].append((kind, person))
        elif person.get("personal_email") if kind == "participant" else len(pools["email"]) < 150:
            pools["email"].append((kind, person))  # a young person's own address, or staff's official one
        else:
            pools["probable"].append((kind, person))
    # Twenty entries use a member's name on an account that is not theirs, and twenty people are on the
    # platform twice (their own handle, and a copy of it with an invisible character in it): 2,000 entries
    # from 1,980 steps.
    plan = ["handle"] * 940 + ["email"] * 250 + ["phone"] * 250 + ["probable"] * 300 + ["unknown"] * 200
    plan += ["impostor"] * 20 + ["twice"] * 20
    plan = plan * -(-entries // ENTRIES)
    rng.shuffle(plan)
    on_list: list[tuple[str, dict[str, Any]]] = []
    shown: list[tuple[str, dict[str, Any] | None]] = []  # per entry: how it was made, and whom it shows
    for how in plan:
        if len(w.entries) >= entries:
            break
        if how == "twice" and len(w.entries) + 2 > entries:
            how = "handle"
        if how == "unknown":
            name = next(strangers)  # nobody in the records has this name
            w.entries.append({"display_name": _spelling(name, rng), "handle": f"stranger_{len(w.entries)}"})
            w.expected.append(("unknown", None))
            shown.append((how, None))
            continue
        kind, person = pools["handle" if how in ("impostor", "twice") else how].pop()
        entry: dict[str, Any]
        if how in ("handle", "twice"):
            value = ids_by_person[person["id"]]["value"]
            choices = [value, f"@{value.upper()}"]
            if value.isdigit():
                choices.append(f"https://discord.com/users/{value}")
            entry = {"display_name": rng.choice(FIRST), "handle": rng.choice(choices)}
        elif how == "impostor":
            # Their name, on an account that is not the one on record: unknown, naming whose name it is.
            entry = {
                "display_name": _spelling(person["full_name"], rng),
                "handle": f"fan_of_{len(w.entries)}",
            }
        elif how == "email":
            address = person["email"] if kind == "staff" else person["personal_email"]
            entry = {"display_name": person["full_name"].split()[0], "email": address.upper()}
        elif how == "phone":
            national = "0" + person["personal_phone"][3:]
            entry = {"phone": f"{national[:5]} {national[5:]}"}
        else:
            entry = {
                "display_name": _spelling(person["full_name"], rng),
                "handle": f"new_{person['id'].hex[:8]}",
            }
        if kind == "staff" and how != "impostor" and rng.random() < 0.5:
            entry["platform_role"] = "admin"
        w.entries.append(entry)
        if how == "impostor":
            w.expected.append(("unknown", person["id"]))
            shown.append((how, person))
            continue
        w.expected.append(("probable" if how == "probable" else "certain", person["id"]))
        shown.append((how, person))
        on_list.append((kind, person))
        if how == "twice":
            w.entries.append({**entry, "handle": f"{value[:2]}\u200b{value[2:]}"})
            w.expected.append(("certain", person["id"]))
            shown.append(("second account", person))
    # Most of those on the list are members already; some are not (to add); others are members no longer
    # on the platform (to end).
    for n, (kind, person) in enumerate(on_list):
        if n % 7:
            w.memberships.append(_member(w, kind, person, admin=kind == "staff" and n % 2 == 0))
    listed = {p["id"] for _, p in on_list}
    for kind, person in [people[i] for i in order[:400]]:
        if person["id"] not in listed and len(w.memberships) < 2_000:
            w.memberships.append(_member(w, kind, person, admin=False))
    _expect_discrepancies(w, shown)
    return w


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _expect_discrepancies(w: World, shown: list[tuple[str, dict[str, Any] | None]]) -> None:
    """What the issue says each entry is, from how the world made it: an unknown adult; a name on an
    account that is not the person's; a probable match to confirm; a second account; and for each person
    on the platform, what their records say (departed staff, a young person who left or is outside the
    group's ages, an admin who is not staff or not recorded as one, a member recorded as an admin who is
    not one on the platform, someone not in the group's records). Memberships whose person is not on the
    list end. An unconfirmed or unknown entry is nobody yet, so a platform admin there is "not staff"."""
    members = {m["staff_id"] or m["participant_id"]: m for m in w.memberships}
    staff_ids = {s["id"] for s in w.staff}
    on_platform: set[uuid.UUID] = set()
    for (how, person), entry in zip(shown, w.entries, strict=True):
        kinds: set[str] = set()
        admin = entry.get("platform_role") == "admin"
        if how in ("unknown", "impostor", "probable"):
            kinds.add({"unknown": "unknown_person", "probable": "probable_match"}.get(how, "unknown_person"))
            if how == "impostor":
                kinds.add("name_of_another_account")
            if how == "probable":
                assert person is not None
                on_platform.add(person["id"])
            if admin:
                kinds.add("admin_not_staff")
        elif how == "second account":
            kinds.add("several_accounts")
        else:
            assert person is not None
            on_platform.add(person["id"])
            is_staff = person["id"] in staff_ids
            left = person.get("left_on")
            gone = left is not None and left <= w.today
            member = members.get(person["id"])
            if gone:
                kinds.add("departed_staff" if is_staff else "participant_left")
            elif not is_staff and not 11 <= _age(person["date_of_birth"], w.today) <= 18:
                kinds.add("outside_age_range")
            recorded_admin = member is not None and member["role"] == "admin"
            if admin and (gone or not is_staff):
                kinds.add("admin_not_staff")
            elif admin and not recorded_admin:
                kinds.add("admin_not_in_records")
            elif recorded_admin and not admin:
                kinds.add("admin_not_on_platform")
            if member is None and not gone:
                kinds.add("not_in_records")
        w.entry_kinds.append(kinds)
    w.not_on_platform = {m["id"] for pid, m in members.items() if pid not in on_platform}


def _identity(kind: str, person: dict[str, Any], platform: str, value: str) -> dict[str, Any]:
    from api.identities.normalise import handle_key

    return _row(
        staff_id=person["id"] if kind == "staff" else None,
        participant_id=person["id"] if kind == "participant" else None,
        platform=platform,
        kind="handle",
        value=value,
        match_key=handle_key(value),
    )


def _member(w: World, kind: str, person: dict[str, Any], *, admin: bool) -> dict[str, Any]:
    return _row(
        group_id=w.group["id"],
        staff_id=person["id"] if kind == "staff" else None,
        participant_id=person["id"] if kind == "participant" else None,
        role="admin" if admin else "member",
        started_on=w.today - timedelta(days=300),
    )


def insert(conn: sa.Connection, w: World) -> None:
    """Write the world's records (not its roster) through Core, in a few statements."""
    from sqlmodel import SQLModel

    t = SQLModel.metadata.tables
    conn.execute(t["online_group"].insert(), [w.group])
    conn.execute(t["staff"].insert(), w.staff)
    conn.execute(t["participant"].insert(), w.participants)
    conn.execute(t["platform_identity"].insert(), w.identities)
    conn.execute(t["membership"].insert(), w.memberships)


def reconcile(session: Any, w: World) -> list[tuple[str, uuid.UUID | None]]:
    """What reconciliation makes of every entry: the directory load and one match per entry."""
    from api.groups.models import Group
    from api.rosters import match, service

    group = session.get(Group, w.group["id"])
    directory = service.directory(session, group, w.today)
    found = match.one_account_each(
        [
            directory.find(
                display_name=e.get("display_name"),
                handle=e.get("handle"),
                email=e.get("email"),
                phone=e.get("phone"),
            )
            for e in w.entries
        ]
    )
    return [(f.match.value, f.person.id if f.person else None) for f in found]


def run(url: str, today: date) -> None:
    """Seed, check every outcome, then time the reconciliation in process and the upload over HTTP."""
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from api import models as _models  # noqa: F401
    from api.auth import tokens
    from api.auth.models import User
    from api.auth.roles import Role
    from api.db import make_engine
    from api.main import create_app
    from api.migrations import upgrade

    upgrade(url)
    w = world(today)
    engine = make_engine(url)
    with engine.begin() as conn:
        insert(conn, w)
    with Session(engine) as session:
        coordinator = _row(
            full_name="Bench Coordinator",
            email="coord@moremusic.org.uk",
            employment_type="employee",
            started_on=today - timedelta(days=900),
            is_esafety_coordinator=True,
            uses_social_media_for_work=True,
        )
        from sqlmodel import SQLModel

        session.connection().execute(SQLModel.metadata.tables["staff"].insert(), [coordinator])
        user = User(
            staff_id=coordinator["id"], email=coordinator["email"], password_hash="x", role=Role.coordinator
        )
        session.add(user)
        session.commit()
        got = reconcile(session, w)
        wrong = sum(1 for a, b in zip(got, w.expected, strict=True) if a != b)
        right = len(w.entries) - wrong
        print(f"  {len(w.entries)} entries against {PEOPLE} people: {right} right, {wrong} wrong")
        timings = []
        for _ in range(5):
            session.expire_all()
            started = time.perf_counter()
            reconcile(session, w)
            timings.append((time.perf_counter() - started) * 1000)
            session.rollback()
        median = statistics.median(timings)
        print(f"  reconciliation in process (directory load + matching): median {median:.0f} ms")
        user_id = user.id
    import os

    token = tokens.issue(user_id=user_id, epoch=0, secret=os.environ["SECRET_KEY"], minutes=60)
    os.environ["DATABASE_URL"] = url
    from api.config import get_settings
    from api.db import get_engine

    get_settings.cache_clear()
    get_engine.cache_clear()
    client = TestClient(create_app())
    headers = {"Authorization": f"Bearer {token}"}
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        r = client.post(
            f"/api/v1/groups/{w.group['id']}/rosters", json={"entries": w.entries}, headers=headers
        )
        timings.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 201, r.text
    counts = r.json()["counts"]
    print(
        f"  upload over the app (JSON, {len(w.entries)} entries: parse, reconcile, store, answer with "
        f"discrepancies): median {statistics.median(timings):.0f} ms; counts {counts}"
    )
