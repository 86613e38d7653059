"""when the compliance watch last went over every group, for /metrics

Revision ID: 5e8a1c3b7d24
Revises: 4c1d9e7f2a6b
Create Date: 2026-11-30 12:30:00

compliance_watch_run holds one row per kind of pass (today only `interval`, the worker's pass over every
active group), overwritten by each pass: derived state, not a record. Empty until the worker first runs.
Downgrade drops the table (nothing is lost that the next pass does not write again).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import api.db

revision: str = "5e8a1c3b7d24"
down_revision: str | None = "4c1d9e7f2a6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "compliance_watch_run",
        sa.Column("watch", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("finished_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("groups_evaluated", sa.Integer(), nullable=False),
        sa.Column("changes_announced", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("watch", name=op.f("pk_compliance_watch_run")),
    )


def downgrade() -> None:
    op.drop_table("compliance_watch_run")
