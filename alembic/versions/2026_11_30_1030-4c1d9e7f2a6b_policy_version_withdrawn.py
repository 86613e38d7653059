"""a policy version may be withdrawn before it comes into force

Revision ID: 4c1d9e7f2a6b
Revises: 9c4e2b7d1f60
Create Date: 2026-11-30 10:30:00

policy_version gains withdrawn_on, withdrawn_reason and withdrawn_by_label (all null: no version was
withdrawn). A withdrawn version stays (records end, they are not deleted) but is never in force and does not
bound a later version's effective date. Downgrade drops the columns (a withdrawn version would then count
again: withdraw nothing you mean to downgrade past).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "4c1d9e7f2a6b"
down_revision: str | None = "9c4e2b7d1f60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_version") as batch:
        batch.add_column(sa.Column("withdrawn_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("withdrawn_reason", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
        batch.add_column(sa.Column("withdrawn_by_label", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))


def downgrade() -> None:
    # Column by column, not in a batch: a batch rebuilds the table on SQLite, and dropping the old one fails
    # while policy_clause's rows refer to it (SQLite drops a plain column since 3.35).
    for column in ("withdrawn_by_label", "withdrawn_reason", "withdrawn_on"):
        op.drop_column("policy_version", column)
