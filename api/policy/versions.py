"""The policy as versioned text: each version's full text and its sentences, each with a stable clause id.

Version 1 is the seed (`api.policy.clauses`, loaded by the migration that made these tables). A
coordinator publishes a later version with its full text and the day it takes effect; its sentences keep the
ids of the sentences they keep or reword (`api.policy.text.match`). The version in force on a day is the
latest whose `effective_on` is on or before it; the version staff declare against is the latest published.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from api.common import Day, Flag, Whole, forbid_extra
from api.db import Timestamped

# The seed stands for the policy as it was before versions were kept: in force on every day records cover.
SEED_EFFECTIVE_ON = date(2000, 1, 1)
MAX_POLICY_CHARS = 100_000


class PolicyVersion(Timestamped, table=True):
    """One published version. Never changed once published (a correction is another version)."""

    __tablename__ = "policy_version"
    number: int = Field(sa_column_kwargs={"unique": True}, description="1, 2, 3 ... in publication order")
    effective_on: Day = Field(description="The first day this version is in force")
    published_on: Day = Field(description="The organisation's day it was published")
    text: str = Field(sa_type=sa.Text)
    summary: str | None = Field(default=None, max_length=2000)
    published_by_label: str = Field(max_length=254)


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


class PolicyVersionCreate(SQLModel):
    """A new version: the whole text (as the policy document reads, headings and bullets included) and the
    day it takes effect (today or later: a version cannot change what was in force before it existed)."""

    model_config = forbid_extra(
        {
            "text": "E-safety Policy\n\nRecommendations\n\n- All More Music Facebook groups must have at "
            "least two current members of staff as admin officers\n",
            "effective_on": "2027-01-01",
            "summary": "Yearly review: the admin rule reworded.",
        }
    )
    text: str = Field(min_length=1, max_length=MAX_POLICY_CHARS)
    effective_on: Day
    summary: str | None = Field(
        default=None, max_length=2000, description="What changed, for the record; never name a person"
    )


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyVersionSummary(_Out):
    number: Whole
    effective_on: Day
    published_on: Day
    summary: str | None
    published_by_label: str
    clause_count: Whole
    in_force: Flag = Field(description="The version in force today")


class PolicyClausePublic(_Out):
    clause_id: str
    position: Whole
    section: str
    text: str


class PolicyVersionPublic(PolicyVersionSummary):
    text: str
    clauses: list[PolicyClausePublic]


class ClauseChange(_Out):
    clause_id: str
    change: Literal["added", "removed", "reworded", "moved"]
    before: str | None
    after: str | None


class PolicyDiffPublic(_Out):
    before: Whole
    after: Whole
    unchanged: Whole = Field(description="Clauses with the same words in both")
    changes: list[ClauseChange]


class PublishedPolicy(_Out):
    """What a publish answers: the new version and how its clauses map onto the last."""

    version: PolicyVersionPublic
    diff: PolicyDiffPublic
