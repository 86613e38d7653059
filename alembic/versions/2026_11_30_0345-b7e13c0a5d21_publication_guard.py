"""publication guard: personal contact details, phones in E.164, a per-user rate window

Revision ID: b7e13c0a5d21
Revises: b7d2e4f19a60
Create Date: 2026-11-30 03:45:00

Adds the young person's own email and phone, and a member of staff's personal (non-official) email and
phone, so the publication check can protect them; indexes (updated_at, version) so it can tell cheaply
whether anyone's details changed; stores every phone number in E.164 (region GB), as the
API now writes them; and counts publication checks per user and minute.

The data step reads phonenumbers directly rather than the app's code, so this migration means the same
thing whatever the app becomes. Downgrade keeps the numbers in E.164: the forms they were typed in are gone.
"""

from collections.abc import Sequence

import phonenumbers
import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op


revision: str = "b7e13c0a5d21"
down_revision: str | None = "b7d2e4f19a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _e164(value: str) -> str:
    try:
        number = phonenumbers.parse(value.strip(), "GB")
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def upgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
        batch_op.add_column(sa.Column("personal_phone", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True))
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("personal_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True))
        batch_op.add_column(sa.Column("personal_phone", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True))
    for table in ("participant", "consent", "staff"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_updated_at_version", ["updated_at", "version"], unique=False)
    op.create_table(
        "user_rate_window",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("window_minute", sa.Integer(), nullable=False),
        sa.Column("request_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_user_rate_window_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("user_id", "action", name=op.f("pk_user_rate_window")),
    )
    # Only the number changes: version and updated_at stay, as the record's facts have not changed.
    participant = sa.table("participant", sa.column("id", sa.Uuid()), sa.column("carer_phone", sa.String()))
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(participant.c.id, participant.c.carer_phone).where(participant.c.carer_phone.is_not(None))
    ).all()
    for row_id, phone in rows:
        normalised = _e164(phone)
        if normalised != phone:
            bind.execute(
                sa.update(participant).where(participant.c.id == row_id).values(carer_phone=normalised)
            )


def downgrade() -> None:
    op.drop_table("user_rate_window")
    for table in ("participant", "consent", "staff"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_updated_at_version")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("personal_phone")
        batch_op.drop_column("personal_email")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("personal_phone")
        batch_op.drop_column("personal_email")
