"""Which member lists cited in a compliance finding match a young person outside the caller's reach.

A roster shows such an entry to the caller exactly as an unknown one (api.rosters.service.view), so its
counts as they see them differ from the stored ones; a finding that states the stored counts of that list
(the latest list's, or the "earlier lists" still waiting for an answer) would tell them which entry is a
child of the charity. `api.compliance.engine.redact_hidden_roster_matches` reduces every finding citing one
of these lists to the neutral message, as for the latest list.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel import Session

from api.auth.reach import Reach, Record
from api.compliance.engine import Evaluation
from api.rosters.models import Match, RosterEntry

_E = RosterEntry.__table__.c  # type: ignore[attr-defined]


def rosters_matching_hidden(session: Session, reach: Reach, evaluation: Evaluation) -> set[uuid.UUID]:
    """The rosters cited as evidence (`roster`) with an entry matched (certain or probable) to a young
    person the caller does not read today: one statement, none for a caller who reads every young person
    or when no roster is cited."""
    if reach.reads_every(Record.participant):
        return set()
    cited = {e.id for f in evaluation.findings for e in f.evidence if e.type == "roster" and e.id}
    if not cited:
        return set()
    rows = session.execute(
        sa.select(_E.roster_id)
        .where(
            _E.roster_id.in_(cited),
            _E.participant_id.is_not(None),
            _E.match != Match.unknown.value,
            sa.not_(reach.participants(_E.participant_id)),
        )
        .distinct()
    ).all()
    return {r[0] for r in rows}
