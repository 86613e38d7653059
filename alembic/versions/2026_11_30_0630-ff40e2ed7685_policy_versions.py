"""policy versions

Revision ID: ff40e2ed7685
Revises: c4f1a7e2b9d3
Create Date: 2026-11-30 06:30:00

The policy as versioned text: policy_version (each version's full text, the day it takes effect, the day it
was published) and policy_clause (each sentence of a version under its stable clause id). Loads version 1:
the policy file shipped in api/policy and the clause ids of api.policy.clauses, one row per sentence,
in force since 2000-01-01 (before any record the service keeps). Downgrade drops both tables.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import api.db

revision: str = "ff40e2ed7685"
down_revision: str | None = "c4f1a7e2b9d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEED_TEXT = Path(api.db.__file__).resolve().parent / "policy" / "esafety-policy-v1.txt"
SEED_ON = date(2000, 1, 1)


def upgrade() -> None:
    version = op.create_table(
        "policy_version",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("summary", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("published_by_label", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_version")),
        sa.UniqueConstraint("number", name=op.f("uq_policy_version_number")),
    )
    clause = op.create_table(
        "policy_clause",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("clause_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("section", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["policy_version.id"], name=op.f("fk_policy_clause_version_id_policy_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policy_clause")),
        sa.UniqueConstraint("version_id", "clause_id", name=op.f("uq_policy_clause_version_clause")),
        sa.UniqueConstraint("version_id", "position", name=op.f("uq_policy_clause_version_position")),
    )
    with op.batch_alter_table("policy_clause", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_clause_version_id"), ["version_id"], unique=False)

    # Version 1: the ids were assigned once, sentence by sentence, in api.policy.clauses (a test holds
    # them to the file's sentences in order); the sections come from reading the file.
    from api.policy.clauses import CLAUSES
    from api.policy.text import sentences

    text = SEED_TEXT.read_text()
    read = sentences(text)
    ids = list(CLAUSES)
    if [s.text for s in read] != [CLAUSES[i].text for i in ids]:
        raise RuntimeError("the seed policy's sentences no longer match api.policy.clauses")
    now = datetime.now(UTC)
    version_id = uuid.uuid4()
    op.bulk_insert(
        version,
        [
            {
                "id": version_id,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "number": 1,
                "effective_on": SEED_ON,
                "published_on": SEED_ON,
                "text": text,
                "summary": "The policy as it stood when versions began to be kept.",
                "published_by_label": "seed",
            }
        ],
    )
    op.bulk_insert(
        clause,
        [
            {
                "id": uuid.uuid4(),
                "version_id": version_id,
                "clause_id": cid,
                "position": i + 1,
                "section": s.section,
                "text": s.text,
            }
            for i, (cid, s) in enumerate(zip(ids, read, strict=True))
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("policy_clause", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_clause_version_id"))

    op.drop_table("policy_clause")
    op.drop_table("policy_version")
