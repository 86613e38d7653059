"""identity keys without transliteration: an identity's match key keeps letters as they are

Handles and email addresses were folded to ASCII for matching, so a look-alike (a Cyrillic "а" for a Latin
"a", an internationalised domain) or an accented address matched another person's for certain. Keys are
now only case and width folded (api/identities/normalise.py); this recomputes the stored key of every
identity whose value is not plain ASCII (the keys of ASCII values are unchanged). Downgrade leaves the keys
as they are: the stricter keys only ever match less.

Revision ID: 4c1d2e3f5a6b
Revises: 1885aabe2389
Create Date: 2026-11-30 06:30:00.000000

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '4c1d2e3f5a6b'
down_revision: str | None = '1885aabe2389'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The keys are the code's own (this release's); a later change to them brings its own migration.
    from api.identities.normalise import IdentityKind, key

    identity = sa.table(
        'platform_identity', sa.column('id', sa.Uuid()), sa.column('kind'), sa.column('value'),
        sa.column('match_key'),
    )
    conn = op.get_bind()
    for row in conn.execute(sa.select(identity.c.id, identity.c.kind, identity.c.value)).all():
        if row.value.isascii():
            continue
        new = key(IdentityKind(row.kind), row.value)
        if new is not None:
            conn.execute(sa.update(identity).where(identity.c.id == row.id).values(match_key=new))


def downgrade() -> None:
    pass
