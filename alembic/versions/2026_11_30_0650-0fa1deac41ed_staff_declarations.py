"""staff declarations

Revision ID: 0fa1deac41ed
Revises: 501f0057acdf
Create Date: 2026-11-30 06:50:00

Adds staff_declaration (a member of staff's declaration of their personal social media conduct, made for one
policy version) and policy_settings.declaration_valid_days (how long one lasts; 365 for a saved settings
row, as for the defaults). Downgrade drops both.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import api.db

revision: str = '0fa1deac41ed'
down_revision: str | None = '501f0057acdf'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('staff_declaration',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('read_policy', sa.Boolean(), nullable=False),
    sa.Column('profile_private', sa.Boolean(), nullable=False),
    sa.Column('no_young_friends', sa.Boolean(), nullable=False),
    sa.Column('no_personal_messages', sa.Boolean(), nullable=False),
    sa.Column('no_personal_follows', sa.Boolean(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=False),
    sa.Column('policy_version_id', sa.Uuid(), nullable=False),
    sa.Column('policy_version', sa.Integer(), nullable=False),
    sa.Column('declared_on', sa.Date(), nullable=False),
    sa.Column('recorded_by_label', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.ForeignKeyConstraint(['policy_version_id'], ['policy_version.id'], name=op.f('fk_staff_declaration_policy_version_id_policy_version')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_declaration_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_declaration'))
    )
    with op.batch_alter_table('staff_declaration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_declaration_staff_id'), ['staff_id'], unique=False)

    with op.batch_alter_table('policy_settings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('declaration_valid_days', sa.Integer(), nullable=False, server_default='365'))
    with op.batch_alter_table('policy_settings', schema=None) as batch_op:
        batch_op.alter_column('declaration_valid_days', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('policy_settings', schema=None) as batch_op:
        batch_op.drop_column('declaration_valid_days')
    with op.batch_alter_table('staff_declaration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_declaration_staff_id'))

    op.drop_table('staff_declaration')
