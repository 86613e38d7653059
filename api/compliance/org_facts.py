"""The organisation's own facts for its rules: the controls register with its checks, and the technology
register with its assessments, as they stood on `as_of`. Four statements whatever the sizes (few rows)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from api import clock
from api.compliance.snapshot import (
    CheckFacts,
    ControlFacts,
    StaffFacts,
    TechnologyAssessmentFacts,
    TechnologyFacts,
)
from api.controls.models import Control, ControlCheck, Technology, TechnologyAssessment
from api.db import table_of

CONTROL, CHECK = table_of(Control), table_of(ControlCheck)
TECHNOLOGY, ASSESSMENT = table_of(Technology), table_of(TechnologyAssessment)


def load(
    session: Session, as_of: date, staff: Mapping[uuid.UUID, StaffFacts]
) -> tuple[tuple[ControlFacts, ...], tuple[TechnologyFacts, ...]]:
    """Controls not ended on `as_of` (owners taken from `staff`, every staff record's facts) with their
    checks made and recorded by then, and every technology with its assessments recorded by then (the rule
    reads their claimed and recorded dates) and its retirement if recorded by then."""
    conn = session.connection()
    # A check or an assessment counts on `as_of` only once it was recorded by the end of that day: one
    # entered later with an earlier date cannot change what the record showed then (as rosters, issue 16).
    # Both in recording order: the rules take, of several on one day, the one recorded last (issue 15).
    known_by = clock.start_of(as_of + timedelta(days=1))
    checks: dict[uuid.UUID, list[CheckFacts]] = defaultdict(list)
    for r in conn.execute(
        sa.select(CHECK.c.control_id, CHECK.c.id, CHECK.c.performed_on, CHECK.c.result, CHECK.c.follow_up)
        .where(CHECK.c.performed_on <= as_of, CHECK.c.created_at < known_by)
        .order_by(CHECK.c.created_at, CHECK.c.id)
    ).all():
        checks[r[0]].append(CheckFacts(r[1], r[2], r[3] == "issues_found", r[4] is not None))
    controls = tuple(
        ControlFacts(r[0], r[1], r[2], staff.get(r[3]) if r[3] else None, r[4], r[5], tuple(checks[r[0]]))
        for r in conn.execute(
            sa.select(
                CONTROL.c.id,
                CONTROL.c.code,
                CONTROL.c.name,
                CONTROL.c.owner_id,
                CONTROL.c.cadence_days,
                CONTROL.c.warn_within_days,
            )
            .where(sa.or_(CONTROL.c.ended_on.is_(None), CONTROL.c.ended_on > as_of))
            .order_by(CONTROL.c.code)
        ).all()
    )
    assessments: dict[uuid.UUID, list[TechnologyAssessmentFacts]] = defaultdict(list)
    for a in conn.execute(
        sa.select(
            ASSESSMENT.c.technology_id,
            ASSESSMENT.c.id,
            ASSESSMENT.c.assessed_on,
            ASSESSMENT.c.decision,
            ASSESSMENT.c.created_at,
        )
        .where(ASSESSMENT.c.created_at < known_by)
        .order_by(ASSESSMENT.c.created_at, ASSESSMENT.c.id)
    ).all():
        assessments[a[0]].append(TechnologyAssessmentFacts(a[1], a[2], str(a[3]), clock.day_of(a[4])))
    # A retirement recorded after `as_of` does not count for it: the technology was recorded in use then.
    retired = sa.case(
        (
            sa.or_(TECHNOLOGY.c.retired_recorded_at.is_(None), TECHNOLOGY.c.retired_recorded_at < known_by),
            TECHNOLOGY.c.retired_on,
        ),
        else_=sa.null(),
    )
    technologies = tuple(
        TechnologyFacts(t[0], t[1], t[2], t[3], tuple(assessments[t[0]]))
        for t in conn.execute(
            sa.select(TECHNOLOGY.c.id, TECHNOLOGY.c.name, TECHNOLOGY.c.first_used_on, retired).order_by(
                TECHNOLOGY.c.name, TECHNOLOGY.c.id
            )
        ).all()
    )
    return controls, technologies
