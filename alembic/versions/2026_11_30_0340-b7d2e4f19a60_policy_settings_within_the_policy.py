"""policy settings within the policy

Revision ID: b7d2e4f19a60
Revises: 56d97493b4f6
Create Date: 2026-11-30 03:40:00

A saved threshold outside the bounds that keep the policy's words (api/policy/models.py BOUNDS) is moved to
the nearest bound: the service no longer accepts it, and could not answer with it. Only the one settings
row changes; its version is bumped so an If-Match read before the upgrade is refused rather than
overwriting the corrected values.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b7d2e4f19a60"
down_revision: str | None = "56d97493b4f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The bounds as they were when this migration was written (a migration must not follow later code).
BOUNDS = {
    "min_group_admins": (2, 20),
    "review_interval_days": (1, 365),
    "risk_assessment_valid_days": (1, 730),
    "training_valid_days": (1, 1095),
    "self_consent_min_age": (13, 25),
    "parent_notification_days": (0, 14),
}


def upgrade() -> None:
    settings = sa.table("policy_settings", *(sa.column(name, sa.Integer) for name in (*BOUNDS, "version")))
    outside = sa.or_(*(sa.or_(settings.c[n] < low, settings.c[n] > high) for n, (low, high) in BOUNDS.items()))
    op.execute(
        settings.update()
        .where(outside)
        .values(
            version=settings.c.version + 1,
            **{
                n: sa.case((settings.c[n] < low, low), (settings.c[n] > high, high), else_=settings.c[n])
                for n, (low, high) in BOUNDS.items()
            },
        )
    )


def downgrade() -> None:
    # The values that were outside the policy are not kept; the corrected ones are valid before this too.
    pass
