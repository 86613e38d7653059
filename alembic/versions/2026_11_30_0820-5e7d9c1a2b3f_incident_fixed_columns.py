"""incident: only the headline, the status and the row's version may change

Revision ID: 5e7d9c1a2b3f
Revises: ca404c66d266
Create Date: 2026-11-30 08:20:00

On PostgreSQL, a trigger on `incident` refuses DELETE and TRUNCATE, and an UPDATE that changes anything but
what the application itself updates: the headline a correction may change (category, severity, summary,
group_id, rule_ids: api/incidents/models.py HEADLINE), what a transition writes (status, outcome,
outcome_summary, closed_at), and the row's version and updated_at. So the reporter's
`details`, `reported_by_id`, `occurred_at` and the creation columns (and any column added later, unless a
migration lets it in) cannot be rewritten by a compromised application account or a psql session: the
README says an incident's details never change (issue 11).

SQLite: nothing (as for the append-only tables). Downgrade drops the triggers and the function.
"""
from collections.abc import Sequence

from alembic import op


revision: str = '5e7d9c1a2b3f'
down_revision: str | None = 'ca404c66d266'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What the application updates on an incident (corrections, transitions, the row's bookkeeping).
MAY_CHANGE = (
    "ARRAY['category', 'severity', 'summary', 'group_id', 'rule_ids', "
    "'status', 'outcome', 'outcome_summary', 'closed_at', 'version', 'updated_at']"
)

FUNCTION = f"""
CREATE FUNCTION incident_fixed_columns() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION '% on incident refused: incidents are never deleted', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF (to_jsonb(NEW) - {MAY_CHANGE}) IS DISTINCT FROM (to_jsonb(OLD) - {MAY_CHANGE}) THEN
        RAISE EXCEPTION 'UPDATE on incident % refused: only its headline and status may change', OLD.id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(FUNCTION)
    op.execute(
        'CREATE TRIGGER incident_fixed_columns BEFORE UPDATE OR DELETE ON incident '
        'FOR EACH ROW EXECUTE FUNCTION incident_fixed_columns()'
    )
    op.execute(
        'CREATE TRIGGER incident_no_truncate BEFORE TRUNCATE ON incident '
        'FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()'
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP TRIGGER incident_no_truncate ON incident')
    op.execute('DROP TRIGGER incident_fixed_columns ON incident')
    op.execute('DROP FUNCTION incident_fixed_columns()')
