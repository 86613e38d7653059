"""technology names unique; a group's messages_seen_by_all may be unknown

Revision ID: 7b3e91c4d2a8
Revises: 5e7d9c1a2b3f
Create Date: 2026-11-30 09:30:00

technology.name_key: the name Unicode-normalised (NFKC), case-folded and with its spaces collapsed
(api/controls/models.py `name_key`), unique, so the register holds one record per tool however its name is
spelt. Existing rows get their key; where two already share one, the later added keeps its name and gets a
key made unique with its id, so nothing is lost and a coordinator can end the duplicate.

online_group.messages_seen_by_all becomes nullable: null is "not recorded". It used to default to true for
every platform, so a true on a platform where the answer depends on how the group is used (WhatsApp, Discord,
Instagram, other) may never have been said by anyone: it becomes null, and GRP-MESSAGES-SEEN-BY-ALL warns
until someone records it. A false was always said deliberately and stays; so does a Facebook group's or an
email list's true (the platform decides it).

Downgrade: null becomes true again (the old default), and name_key is dropped.
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7b3e91c4d2a8"
down_revision: str | None = "5e7d9c1a2b3f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECIDED_BY_PLATFORM = ("facebook_group", "email_list")


def _key(name: str) -> str:
    # As api/controls/models.py `name_key` is today (a migration keeps its own copy of the rule it applies).
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def upgrade() -> None:
    with op.batch_alter_table("technology", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=200), nullable=True))
    conn = op.get_bind()
    technology = sa.table(
        "technology",
        sa.column("id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("name_key", sa.String()),
        sa.column("created_at", sa.DateTime()),
    )
    seen: set[str] = set()
    rows = conn.execute(
        sa.select(technology.c.id, technology.c.name).order_by(technology.c.created_at, technology.c.id)
    ).all()
    for row_id, name in rows:
        key = _key(name)[:200]
        if key in seen:
            key = f"{key[:160]} #{row_id}"
        seen.add(key)
        conn.execute(sa.update(technology).where(technology.c.id == row_id).values(name_key=key))
    with op.batch_alter_table("technology", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=200), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_technology_name_key"), ["name_key"])

    with op.batch_alter_table("online_group", schema=None) as batch_op:
        batch_op.alter_column("messages_seen_by_all", existing_type=sa.Boolean(), nullable=True)
    group = sa.table("online_group", sa.column("platform", sa.String()), sa.column("messages_seen_by_all"))
    conn.execute(
        sa.update(group)
        .where(group.c.messages_seen_by_all.is_(True), group.c.platform.not_in(DECIDED_BY_PLATFORM))
        .values(messages_seen_by_all=None)
    )


def downgrade() -> None:
    group = sa.table("online_group", sa.column("messages_seen_by_all"))
    op.get_bind().execute(
        sa.update(group).where(group.c.messages_seen_by_all.is_(None)).values(messages_seen_by_all=True)
    )
    with op.batch_alter_table("online_group", schema=None) as batch_op:
        batch_op.alter_column("messages_seen_by_all", existing_type=sa.Boolean(), nullable=False)
    with op.batch_alter_table("technology", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_technology_name_key"), type_="unique")
        batch_op.drop_column("name_key")
