"""platform identities: verified_at (a member of staff's own claim waits for a coordinator)

Revision ID: 9c4e2b7d1f60
Revises: c4e1a7d93b52
Create Date: 2026-11-30 10:30:00

platform_identity.verified_at: when a coordinator (or the CRM's key) recorded or verified the identity; null
while it is a member of staff's own claim that nobody has checked. Only a verified identity matches a roster
entry or is shown to anyone but its claimant and the coordinators (docs/rosters.md). Every identity already
recorded was recorded under the old rule and is kept as it was: verified at its creation.

Downgrade: the column is dropped (unverified claims would then match as before).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db

revision: str = "9c4e2b7d1f60"
down_revision: str | None = "c4e1a7d93b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("platform_identity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_at", api.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by_id", sa.Uuid(), nullable=True))
    identity = sa.table("platform_identity", sa.column("verified_at"), sa.column("created_at"))
    op.get_bind().execute(sa.update(identity).values(verified_at=identity.c.created_at))


def downgrade() -> None:
    with op.batch_alter_table("platform_identity", schema=None) as batch_op:
        batch_op.drop_column("verified_by_id")
        batch_op.drop_column("verified_at")
