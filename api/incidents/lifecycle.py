"""The incident lifecycle as data: which status may follow which."""

from __future__ import annotations

from api.incidents.models import IncidentStatus

S = IncidentStatus

ALLOWED: dict[IncidentStatus, tuple[IncidentStatus, ...]] = {
    S.reported: (S.triaged,),
    S.triaged: (S.investigating,),
    S.investigating: (S.action_taken,),
    S.action_taken: (S.closed,),
    # A reopened incident goes back under investigation; its earlier transitions stay in the history.
    S.closed: (S.investigating,),
}


def allowed_from(status: IncidentStatus) -> tuple[IncidentStatus, ...]:
    return ALLOWED[status]
