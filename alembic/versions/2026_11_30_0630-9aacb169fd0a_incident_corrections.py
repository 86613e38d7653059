"""incident corrections

Revision ID: 9aacb169fd0a
Revises: 4c1d2e3f5a6b
Create Date: 2026-11-30 06:30:20

Adds incident_correction: each correction of an incident's headline (summary, category, severity, group,
rule ids) with its reason and the fields' values before and after, shown on the incident's timeline.
Append-only like the rest of the chronology. One new table: downgrade drops it.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import api.db


revision: str = '9aacb169fd0a'
down_revision: str | None = '4c1d2e3f5a6b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('incident_correction',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=5000), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], name=op.f('fk_incident_correction_actor_id_staff')),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_correction_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_correction'))
    )
    with op.batch_alter_table('incident_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_correction_incident_id'), ['incident_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('incident_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_correction_incident_id'))

    op.drop_table('incident_correction')
