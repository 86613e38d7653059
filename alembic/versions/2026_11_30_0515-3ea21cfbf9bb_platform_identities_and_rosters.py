"""platform identities and rosters

Revision ID: 3ea21cfbf9bb
Revises: b8c9809cadb3
Create Date: 2026-11-30 05:15:00 (first written 04:14; moved after the webhook outcome migration from main)

Adds how staff and participants appear on each platform (platform_identity, with the normalised match key
reconciliation compares), and rosters: a group's member list as the platform shows it (group_roster, with
the counts the compliance rule reads) and its entries, each with its match and resolution (roster_entry).
Three new tables: downgrade drops them.
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import api.db


revision: str = '3ea21cfbf9bb'
down_revision: str | None = 'b8c9809cadb3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('group_roster',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('platform', sa.Enum('facebook_group', 'whatsapp', 'discord', 'instagram', 'email_list', 'other', name='platform', native_enum=False, length=32), nullable=False),
    sa.Column('captured_on', sa.Date(), nullable=False),
    sa.Column('uploaded_by_type', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('uploaded_by_id', sa.Uuid(), nullable=True),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('certain_count', sa.Integer(), nullable=False),
    sa.Column('probable_count', sa.Integer(), nullable=False),
    sa.Column('unknown_count', sa.Integer(), nullable=False),
    sa.Column('open_unknown', sa.Integer(), nullable=False),
    sa.Column('open_probable', sa.Integer(), nullable=False),
    sa.Column('applied_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['online_group.id'], name=op.f('fk_group_roster_group_id_online_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_group_roster'))
    )
    with op.batch_alter_table('group_roster', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_group_roster_group_id'), ['group_id'], unique=False)

    op.create_table('platform_identity',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('participant_id', sa.Uuid(), nullable=True),
    sa.Column('platform', sa.Enum('facebook_group', 'whatsapp', 'discord', 'instagram', 'email_list', 'other', name='platform', native_enum=False, length=32), nullable=True),
    sa.Column('kind', sa.Enum('handle', 'email', 'phone', name='identitykind', native_enum=False, length=32), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('match_key', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.CheckConstraint('(staff_id IS NULL) <> (participant_id IS NULL)', name=op.f('ck_platform_identity_exactly_one_person')),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_platform_identity_participant_id_participant')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_platform_identity_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_identity'))
    )
    with op.batch_alter_table('platform_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_platform_identity_match_key'), ['match_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_platform_identity_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_platform_identity_staff_id'), ['staff_id'], unique=False)

    op.create_table('roster_entry',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', api.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('roster_id', sa.Uuid(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('handle', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('platform_role', sa.Enum('admin', 'moderator', 'member', name='platformrole', native_enum=False, length=32), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=True),
    sa.Column('match', sa.Enum('certain', 'probable', 'unknown', name='match', native_enum=False, length=32), nullable=False),
    sa.Column('matched_by', sa.Enum('handle', 'email', 'phone', 'name', name='matchedby', native_enum=False, length=32), nullable=True),
    sa.Column('staff_id', sa.Uuid(), nullable=True),
    sa.Column('participant_id', sa.Uuid(), nullable=True),
    sa.Column('resolution', sa.Enum('confirmed', 'identified', 'removed', name='resolution', native_enum=False, length=32), nullable=True),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('resolved_at', api.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_roster_entry_participant_id_participant')),
    sa.ForeignKeyConstraint(['roster_id'], ['group_roster.id'], name=op.f('fk_roster_entry_roster_id_group_roster')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_roster_entry_staff_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_entry'))
    )
    with op.batch_alter_table('roster_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_entry_roster_id'), ['roster_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('roster_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_entry_roster_id'))

    op.drop_table('roster_entry')
    with op.batch_alter_table('platform_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_platform_identity_staff_id'))
        batch_op.drop_index(batch_op.f('ix_platform_identity_participant_id'))
        batch_op.drop_index(batch_op.f('ix_platform_identity_match_key'))

    op.drop_table('platform_identity')
    with op.batch_alter_table('group_roster', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_group_roster_group_id'))

    op.drop_table('group_roster')
