"""technology retirements keep their recording time; name keys drop format characters

Revision ID: c4e1a7d93b52
Revises: 7b3e91c4d2a8
Create Date: 2026-11-30 10:30:00

technology.retired_recorded_at: when retired_on was set, so an evaluation as of an earlier day does not see a
retirement recorded after it (issue 15, finding 8). An existing retirement's recording time was not kept: it
gets the row's updated_at, the last change, which is at or after the retirement was recorded, so a past
evaluation may count the technology in use a little longer than it did, never shorter (never hiding a use).

technology.name_key is recomputed with format characters (Unicode category Cf: zero-width space, soft
hyphen, joiners, bidi marks) dropped (api/controls/models.py `name_key`, finding 12). Where two rows now
share a key, the later added keeps its name and gets a key made unique with its id, as 7b3e91c4d2a8 did.

Downgrade: the column is dropped; keys are recomputed by the old rule (Cf characters kept).
"""

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db

revision: str = "c4e1a7d93b52"
down_revision: str | None = "7b3e91c4d2a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(name: str, *, drop_format: bool) -> str:
    # As api/controls/models.py `name_key` is today (a migration keeps its own copy of the rule it applies).
    folded = unicodedata.normalize("NFKC", name).casefold()
    if drop_format:
        folded = "".join(c for c in folded if unicodedata.category(c) != "Cf")
    return " ".join(folded.split())


def _rekey(*, drop_format: bool) -> None:
    conn = op.get_bind()
    technology = sa.table(
        "technology",
        sa.column("id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("name_key", sa.String()),
        sa.column("created_at", sa.DateTime()),
    )
    rows = conn.execute(
        sa.select(technology.c.id, technology.c.name, technology.c.name_key).order_by(
            technology.c.created_at, technology.c.id
        )
    ).all()
    keys: dict[object, str] = {}
    seen: set[str] = set()
    for row_id, name, _ in rows:
        key = _key(name, drop_format=drop_format)[:200]
        if key in seen:
            key = f"{key[:160]} #{row_id}"
        seen.add(key)
        keys[row_id] = key
    changed = [(row_id, keys[row_id]) for row_id, _, old in rows if keys[row_id] != old]
    # Two passes, so no update meets the unique constraint half way (a key moving to another row's old one).
    for row_id, _ in changed:
        conn.execute(sa.update(technology).where(technology.c.id == row_id).values(name_key=f"#{row_id}"))
    for row_id, key in changed:
        conn.execute(sa.update(technology).where(technology.c.id == row_id).values(name_key=key))


def upgrade() -> None:
    with op.batch_alter_table("technology", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retired_recorded_at", api.db.UTCDateTime(timezone=True), nullable=True)
        )
    technology = sa.table(
        "technology",
        sa.column("retired_on", sa.Date()),
        sa.column("retired_recorded_at", sa.DateTime()),
        sa.column("updated_at", sa.DateTime()),
    )
    op.get_bind().execute(
        sa.update(technology)
        .where(technology.c.retired_on.is_not(None))
        .values(retired_recorded_at=technology.c.updated_at)
    )
    _rekey(drop_format=True)


def downgrade() -> None:
    _rekey(drop_format=False)
    with op.batch_alter_table("technology", schema=None) as batch_op:
        batch_op.drop_column("retired_recorded_at")
