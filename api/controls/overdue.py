"""Announcing overdue controls: `control.overdue` once for each due date a control passes unchecked.

Run by the webhook worker on the compliance watch's interval (time, not a write, makes a control overdue).
A control never checked is due from the day it was added to the register. What was announced is kept on the
control (`overdue_announced_for`), so each due date is announced once, and a new check moves the due date on.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from api import clock
from api.controls.models import Control, ControlCheck
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent


def announce_overdue(session: Session) -> int:
    """Announce each control in force that is past its due date and not yet announced for that date; commit.
    Returns how many were announced. Three statements however many controls."""
    today = clock.today()
    controls = session.exec(
        select(Control)
        .where(sa.or_(col(Control.ended_on).is_(None), col(Control.ended_on) > today))
        .order_by(col(Control.code))
        .with_for_update()
    ).all()
    last: dict[uuid.UUID, date] = {
        row[0]: row[1]
        for row in session.execute(
            sa.select(col(ControlCheck.control_id), sa.func.max(col(ControlCheck.performed_on)))
            .where(col(ControlCheck.performed_on) <= today)
            .group_by(col(ControlCheck.control_id))
        ).all()
    }
    events = []
    for c in controls:
        checked = last.get(c.id)
        start = checked if checked is not None else clock.day_of(c.created_at)
        due = start + timedelta(days=c.cadence_days)
        if today > due and c.overdue_announced_for != due:
            c.overdue_announced_for = due
            session.add(c)
            events.append({"control_id": c.id, "due_on": due, "days_overdue": (today - due).days})
    webhooks.emit_many(session, WebhookEvent.control_overdue, events)
    session.commit()
    return len(events)
