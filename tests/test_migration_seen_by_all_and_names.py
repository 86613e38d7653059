"""Migration 7b3e91c4d2a8 keeps existing data meaningful: a group's messages_seen_by_all that only the old
default said (true on a platform where it depends on use) becomes unknown, a deliberate false and a Facebook
group's true stay; technologies that already share a name keep both records, under distinct keys."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa

from api import clock
from api.migrations import upgrade
from tests.kit.databases import engine_for, throwaway_database

BEFORE = "5e7d9c1a2b3f"


def test_seen_by_all_said_only_by_the_old_default_becomes_unknown_and_duplicate_names_survive() -> None:
    now = clock.now()
    with throwaway_database() as url:
        upgrade(url, BEFORE)
        with engine_for(url) as engine, engine.begin() as conn:
            group = sa.table(
                "online_group",
                sa.column("id", sa.Uuid()),
                *(sa.column(c) for c in ("name", "platform", "messages_seen_by_all", "visibility")),
                *(sa.column(c) for c in ("join_approval", "shares_images", "started_on", "status")),
                *(sa.column(c) for c in ("created_at", "updated_at", "version")),
            )
            technology = sa.table(
                "technology",
                sa.column("id", sa.Uuid()),
                *(sa.column(c) for c in ("name", "purpose", "created_at", "updated_at", "version")),
            )
            common = {
                "visibility": "closed",
                "join_approval": "admins_only",
                "shares_images": False,
                "started_on": date(2025, 1, 1).isoformat(),
                "status": "active",
                "created_at": now.isoformat(" "),
                "updated_at": now.isoformat(" "),
                "version": 1,
            }
            for name, platform, seen in (
                ("fb", "facebook_group", True),
                ("wa-default", "whatsapp", True),
                ("wa-broadcast", "whatsapp", False),
                ("discord", "discord", True),
            ):
                conn.execute(
                    sa.insert(group).values(
                        id=uuid.uuid4(), name=name, platform=platform, messages_seen_by_all=seen, **common
                    )
                )
            for i, name in enumerate(("Padlet", "PADLET ", "Soundtrap")):
                conn.execute(
                    sa.insert(technology).values(
                        id=uuid.uuid4(),
                        name=name,
                        purpose="p",
                        created_at=now.replace(microsecond=i).isoformat(" "),
                        updated_at=now.isoformat(" "),
                        version=1,
                    )
                )
        upgrade(url)
        with engine_for(url) as engine, engine.connect() as conn:
            seen_by_all: dict[str, object] = dict(
                conn.execute(sa.text("SELECT name, messages_seen_by_all FROM online_group")).all()
            )
            keys: dict[str, str] = dict(conn.execute(sa.text("SELECT name, name_key FROM technology")).all())
    assert {k: (None if v is None else bool(v)) for k, v in seen_by_all.items()} == {
        "fb": True,
        "wa-default": None,
        "wa-broadcast": False,
        "discord": None,
    }
    assert keys["Padlet"] == "padlet"
    assert keys["PADLET "].startswith("padlet #")
    assert keys["Soundtrap"] == "soundtrap"
