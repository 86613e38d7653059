"""The policy as versioned text: each version's full text and its sentences, each with a stable clause id.

Version 1 is the seed (`api.policy.clauses`, loaded by the migration that made these tables). A
coordinator publishes a later version with its full text and the day it takes effect; its sentences keep the
ids of the sentences they keep or reword (`api.policy.text.match`). The version in force on a day is the
latest whose `effective_on` is on or before it; the version staff declare against is the latest published.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from api.common import Day, Flag, NonBlank, Whole, forbid_extra
from api.db import Timestamped
from api.described import Values

# The seed stands for the policy as it was before versions were kept: in force on every day records cover.
SEED_EFFECTIVE_ON = date(2000, 1, 1)
MAX_POLICY_CHARS = 100_000
# How far ahead a version may be published to take effect: a yearly review's next version, with a day to
# spare for a leap year. Further ahead is a typing slip ("9999-12-31") that would bar every later version.
MAX_DAYS_AHEAD = 366


class PolicyVersion(Timestamped, table=True):
    """One published version. Never changed once published (a correction is another version)."""

    __tablename__ = "policy_version"
    number: int = Field(sa_column_kwargs={"unique": True}, description="1, 2, 3 ... in publication order")
    effective_on: Day = Field(description="The first day this version is in force")
    published_on: Day = Field(description="The organisation's day it was published")
    text: str = Field(sa_type=sa.Text)
    summary: str | None = Field(default=None, max_length=2000)
    published_by_label: str = Field(max_length=254)
    # A version withdrawn before it came into force: it never does, and later versions' dates ignore it.
    withdrawn_on: Day | None = Field(default=None, description="The organisation's day it was withdrawn")
    withdrawn_reason: str | None = Field(default=None, max_length=2000)
    withdrawn_by_label: str | None = Field(default=None, max_length=254)


class PolicyClause(SQLModel, table=True):
    """One sentence of one version, under its stable clause id."""

    __tablename__ = "policy_clause"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "clause_id", name="uq_policy_clause_version_clause"),
        sa.UniqueConstraint("version_id", "position", name="uq_policy_clause_version_position"),
    )
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    version_id: uuid.UUID = Field(foreign_key="policy_version.id", index=True)
    clause_id: str = Field(max_length=64)
    position: int
    section: str = Field(max_length=200)
    text: str = Field(sa_type=sa.Text)


# The example publish: version 1 with a sentence no rule enforces reworded, so it needs no confirmation.
_EXAMPLE_TEXT = (
    (Path(__file__).resolve().parent / "esafety-policy-v1.txt")
    .read_text()
    .replace("is an essential part of all our lives", "is an essential part of everyone's life")
)


# The ids a publish confirms or declares (rule ids, clause ids): none by default.
Ids = list[Annotated[str, Field(max_length=64)]]


def _ids(description: str) -> Any:
    return Field(default_factory=list, max_length=200, description=description)


class PolicyVersionCreate(SQLModel):
    """A new version: the whole text (as the policy document reads, headings and bullets included) and the
    day it takes effect (today or later: a version cannot change what was in force before it existed)."""

    model_config = forbid_extra(
        {
            "text": _EXAMPLE_TEXT,
            "effective_on": "2027-01-01",
            "summary": "Yearly review: one sentence reworded.",
            "confirm_rules_stopped": [],
            "confirm_reworded": [],
            "confirm_removed": [],
            "declare_removed": [],
            "preview_token": None,
        }
    )
    text: str = Field(min_length=1, max_length=MAX_POLICY_CHARS)
    """The whole text of the new version, as the policy document reads (headings and bullets included); at
    most 100,000 characters."""
    effective_on: Day
    """The first day the version is in force: today or later (the organisation's calendar day), at most
    366 days ahead."""
    summary: str | None = Field(
        default=None, max_length=2000, description="What changed, for the record; never name a person"
    )
    confirm_rules_stopped: Ids = _ids(
        "Rule ids the coordinator confirms will stop being applied (every sentence they cite is "
        "left out): each rule the preview lists under `rules_stopped` must be here, or the publish is a 409",
    )
    confirm_reworded: Ids = _ids(
        "Clause ids of enforced sentences (a rule cites them) whose words change, each confirmed "
        "still enforced by its rules in the new words: each clause the preview lists under `reworded` must "
        "be here or in `declare_removed`, or the publish is a 409",
    )
    confirm_removed: Ids = _ids(
        "Clause ids of enforced sentences (a rule cites them) the new version leaves out or "
        "gives a new id, each confirmed no longer enforced: each clause the preview lists under "
        "`enforced_removed` must be here or in `declare_removed`, or the publish is a 409",
    )
    declare_removed: Ids = _ids(
        "Clause ids of the latest version whose new words are not the same promise: the old "
        "clause is removed (this confirms its removal) and the new sentence gets a new id (its rules may "
        "then stop: confirm them)",
    )
    preview_token: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        description="The preview's `token` for this body: required when the publish needs any confirmation "
        "(and checked whenever sent), so confirmations apply only to the plan the coordinator saw; a 409 "
        "naming `preview_token` otherwise",
    )


class PolicyVersionWithdraw(SQLModel):
    """Withdrawing a version published for a later day, before that day comes."""

    model_config = forbid_extra({"reason": "Published with the wrong effective date."})
    reason: NonBlank = Field(min_length=1, max_length=2000, description="Why; never name a person")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class PolicyVersionSummary(_Out):
    number: Whole
    """The version's number: 1, 2, 3 ... in publication order."""
    effective_on: Day
    """The first day it is in force (the organisation's calendar day)."""
    published_on: Day
    """The organisation's day it was published."""
    summary: str | None
    """What changed, for the record; null if not given."""
    published_by_label: str
    """Who published it (their email address)."""
    clause_count: Whole
    """How many sentences (clauses) it has."""
    in_force: Flag = Field(description="The version in force today")
    withdrawn_on: Day | None = Field(
        default=None, description="Withdrawn before it came into force: it never does"
    )


class PolicyClausePublic(_Out):
    clause_id: str
    """The sentence's stable id, kept across versions while its promise stays the same."""
    position: Whole
    """Its place in the text, counting from 1."""
    section: str
    """The heading it sits under."""
    text: str
    """The sentence, verbatim."""


class PolicyVersionPublic(PolicyVersionSummary):
    text: str
    """The version's whole text."""
    clauses: list[PolicyClausePublic]
    """Its sentences in order."""


class ClauseChange(_Out):
    clause_id: str
    """The sentence's clause id."""
    change: Annotated[
        Literal["added", "removed", "reworded", "moved"],
        Values(
            "What happened to the sentence between the two versions.",
            {
                "added": "New in the later version (a new clause id).",
                "removed": "In the earlier version only.",
                "reworded": "In both under the same clause id, in different words.",
                "moved": "In both in the same words, at another place in the text.",
            },
        ),
    ]
    """What happened to it."""
    before: str | None
    """Its words in the earlier version; null when added."""
    after: str | None
    """Its words in the later version; null when removed."""


class PolicyDiffPublic(_Out):
    before: Whole
    """The earlier version's number."""
    after: Whole
    """The later version's number."""
    unchanged: Whole = Field(description="Clauses with the same words in both")
    changes: list[ClauseChange]
    """Each sentence added, removed, reworded or moved, in the later version's order."""


class RewordedClause(_Out):
    clause_id: str
    """The reworded sentence's clause id."""
    before: str
    """Its words in the latest version."""
    after: str
    """Its words in the new version."""
    rules: list[str] = Field(description="The rules citing it: confirm they still enforce the new words")


class TurnedRound(_Out):
    """A hint, never a verdict: a sentence left out and an added one alike but for a word such as "not" or
    "never" (the meaning may be turned round); only a person can judge meaning."""

    removed: str = Field(description="The clause id left out")
    added: str = Field(description="The new sentence's clause id")
    before: str
    """The words left out."""
    after: str
    """The words added."""


class RemovedClause(_Out):
    clause_id: str
    """The clause id left out."""
    before: str = Field(description="Its words in the latest version")
    rules: list[str] = Field(description="The rules citing it: they no longer enforce this sentence")


class StoppedRule(_Out):
    rule_id: str
    """The compliance rule that would stop being applied."""
    severity: str
    """How serious its failures are."""
    clauses: list[str] = Field(description="The clauses it cites, every one left out by the new version")


class PublishPreview(_Out):
    """What a publish would do, stored nowhere: the clause difference from the latest version, the rules that
    would stop being applied, and the enforced clauses whose words change."""

    number: Whole = Field(description="The number the version would get")
    diff: PolicyDiffPublic
    """The clause difference from the latest version."""
    rules_stopped: list[StoppedRule]
    """Rules that would stop being applied (every sentence they cite left out)."""
    rules_resumed: list[str] = Field(description="Rules not applied under the latest version, applied again")
    reworded: list[RewordedClause]
    """Enforced sentences whose words change."""
    enforced_removed: list[RemovedClause] = Field(
        description="Sentences a rule cites that the new version leaves out or gives a new id, a rule citing "
        "other sentences too included"
    )
    turned_round: list[TurnedRound]
    """Pairs of sentences whose meaning may be turned round: a person must judge."""
    unconfirmed_rules_stopped: list[str]
    """Rule ids in rules_stopped not yet in confirm_rules_stopped: the publish is a 409 until they are."""
    unconfirmed_reworded: list[str]
    """Clause ids in reworded not yet confirmed (confirm_reworded or declare_removed)."""
    unconfirmed_removed: list[str]
    """Clause ids in enforced_removed not yet confirmed (confirm_removed or declare_removed)."""
    token: str = Field(
        description="SHA-256 (hex) of the text, effective_on, the latest live version's number and the "
        "planned changes: send it as `preview_token` with the confirmations"
    )


class PublishedPolicy(_Out):
    """What a publish answers: the new version and how its clauses map onto the last."""

    version: PolicyVersionPublic
    """The version published."""
    diff: PolicyDiffPublic
    """How its clauses map onto the last version's."""
