"""facts versions: a counter per group and one for the organisation, for the compliance cache

Revision ID: e5a1c0f7b9d2
Revises: 5e2a8c4d7b19
Create Date: 2026-11-30 12:30:00

facts_version holds one row per scope ever written (a group's id as text, or "org"); every write that can
change a compliance answer moves its scope's counter (to a new random number) in the same transaction
(api/facts.py), and a cached answer is served only while the counters it was computed under still stand
(api/compliance/cache.py). No row to start with: a scope without a row is at version 0, and nothing is
cached across a restart.
Downgrade drops the table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "e5a1c0f7b9d2"
down_revision: str | None = "5e2a8c4d7b19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "facts_version",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_facts_version")),
    )


def downgrade() -> None:
    op.drop_table("facts_version")
