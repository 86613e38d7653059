"""The policy's sentences as they stood in version 1, verbatim, with stable ids.

The policy has no numbering, so ids were assigned once here, one per sentence, and are never reused or
renumbered: findings, incidents, the coverage map and other systems cite them. This tuple is version 1 of
the policy as data (the migration that creates the policy tables loads it); later versions are published
through the API (`api/policy/versions.py`), keeping these ids for the sentences they keep or reword. Rules
cite the ids; a finding quotes the words of the version in force on its `as_of`. A test checks that every
text here is a sentence of the policy file, in order (`api.policy.text.sentences`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)  # no slots: served by orjson (api/compliance/service.py)
class Clause:
    id: str
    text: str


def normalise(text: str) -> str:
    """Fold list bullets and line breaks into single spaces: the policy wraps sentences across lines."""
    lines = (re.sub(r"^\s*-\s+", "", line) for line in text.splitlines())
    return " ".join(" ".join(lines).split())


# Every sentence of version 1, in the policy's order.
_CLAUSES = (
    Clause(
        "SCOPE-ALL-STAFF",
        "This policy and the procedures that it underpins apply to all staff, including senior managers and "
        "the board of trustees, paid staff, volunteers and sessional workers, agency staff, students and "
        "anyone working on behalf of More Music.",
    ),
    Clause(
        "AIM-PROTECT",
        "Protect children and young people who receive More Music's services and who make use of information "
        "technology (such as the Internet) as part of their involvement with us",
    ),
    Clause(
        "AIM-PRINCIPLES",
        "Provide staff and volunteers with the overarching principles that guide our approach to e- safety",
    ),
    Clause(
        "AIM-LAWFUL",
        "Ensure that, as an organisation, we operate in line with our values and within the law in terms of "
        "how we use information technology.",
    ),
    Clause(
        "AIM-WELFARE-PARAMOUNT",
        "The welfare of the children/young people who come into contact with our services is paramount and "
        "governs our approach to the use and management of electronic communications technologies",
    ),
    Clause(
        "RECOGNISE-EQUAL-PROTECTION",
        "All children, regardless of age, disability, gender, racial heritage, religious belief, sexual "
        "orientation or identity, have the right to equal protection from all types of harm or abuse",
    ),
    Clause(
        "RECOGNISE-PARTNERSHIP",
        "Working in partnership with children, young people, their parents, carers and other agencies is "
        "essential in promoting young people's welfare and in helping young people to be responsible in their"
        " approach to e- safety",
    ),
    Clause(
        "RECOGNISE-ICT-ESSENTIAL",
        "The use of information technology is an essential part of all our lives.",
    ),
    Clause(
        "RECOGNISE-ICT-INFORMATION",
        "It is involved in how we as an organisation gather and store information, as well as how we "
        "communicate with each other.",
    ),
    Clause(
        "RECOGNISE-ICT-BENEFICIAL",
        "It is also an intrinsic part of the experience of our children and young people, and is greatly "
        "beneficial to all.",
    ),
    Clause(
        "RECOGNISE-ICT-CHALLENGES",
        "However, it can present challenges in terms of how we use it responsibly and, if misused either by "
        "an adult or a young person, can be actually or potentially harmful to them.",
    ),
    Clause(
        "PROMOTE-COORDINATOR",
        "Appointing an e-safety coordinator to ensure online standards of behaviour are maintained.",
    ),
    Clause(
        "PROMOTE-COORDINATOR-IN-GROUPS",
        "This person should be included in all groups used for More Music projects",
    ),
    Clause(
        "PROMOTE-PROCEDURES",
        "Developing a range of procedures that provide clear and specific directions to staff and volunteers "
        "on the appropriate use of ICT; in particular the use of social networking as a communication tool "
        "with young and vulnerable people",
    ),
    Clause(
        "PROMOTE-YOUNG-PEOPLE-SAFE",
        "Supporting and encouraging the young people using our service to use the opportunities offered by "
        "mobile phone technology and the internet in a way that keeps themselves safe and shows respect for "
        "others",
    ),
    Clause(
        "PROMOTE-PARENTS-SAFE",
        "Supporting and encouraging parents and carers to do what they can to keep their children safe online"
        " and when using their mobile phones",
    ),
    Clause(
        "PROMOTE-CODES-OF-CONDUCT",
        "Incorporating statements about safe and appropriate ICT use into the codes of conduct both for staff"
        " and volunteers and for children and young people",
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
        "PROMOTE-INFORM-PARENTS",
        "Informing parents and carers of incidents of concern as appropriate",
    ),
    Clause(
        "PROMOTE-SECURITY-REVIEW",
        "Reviewing and updating the security of our information systems regularly",
    ),
    Clause(
        "PROMOTE-PHYSICAL-SECURITY",
        "Providing adequate physical security for ICT equipment",
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
        "PROMOTE-NOT-PUBLISHED",
        "Ensuring that the personal information of staff, volunteers and service users (including service "
        "users' names) are not published on our website",
    ),
    Clause(
        "PROMOTE-IMAGE-PERMISSION",
        "Ensuring that images of children, young people and families are used only after their Permission has"
        " been obtained, and only for the purpose for which consent has been given (ie used in More Music "
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
        "PROMOTE-ASSESS-NEW-TECHNOLOGY",
        "Examining and risk assessing any emerging new technologies before they are used within the "
        "organisation.",
    ),
    Clause(
        "REC-FB-TWO-ADMINS",
        "All More Music Facebook groups must have at least two current members of staff as admin officers",
    ),
    Clause(
        "REC-NO-PERSONAL-MESSAGES",
        "More Music staff must not use their personal Facebook accounts to communicate with young or "
        "vulnerable people via chat or personal message, only through groups where messages can be seen by "
        "all group members",
    ),
    Clause(
        "REC-NO-YOUNG-FRIENDS",
        "More Music staff must not have young or vulnerable people as friends on their personal Facebook "
        "profile.",
    ),
    Clause(
        "REC-PROFILE-PRIVATE",
        "Staff must set their Facebook profile privacy settings so their content can only be seen by friends",
    ),
    Clause(
        "REC-CODE-OF-CONDUCT",
        "All staff who use social media as part of their work should sign a code of conduct document",
    ),
    Clause(
        "REC-POLICY-DISPLAYED",
        "Our social media policy should be displayed in the tech room and young people should be made aware "
        "of it",
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
    Clause(
        "REC-NO-TWITTER-FOLLOWING",
        "More Music staff will not use your personal Twitter account to become a follower of young or "
        "vulnerable people or encourage them to follow you.",
    ),
    Clause(
        "REC-MAY-LIKE-BANDS",
        "More Music staff can 'like' the pages of young people's bands and music as this does not give them "
        "access to your personal information if your profile's privacy settings are correctly applied",
    ),
)

CLAUSES: dict[str, Clause] = {c.id: c for c in _CLAUSES}


def clause(clause_id: str) -> Clause:
    """The clause with this id; a rule citing one that does not exist fails at import (KeyError)."""
    return CLAUSES[clause_id]
