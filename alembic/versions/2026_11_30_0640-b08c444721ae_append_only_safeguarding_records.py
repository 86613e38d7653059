"""append-only safeguarding records

Revision ID: b08c444721ae
Revises: 9aacb169fd0a
Create Date: 2026-11-30 06:40:00

On PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE on the safeguarding records the application only
ever appends to: the audit log, an incident's chronology (entries, transitions, corrections, parent and
carer notifications, referrals), its view log, and consents, of which only the withdrawal may be written
once (withdrawn_on from NULL to a day, withdrawal_reason, and the row's version and updated_at). So neither
a compromised application account nor a manual psql session can quietly rewrite the record (issue 11). A
later migration that must rewrite one of these tables disables its trigger for that step and says why.

SQLite: nothing (a file anyone who can write can rewrite; the application's own rules still hold).
Downgrade drops the triggers and their functions.
"""
from collections.abc import Sequence

from alembic import op


revision: str = 'b08c444721ae'
down_revision: str | None = '9aacb169fd0a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Append-only outright. The consent table has its own trigger below.
APPEND_ONLY = (
    'audit_event',
    'incident_entry',
    'incident_transition',
    'incident_correction',
    'incident_notification',
    'incident_referral',
    'incident_view',
)
# The columns a withdrawal writes; every other column of a consent stays as it was inserted.
WITHDRAWAL = "ARRAY['withdrawn_on', 'withdrawal_reason', 'version', 'updated_at']"

REFUSE = """
CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% on % refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

CONSENT = f"""
CREATE FUNCTION consent_withdrawal_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION '% on consent refused: a consent is never changed, only withdrawn', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.withdrawn_on IS NOT NULL OR NEW.withdrawn_on IS NULL THEN
        RAISE EXCEPTION 'UPDATE on consent % refused: only a withdrawal, once, may be recorded', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - {WITHDRAWAL}) IS DISTINCT FROM (to_jsonb(OLD) - {WITHDRAWAL}) THEN
        RAISE EXCEPTION 'UPDATE on consent % refused: a withdrawal changes nothing else', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(REFUSE)
    op.execute(CONSENT)
    for table in APPEND_ONLY:
        op.execute(
            f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} '
            'FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()'
        )
        op.execute(
            f'CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} '
            'FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()'
        )
    op.execute(
        'CREATE TRIGGER consent_withdrawal_only BEFORE UPDATE OR DELETE ON consent '
        'FOR EACH ROW EXECUTE FUNCTION consent_withdrawal_only()'
    )
    op.execute(
        'CREATE TRIGGER consent_no_truncate BEFORE TRUNCATE ON consent '
        'FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()'
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP TRIGGER consent_no_truncate ON consent')
    op.execute('DROP TRIGGER consent_withdrawal_only ON consent')
    for table in APPEND_ONLY:
        op.execute(f'DROP TRIGGER {table}_no_truncate ON {table}')
        op.execute(f'DROP TRIGGER {table}_append_only ON {table}')
    op.execute('DROP FUNCTION consent_withdrawal_only()')
    op.execute('DROP FUNCTION refuse_append_only_change()')
