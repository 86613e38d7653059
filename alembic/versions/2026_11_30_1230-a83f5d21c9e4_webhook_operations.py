"""webhook operations: secret rotation with an overlap, failure count, redelivery

Revision ID: a83f5d21c9e4
Revises: 5e8a1c3b7d24
Create Date: 2026-11-30 12:30:00

webhook_endpoint gains previous_secret and previous_secret_expires_at (null: never rotated with an overlap;
while now is before the expiry, deliveries are signed with both secrets) and failure_count (deliveries that
failed for good since the last delivered or re-enable; 0 for existing endpoints). webhook_delivery gains
attempts_before_redelivery (0: never redelivered), from which the retry schedule counts. Downgrade drops
them (an overlap in progress then ends at once: only the current secret signs).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import api.db

revision: str = "a83f5d21c9e4"
down_revision: str | None = "5e8a1c3b7d24"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.add_column(sa.Column("previous_secret", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch.add_column(
            sa.Column("previous_secret_expires_at", api.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("failure_count", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("webhook_delivery") as batch:
        batch.add_column(
            sa.Column("attempts_before_redelivery", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    # Column by column, not in a batch: a batch rebuilds the table on SQLite, and dropping the old one fails
    # while other rows refer to it (webhook_delivery to webhook_endpoint, webhook_attempt to webhook_delivery).
    op.drop_column("webhook_delivery", "attempts_before_redelivery")
    for column in ("failure_count", "previous_secret_expires_at", "previous_secret"):
        op.drop_column("webhook_endpoint", column)
