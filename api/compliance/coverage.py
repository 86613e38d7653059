"""The coverage map: every sentence of the policy in force, and what keeps it.

A sentence is kept by the compliance rules that cite its clause (found from the rule catalog, so a new rule
shows here without an edit), by the workflows that serve it (routes listed below), or by the organisation's
recurring controls that evidence it (the controls register). A sentence no data could show (an aim, a value,
a permission) is an `aspiration`, with the reason. Every other sentence is checkable, and a checkable
sentence kept by nothing is a gap: the counts say how many, and a test fails for any in version 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from pydantic import Field
from sqlmodel import Session, col, select

from api.common import Day, Flag, Whole
from api.compliance.rules import ALL_RULES
from api.compliance.shapes import _Out  # the compliance answers' base: unknown fields refused
from api.compliance.vocabulary import Subject
from api.controls.models import Control
from api.policy import version_service
from api.policy.versions import PolicyClause, PolicyVersion

# Routes that carry out a sentence: the service does it when people use them, rather than checking after.
WORKFLOWS: Mapping[str, tuple[str, ...]] = {
    "PROMOTE-DEAL-WITH-INCIDENTS": (
        "POST /api/v1/incidents",
        "POST /api/v1/incidents/{incident_id}/transitions",
        "POST /api/v1/incidents/{incident_id}/referrals",
    ),
    "PROMOTE-INFORM-PARENTS": ("POST /api/v1/incidents/{incident_id}/notifications",),
    "PROMOTE-NOT-PUBLISHED": ("POST /api/v1/publication-checks",),
    "PROMOTE-IMAGE-PERMISSION": ("POST /api/v1/consent-checks",),
    "PROMOTE-ESAFETY-AGREEMENT": ("POST /api/v1/consents",),
}

# Sentences no record could show kept or broken, and why. A value or an aim is kept by the other sentences'
# rules, not by one of its own.
ASPIRATIONS: Mapping[str, str] = {
    "SCOPE-ALL-STAFF": "Says to whom the policy applies; the staff rules apply it to every staff record, "
    "volunteers, sessional and agency workers and students alike.",
    "AIM-PROTECT": "An aim: the checkable sentences below are how it is pursued.",
    "AIM-PRINCIPLES": "An aim: the principles are the policy itself.",
    "AIM-LAWFUL": "An aim: a value and the law, which no record shows kept or broken.",
    "AIM-WELFARE-PARAMOUNT": "A principle that governs the approach; no record shows it on its own.",
    "RECOGNISE-EQUAL-PROTECTION": "A right the organisation recognises; every rule applies to every child "
    "alike.",
    "RECOGNISE-PARTNERSHIP": "A belief about working together; no record shows it.",
    "RECOGNISE-ICT-ESSENTIAL": "A statement of fact about technology, not a duty.",
    "RECOGNISE-ICT-INFORMATION": "A statement of fact about technology, not a duty.",
    "RECOGNISE-ICT-BENEFICIAL": "A statement of fact about technology, not a duty.",
    "RECOGNISE-ICT-CHALLENGES": "A statement of the risk the policy answers, not a duty.",
    "PROMOTE-PROCEDURES": "An undertaking to write procedures: they are the other sentences, each kept here.",
    "PROMOTE-YOUNG-PEOPLE-SAFE": "Encouragement, whose result is young people's own conduct; the e-safety "
    "agreement and the code of conduct (checked) are how it is done.",
    "PROMOTE-PARENTS-SAFE": "Encouragement of parents and carers at home, outside the service's records.",
    "REC-MAY-LIKE-BANDS": "A permission, not a duty: nothing to enforce.",
}


RULE_ID = "A rule's stable id (`GET /api/v1/compliance/rules`), e.g. `GRP-TWO-STAFF-ADMINS`"
CLAUSE_ID = "The sentence's stable id, kept across policy versions while its sense is kept"


class RuleRef(_Out):
    """A compliance rule that cites the sentence."""

    id: str = Field(description=RULE_ID)
    scope: Subject = Field(description="What the rule judges")
    title: str = Field(description="What the rule asks, in a line")


class ControlRef(_Out):
    """A recurring control whose checks evidence the sentence."""

    id: str = Field(description="The control's code (`GET /api/v1/controls`)")
    name: str = Field(description="The control's name")


class CoverageSentence(_Out):
    """One sentence of the version in force and what keeps it."""

    position: Whole = Field(description="Its place in the policy, from 1")
    section: str = Field(description="The policy's heading it falls under")
    clause_id: str = Field(description=CLAUSE_ID)
    text: str = Field(description="The sentence verbatim")
    checkable: Flag = Field(description="False for an aspiration: no record could show it kept or broken")
    enforced: Flag = Field(description="Checkable, and kept by at least one rule, workflow or control")
    rules: list[RuleRef] = Field(description="The rules that enforce it")
    workflows: list[str] = Field(
        description="The routes that carry it out (`METHOD /path`)", examples=[["POST /api/v1/incidents"]]
    )
    controls: list[ControlRef] = Field(description="The recurring controls that evidence it")
    aspiration: str | None = Field(description="Why no record could show it (null for a checkable one)")


class WithdrawnSentence(_Out):
    """A sentence an earlier version had and the version in force leaves out: no longer in force."""

    clause_id: str = Field(description=CLAUSE_ID)
    text: str = Field(description="Its words in the last version that had it")
    last_version: Whole = Field(description="The last version that had it")
    rules: list[RuleRef] = Field(description="The rules that cite it")
    rules_not_applied: list[str] = Field(
        description="Of those, the rules no longer applied: every sentence they cite is out of force",
        examples=[["GRP-MESSAGES-SEEN-BY-ALL"]],
    )


class CoverageCounts(_Out):
    """How many sentences of the version in force are kept, and how."""

    sentences: Whole = Field(description="Sentences in the version in force")
    checkable: Whole = Field(description="Of them, those a record could show kept or broken")
    enforced: Whole = Field(description="Of the checkable, those kept by a rule, workflow or control")
    not_enforced: Whole = Field(description="Of the checkable, those kept by nothing: gaps")
    aspirations: Whole = Field(description="Sentences no record could show (`sentences` - `checkable`)")
    withdrawn: Whole = Field(description="Sentences of earlier versions no longer in force")
    rules_not_applied: Whole = Field(description="Rules whose every sentence is out of force")


class CoveragePublic(_Out):
    """Which sentences of the policy version in force the service keeps, and how."""

    version: Whole = Field(description="The number of the policy version in force on `as_of`")
    effective_on: Day = Field(description="The day that version took effect")
    as_of: Day = Field(description="The day asked about (default today)")
    counts: CoverageCounts = Field(description="The sentences counted by how they are kept")
    sentences: list[CoverageSentence] = Field(description="Every sentence of the version, in order")
    withdrawn: list[WithdrawnSentence] = Field(
        description="Sentences earlier versions had that this one leaves out, and the rules that no longer "
        "apply because of it (their findings are `not_applicable`)"
    )


@dataclass(frozen=True, slots=True)
class SentenceRow:
    position: int
    section: str
    clause_id: str
    text: str


def _rules_by_clause() -> dict[str, list[RuleRef]]:
    out: dict[str, list[RuleRef]] = {}
    for rule in ALL_RULES:
        for c in (rule.clause, *rule.also):
            out.setdefault(c.id, []).append(RuleRef(id=rule.id, scope=rule.subject, title=rule.title))
    return out


def coverage(
    *,
    version: int,
    effective_on: date,
    as_of: date,
    sentences: Sequence[SentenceRow],
    controls: Mapping[str, list[ControlRef]],
    earlier: Sequence[tuple[int, SentenceRow]] = (),
) -> CoveragePublic:
    """Each sentence with what keeps it, in order, and the counts. `controls` maps a clause id to the
    controls of the register that cite it; `earlier` holds (version, sentence) for the sentences of earlier
    versions, oldest first, from which those left out of this version are listed as withdrawn."""
    rules = _rules_by_clause()
    in_force = {s.clause_id for s in sentences}
    gone: dict[str, tuple[int, SentenceRow]] = {
        row.clause_id: (number, row) for number, row in earlier if row.clause_id not in in_force
    }
    not_applied = sorted(
        rule.id for rule in ALL_RULES if not any(c.id in in_force for c in (rule.clause, *rule.also))
    )
    withdrawn = [
        WithdrawnSentence(
            clause_id=cid,
            text=row.text,
            last_version=number,
            rules=rules.get(cid, []),
            rules_not_applied=[r.id for r in rules.get(cid, []) if r.id in not_applied],
        )
        for cid, (number, row) in sorted(gone.items(), key=lambda kv: (kv[1][0], kv[1][1].position))
    ]
    out = []
    for s in sentences:
        aspiration = ASPIRATIONS.get(s.clause_id)
        kept_by_rules = rules.get(s.clause_id, [])
        workflows = list(WORKFLOWS.get(s.clause_id, ()))
        kept_by_controls = controls.get(s.clause_id, [])
        checkable = aspiration is None
        out.append(
            CoverageSentence(
                position=s.position,
                section=s.section,
                clause_id=s.clause_id,
                text=s.text,
                checkable=checkable,
                enforced=checkable and bool(kept_by_rules or workflows or kept_by_controls),
                rules=kept_by_rules,
                workflows=workflows,
                controls=kept_by_controls,
                aspiration=aspiration,
            )
        )
    checkable_n = sum(s.checkable for s in out)
    enforced_n = sum(s.enforced for s in out)
    return CoveragePublic(
        version=version,
        effective_on=effective_on,
        as_of=as_of,
        counts=CoverageCounts(
            sentences=len(out),
            checkable=checkable_n,
            enforced=enforced_n,
            not_enforced=checkable_n - enforced_n,
            aspirations=len(out) - checkable_n,
            withdrawn=len(withdrawn),
            rules_not_applied=len(not_applied),
        ),
        sentences=out,
        withdrawn=withdrawn,
    )


def coverage_on(*, session: Session, as_of: date) -> CoveragePublic:
    """The coverage map of the version in force on `as_of`. Before the first version's effective day, the
    first version's: the seed stands for the policy as it was before versions were kept, as findings quote
    its words on such a day (`api.compliance.engine.cite` with no version loaded)."""
    version = version_service.in_force(session=session, on=as_of) or version_service.get(
        session=session, number=1
    )
    rows = [
        SentenceRow(c.position, c.section, c.clause_id, c.text)
        for c in version_service.clauses_of(session, version)
    ]
    earlier = [
        (number, SentenceRow(c.position, c.section, c.clause_id, c.text))
        for c, number in session.exec(
            select(PolicyClause, PolicyVersion.number)
            .join(PolicyVersion, col(PolicyVersion.id) == col(PolicyClause.version_id))
            .where(col(PolicyVersion.number) < version.number, version_service.live())
            .order_by(col(PolicyVersion.number), col(PolicyClause.position))
        ).all()
    ]
    controls: dict[str, list[ControlRef]] = {}
    for c in session.exec(
        select(Control)
        .where(sa.or_(col(Control.ended_on).is_(None), col(Control.ended_on) > as_of))
        .order_by(col(Control.code))
    ).all():
        controls.setdefault(c.clause_id, []).append(ControlRef(id=c.code, name=c.name))
    return coverage(
        version=version.number,
        effective_on=version.effective_on,
        as_of=as_of,
        sentences=rows,
        controls=controls,
        earlier=earlier,
    )
