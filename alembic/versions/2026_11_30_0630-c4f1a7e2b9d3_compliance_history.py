"""compliance history

Revision ID: c4f1a7e2b9d3
Revises: b08c444721ae
Create Date: 2026-11-30 06:30:00

Adds compliance_history: what the compliance watch found for each group, one row a day on which the group's
status or its failing, warning or waived rules changed (api/compliance/history.py). Derived state; the
downgrade drops it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db


revision: str = 'c4f1a7e2b9d3'
down_revision: str | None = 'b08c444721ae'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('compliance_history',
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('compliant', 'at_risk', 'non_compliant', name='status', native_enum=False, length=32), nullable=False),
    sa.Column('outcomes', sa.JSON(), nullable=False),
    sa.Column('waived', sa.JSON(), nullable=False),
    sa.Column('recorded_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['online_group.id'], name=op.f('fk_compliance_history_group_id_online_group')),
    sa.PrimaryKeyConstraint('group_id', 'day', name=op.f('pk_compliance_history'))
    )


def downgrade() -> None:
    op.drop_table('compliance_history')
