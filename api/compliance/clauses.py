"""The policy's sentences, verbatim, with stable ids.

The policy has no numbering, so ids were assigned once here and are never reused or renumbered: findings,
incidents and other systems cite them. A test checks that every text appears in the policy file (compared
with bullets and line breaks folded into single spaces, as `normalise` does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Clause:
    id: str
    text: str


def normalise(text: str) -> str:
    """Fold list bullets and line breaks into single spaces: the policy wraps sentences across lines."""
    lines = (re.sub(r"^\s*-\s+", "", line) for line in text.splitlines())
    return " ".join(" ".join(lines).split())


_CLAUSES = (
    Clause(
        "SCOPE-ALL-STAFF",
        "This policy and the procedures that it underpins apply to all staff, including senior managers and "
        "the board of trustees, paid staff, volunteers and sessional workers, agency staff, students and "
        "anyone working on behalf of More Music.",
    ),
    Clause(
        "AIM-WELFARE-PARAMOUNT",
        "The welfare of the children/young people who come into contact with our services is paramount and "
        "governs our approach to the use and management of electronic communications technologies",
    ),
    Clause(
        "PROMOTE-COORDINATOR",
        "Appointing an e-safety coordinator to ensure online standards of behaviour are maintained. This "
        "person should be included in all groups used for More Music projects",
    ),
    Clause(
        "PROMOTE-CODES-OF-CONDUCT",
        "Incorporating statements about safe and appropriate ICT use into the codes of conduct both for "
        "staff and volunteers and for children and young people",
    ),
    Clause(
        "PROMOTE-ESAFETY-AGREEMENT",
        "Developing an e-safety agreement for use with young people and their carers",
    ),
    Clause(
        "PROMOTE-DEAL-WITH-INCIDENTS",
        "Using our procedures to deal firmly, fairly and decisively with any examples of inappropriate ICT "
        "use, complaints or allegations, whether by an adult or a child/young person (these may include "
        "breaches of filtering, illegal use, cyberbullying, or use of ICT to groom a child or to perpetrate "
        "abuse)",
    ),
    Clause(
        "PROMOTE-LOGINS",
        "Ensuring that user names, logins and passwords are used effectively",
    ),
    Clause(
        "PROMOTE-OFFICIAL-EMAIL",
        "Using only official email accounts provided via the organization to communicate with young and "
        "vulnerable people or via supervised forums such as Facebook groups, and monitoring these as "
        "necessary",
    ),
    Clause(
        "PROMOTE-IMAGE-PERMISSION",
        "Ensuring that images of children, young people and families are used only after their Permission "
        "has been obtained, and only for the purpose for which consent has been given (ie used in More Music "
        "promotional material and websites)",
    ),
    Clause(
        "PROMOTE-RISK-ASSESS-TOOLS",
        "Social media tools used in the course of our work with children, young people and families must be "
        "risk assessed in advance by the member of staff wishing to use them; ensuring staff are aware of "
        "privacy features and online codes of conduct",
    ),
    Clause(
        "PROMOTE-TRAINING",
        "Providing effective management for staff and volunteers on ICT issues, through supervision, support "
        "and training",
    ),
    Clause(
        "REC-FB-TWO-ADMINS",
        "All More Music Facebook groups must have at least two current members of staff as admin officers",
    ),
    Clause(
        "REC-CODE-OF-CONDUCT",
        "All staff who use social media as part of their work should sign a code of conduct document",
    ),
    Clause(
        "REC-COMMUNICATE-VIA-GROUPS",
        "More Music staff can only communicate with young and vulnerable people via Facebook through groups, "
        "where messages can be seen by all members of the group, or via their More Music email account",
    ),
    Clause(
        "REC-FB-CLOSED-ADMIN-APPROVAL",
        "All Facebook groups must be set as closed and only admins can approve new members to the group.",
    ),
    Clause(
        "REC-PERIODIC-REVIEW",
        "Groups should be periodically reviewed to ensure people who no longer take part in projects are "
        "removed (ie staff no longer employed by the organisation, young people who are too old to take part "
        "in the session)",
    ),
)

CLAUSES: dict[str, Clause] = {c.id: c for c in _CLAUSES}


def clause(clause_id: str) -> Clause:
    """The clause with this id; a rule citing one that does not exist fails at import (KeyError)."""
    return CLAUSES[clause_id]
