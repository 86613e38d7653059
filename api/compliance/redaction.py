"""Redaction of an evaluation for the caller's reach: what of a report a caller may read (young people,
roster contents, others' declarations), decided from their `Reach` in one place for every report."""

from __future__ import annotations

from sqlmodel import Session, col, select

from api.auth.reach import Reach, Record
from api.compliance import roster_reach
from api.compliance.declarations import redact as redact_declarations
from api.compliance.engine import (
    Evaluation,
    redact_hidden_roster_matches,
    redact_participants,
    redact_rosters,
)
from api.participants.models import Participant


def redact_for(session: Session, reach: Reach, evaluation: Evaluation) -> Evaluation:
    """Children's names only for callers who may see those children today (their `Reach`): none for those
    who reach no participant (trustees), all for those who reach every one, and otherwise only the
    children in reach today, so that an `as_of` in the past cannot show a child who has since moved out.
    Who is on a platform's member list only for callers who read rosters' contents (trustees: the counts).
    What a member of staff declared only to themselves and to callers who read every declaration (the
    coordinator); anyone else sees whether a current declaration stands (`redact_declarations`)."""
    if not reach.reads(Record.roster) or reach.reads_counts_only(Record.roster):
        evaluation = redact_rosters(evaluation)
    if not reach.reads_every(Record.declaration):
        own = reach.caller.staff_id if reach.reads_declaration_answers(reach.caller.staff_id) else None
        evaluation = redact_declarations(evaluation, own)
    if not reach.reads(Record.participant):
        return redact_participants(evaluation)
    if reach.reads_every(Record.participant):
        return evaluation
    # Earlier lists too: their counts, as stored, differ from the caller's roster view (issue 16 F3).
    hidden_rosters = roster_reach.rosters_matching_hidden(session, reach, evaluation)
    named = {e.id for f in evaluation.findings for e in f.evidence if e.type == "participant"}
    if not named and not hidden_rosters:
        return evaluation
    reachable = (
        set(
            session.exec(
                select(col(Participant.id)).where(
                    col(Participant.id).in_(named), reach.participants(Participant.id)
                )
            ).all()
        )
        if named
        else set()
    )
    evaluation = redact_hidden_roster_matches(evaluation, named - reachable, hidden_rosters)
    return redact_participants(evaluation, keep=reachable)
