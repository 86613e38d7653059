"""group messages seen by all

Revision ID: 501f0057acdf
Revises: ff40e2ed7685
Create Date: 2026-11-30 06:40:00

Adds online_group.messages_seen_by_all: whether every member sees every message (a Facebook group, a Discord
channel) or not (direct messages, a broadcast list). Existing groups were registered as groups, so they start
as true; the column then has no default of its own (the API's default is true too). Downgrade drops it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "501f0057acdf"
down_revision: str | None = "ff40e2ed7685"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("online_group", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("messages_seen_by_all", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("online_group", schema=None) as batch_op:
        batch_op.alter_column("messages_seen_by_all", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("online_group", schema=None) as batch_op:
        batch_op.drop_column("messages_seen_by_all")
