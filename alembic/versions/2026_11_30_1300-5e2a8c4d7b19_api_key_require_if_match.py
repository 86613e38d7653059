"""an API key may require If-Match on every change it makes

Revision ID: 5e2a8c4d7b19
Revises: a83f5d21c9e4
Create Date: 2026-11-30 13:00:00

api_key gains require_if_match (not null, false for every key that exists: they keep working as they do).
A key created with it true has its changes to an existing record refused without If-Match (428). Downgrade
drops the column (such keys would then change records without If-Match again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e2a8c4d7b19"
down_revision: str | None = "a83f5d21c9e4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(
            sa.Column("require_if_match", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # A plain drop, not a batch: a batch rebuilds the table on SQLite (SQLite drops a column since 3.35).
    op.drop_column("api_key", "require_if_match")
