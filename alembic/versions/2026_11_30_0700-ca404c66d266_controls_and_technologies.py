"""controls and technologies

Revision ID: ca404c66d266
Revises: 0fa1deac41ed
Create Date: 2026-11-30 07:00:00

The organisation's recurring controls (control, control_check) and its technology register (technology,
technology_assessment). Seeds the three controls the policy names, with no owner yet (their rules fail
until a coordinator names one and a check is recorded): the information-system security review (every 180
days), the physical security of ICT equipment (every 90 days) and the social media policy on display in the
tech room (every 365 days), each warned of 14 days before it is due. Downgrade drops the four tables.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import api.db

revision: str = "ca404c66d266"
down_revision: str | None = "0fa1deac41ed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEEDED = (
    ("CTL-SECURITY-REVIEW", "Information systems security review", "PROMOTE-SECURITY-REVIEW", 180),
    ("CTL-PHYSICAL-SECURITY", "Physical security of ICT equipment", "PROMOTE-PHYSICAL-SECURITY", 90),
    ("CTL-POLICY-DISPLAYED", "Social media policy displayed in the tech room", "REC-POLICY-DISPLAYED", 365),
)


def upgrade() -> None:
    control = op.create_table(
        "control",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("clause_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("cadence_days", sa.Integer(), nullable=False),
        sa.Column("warn_within_days", sa.Integer(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("overdue_announced_for", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"], name=op.f("fk_control_owner_id_staff")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control")),
        sa.UniqueConstraint("code", name=op.f("uq_control_code")),
    )
    op.create_table(
        "technology",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("first_used_on", sa.Date(), nullable=True),
        sa.Column("retired_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technology")),
    )
    op.create_table(
        "control_check",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("control_id", sa.Uuid(), nullable=False),
        sa.Column("performed_on", sa.Date(), nullable=False),
        sa.Column("performed_by_id", sa.Uuid(), nullable=False),
        sa.Column(
            "result",
            sa.Enum(
                "ok",
                "issues_found",
                name="checkresult",
                native_enum=False,
                create_constraint=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("follow_up", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("evidence_ref", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["control_id"], ["control.id"], name=op.f("fk_control_check_control_id_control")
        ),
        sa.ForeignKeyConstraint(
            ["performed_by_id"], ["staff.id"], name=op.f("fk_control_check_performed_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_control_check")),
    )
    with op.batch_alter_table("control_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_control_check_control_id"), ["control_id"], unique=False)

    op.create_table(
        "technology_assessment",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("technology_id", sa.Uuid(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("assessed_by_id", sa.Uuid(), nullable=False),
        sa.Column("risks", sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=False),
        sa.Column("mitigations", sqlmodel.sql.sqltypes.AutoString(length=10000), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "approved",
                "approved_with_conditions",
                "rejected",
                name="decision",
                native_enum=False,
                create_constraint=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["assessed_by_id"], ["staff.id"], name=op.f("fk_technology_assessment_assessed_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["technology_id"],
            ["technology.id"],
            name=op.f("fk_technology_assessment_technology_id_technology"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_technology_assessment")),
    )
    with op.batch_alter_table("technology_assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_technology_assessment_technology_id"), ["technology_id"], unique=False
        )

    now = datetime.now(UTC)
    op.bulk_insert(
        control,
        [
            {
                "id": uuid.uuid4(),
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "code": code,
                "name": name,
                "clause_id": clause_id,
                "owner_id": None,
                "cadence_days": days,
                "warn_within_days": 14,
                "ended_on": None,
                "overdue_announced_for": None,
            }
            for code, name, clause_id, days in SEEDED
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("technology_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_technology_assessment_technology_id"))

    op.drop_table("technology_assessment")
    with op.batch_alter_table("control_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_control_check_control_id"))

    op.drop_table("control_check")
    op.drop_table("technology")
    op.drop_table("control")
