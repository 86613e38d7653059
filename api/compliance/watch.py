"""Announcing compliance changes: `group.compliance_changed` whenever a group's status is not the one last
announced for it.

A group's status moves for two kinds of reason: something is written (a member added, a review recorded, an
incident reported) or time passes (a review falls due, a consent or a waiver expires, a child reaches an
age). So the comparison is against a stored status, never against "what the write changed", and it runs:

- after each write to a group's own records (its service publishes `events.GroupFactsChanged` after its
  commit; `after_write` below listens) (memberships, the group, its reviews and risk assessments,
  incidents on it, waivers): one group, about ten queries, so the alert leaves with the change; and
- on an interval in the webhook worker (`compliance_watch_seconds`) for every active group, which catches
  what time changes and what person-level writes change (a member of staff's training or leaving date, a
  participant's details, a consent): those can touch many groups at once, and working out which on every
  such write would slow the writes that integrations push in bulk; the interval bounds the delay instead.

A group seen for the first time is recorded without an announcement (its "before" is unknown), so turning
the watch on, or adding a group, does not send an event per group.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from api import clock, events
from api.compliance import history, service
from api.compliance.models import ComplianceWatchRun, GroupComplianceState, Status
from api.db import utcnow
from api.events import GroupFactsChanged
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    group_id: uuid.UUID
    before: Status
    after: Status


def announce_compliance_changes(
    session: Session, group_ids: Iterable[uuid.UUID] | None = None, *, as_of: date | None = None
) -> list[Change]:
    """Evaluate the given groups (every active group if None), announce each whose status differs from the
    one last announced, store the new statuses, and commit. A fixed number of queries, however many groups.
    """
    day = as_of or clock.today()
    ids = None if group_ids is None else sorted(set(group_ids))
    if ids is not None and not ids:
        return []
    stored_query = select(GroupComplianceState).order_by(col(GroupComplianceState.group_id))
    if ids is not None:
        stored_query = stored_query.where(col(GroupComplianceState.group_id).in_(ids))
    # Lock the stored statuses first (PostgreSQL; SQLite serialises writers): a second announcer waits, then
    # evaluates after this one committed and finds nothing left to announce, so no change is sent twice.
    # Read afresh, never from the session's memory of an earlier pass (the bulk UPDATE below bypasses it).
    locked = stored_query.with_for_update().execution_options(populate_existing=True)
    stored = {row.group_id: row for row in session.exec(locked).all()}
    evaluations = service.group_evaluations(session=session, as_of=day, group_ids=ids)
    now = {group_id: ev.status for group_id, ev in evaluations.items()}

    changes = [
        Change(group_id, stored[group_id].status, status)
        for group_id, status in now.items()
        if group_id in stored and stored[group_id].status is not status
    ]
    at = utcnow()
    webhooks.emit_many(
        session,
        WebhookEvent.group_compliance_changed,
        [{"group_id": c.group_id, "before": c.before, "after": c.after, "as_of": day} for c in changes],
        now=at,
    )
    if changes:
        # One executemany for every changed row.
        session.execute(
            sa.update(GroupComplianceState),
            [{"group_id": c.group_id, "status": c.after, "as_of": day, "updated_at": at} for c in changes],
        )
    first_seen = [
        {"group_id": group_id, "status": status, "as_of": day, "updated_at": at}
        for group_id, status in now.items()
        if group_id not in stored
    ]
    if first_seen:
        # A group first seen by two announcers at once is recorded by whichever commits first; the other
        # skips it rather than failing its whole pass.
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(GroupComplianceState).values(first_seen).on_conflict_do_nothing())
    # The history of what was found (api/compliance/history.py), written with the announcements.
    history.record(session, evaluations, day, every=ids is None)
    if ids is None:
        _record_run(session, at, groups=len(evaluations), changes=len(changes))
    session.commit()
    return changes


def _record_run(session: Session, at: datetime, *, groups: int, changes: int) -> None:
    """Note that a pass over every group finished (for /metrics): one upsert of one row."""
    values = {
        "watch": "interval",
        "finished_at": at,
        "groups_evaluated": groups,
        "changes_announced": changes,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(ComplianceWatchRun).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["watch"], set_={k: statement.excluded[k] for k in values if k != "watch"}
        )
    )


def after_write(session: Session, group_ids: Iterable[uuid.UUID | None]) -> None:
    """Announce the groups a committed write touched. The write stands whatever happens here: a failure is
    logged and left to the worker's next interval pass, which compares with the same stored status."""
    ids = [g for g in group_ids if g is not None]
    if not ids:
        return
    try:
        announce_compliance_changes(session, ids)
    except Exception:
        session.rollback()
        log.exception("announcing compliance changes for groups %s failed; the interval pass will retry", ids)


def _on_group_facts_changed(session: Session, event: GroupFactsChanged) -> None:
    after_write(session, event.group_ids)


events.subscribe(GroupFactsChanged, _on_group_facts_changed)
