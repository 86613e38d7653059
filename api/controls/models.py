"""The organisation's recurring controls and its technology register.

A control (in the manner of GRC tools: an owner, a cadence, evidence) is something the organisation does
again and again that keeps a policy sentence no group or staff record shows: reviewing the security of its
information systems, the physical security of its ICT equipment, the social media policy on the tech
room's wall. Each check records when, by whom, whether it found issues and, if so, the follow-up.

A technology is a tool the organisation uses or plans to use; the policy asks that any "emerging new
technologies" be examined and risk assessed "before they are used within the organisation".
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from api.common import NOT_BLANK, Day, Patch, Whole, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type
from api.described import DescribedEnum

FREE_TEXT = "never name a child or give their details"


class Control(Timestamped, table=True):
    __tablename__ = "control"
    code: str = Field(max_length=64, sa_column_kwargs={"unique": True}, description="A stable id: CTL-...")
    name: str = Field(max_length=200)
    clause_id: str = Field(max_length=64, description="The policy sentence the control evidences")
    owner_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id")
    cadence_days: int = Field(description="At most this many days between checks")
    warn_within_days: int = Field(description="Due within this many days: a warning")
    ended_on: Day | None = None
    # The due date last announced as passed (`control.overdue`): derived state, never shown.
    overdue_announced_for: Day | None = None


class ControlUpdate(Patch):
    model_config = forbid_extra({"owner_id": "30d74e8d-46e1-47f2-abf4-1e5bee592529", "cadence_days": 90})
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"cadence_days", "warn_within_days"})
    owner_id: uuid.UUID | None = Field(default=None, description="A current member of staff (null: none)")
    cadence_days: Whole | None = Field(default=None, ge=1, le=730)
    """At most this many days between checks (1 to 730). Left out: unchanged."""
    warn_within_days: Whole | None = Field(default=None, ge=0, le=90)
    """A check due within this many days is a warning (0 to 90). Left out: unchanged."""


class CheckResult(DescribedEnum):
    """What a check of a control found.

    - ok: the control was done and found nothing wrong.
    - issues_found: issues were found; follow_up says what is done about them."""

    ok = "ok"
    issues_found = "issues_found"


class ControlCheck(Timestamped, table=True):
    __tablename__ = "control_check"
    control_id: uuid.UUID = Field(foreign_key="control.id", index=True)
    performed_on: Day
    performed_by_id: uuid.UUID = Field(foreign_key="staff.id")
    result: CheckResult = Field(sa_type=enum_type(CheckResult))
    follow_up: str | None = Field(default=None, max_length=2000)
    evidence_ref: str | None = Field(default=None, max_length=200)


class ControlCheckCreate(SQLModel):
    model_config = forbid_extra(
        {
            "performed_on": "2026-11-02",
            "result": "issues_found",
            "follow_up": "Laptop 3 had no disk encryption: encrypted the same day.",
            "evidence_ref": "IT-LOG-2026-11",
        }
    )
    performed_on: Day = Field(description="Not in the future")
    performed_by_id: uuid.UUID | None = Field(
        default=None, description="Who did it; the caller when left out (a coordinator may name another)"
    )
    result: CheckResult
    """What the check found."""
    follow_up: Annotated[str | None, NOT_BLANK] = Field(
        default=None, min_length=1, max_length=2000, description=f"What is done about the issues; {FREE_TEXT}"
    )
    evidence_ref: str | None = Field(default=None, min_length=1, max_length=200)
    """Where the evidence is kept (a log or document reference)."""


def name_key(name: str) -> str:
    """A technology's name as compared for uniqueness: Unicode-normalised (NFKC: full-width letters and
    ligatures as their plain forms), case-folded, format characters (Unicode category Cf: zero-width space
    and joiners, soft hyphen, bidi marks) dropped as the publication guard's fold drops them
    (api/consents/canonical.py), spaces collapsed. "Padlet", "PADLET", "Pad\u00adlet", "Padlet\u200b" and
    "Padlet" in full-width letters are one technology: two records of one tool would split its assessments.
    Letters are not transliterated (the fold's last step): "Café" and "Cafe" may be two tools, and
    transliteration would make unrelated names in other scripts collide."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return " ".join("".join(c for c in folded if unicodedata.category(c) != "Cf").split())


class Technology(Timestamped, table=True):
    __tablename__ = "technology"
    name: str = Field(max_length=200)
    # `name_key(name)`, unique: the database refuses a second record of the same tool, however spelt.
    name_key: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    purpose: str = Field(max_length=2000)
    first_used_on: Day | None = Field(default=None, description="None while only planned")
    retired_on: Day | None = None
    # When `retired_on` was last set here: an evaluation as of a day before it does not see the retirement
    # (it sees the register as it stood then, as it does an assessment recorded later).
    retired_recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TechnologyCreate(SQLModel):
    model_config = forbid_extra(
        {"name": "Flip", "purpose": "Video responses for the songwriting course", "first_used_on": None}
    )
    name: Annotated[str, NOT_BLANK] = Field(
        min_length=1, max_length=200, description="Unique among technologies, ignoring case and Unicode form"
    )
    purpose: str = Field(min_length=1, max_length=2000, description=FREE_TEXT)
    first_used_on: Day | None = None
    """The first day it was used; null while only planned. Not in the future."""


class TechnologyUpdate(Patch):
    """A change to a technology: its name or purpose, the day it was first used (set once planned use
    begins; it may be corrected earlier, never later, since a later first use could make an unassessed use
    look assessed), or the day it stopped being used (`retired_on`: records end, they are not deleted; null
    brings it back into use)."""

    model_config = forbid_extra({"purpose": "Shared boards for the songwriting course, both terms"})
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"name", "purpose"})
    name: Annotated[str | None, NOT_BLANK] = Field(default=None, min_length=1, max_length=200)
    """The tool's name; unique among technologies, ignoring case and Unicode form. Left out: unchanged."""
    purpose: str | None = Field(default=None, min_length=1, max_length=2000, description=FREE_TEXT)
    first_used_on: Day | None = Field(default=None, description="Not in the future; never moved later")
    retired_on: Day | None = Field(
        default=None,
        description="The first day it is no longer used: not in the future, not before first use",
    )


class Decision(DescribedEnum):
    """A technology risk assessment's conclusion (the policy: tools are "risk assessed in advance" and new
    technologies examined "before they are used").

    - approved: may be used.
    - approved_with_conditions: may be used under the mitigations recorded.
    - rejected: may not be used."""

    approved = "approved"
    approved_with_conditions = "approved_with_conditions"
    rejected = "rejected"


class TechnologyAssessment(Timestamped, table=True):
    __tablename__ = "technology_assessment"
    technology_id: uuid.UUID = Field(foreign_key="technology.id", index=True)
    assessed_on: Day
    assessed_by_id: uuid.UUID = Field(foreign_key="staff.id")
    risks: str = Field(max_length=10_000)
    mitigations: str = Field(max_length=10_000)
    decision: Decision = Field(sa_type=enum_type(Decision))


class AssessmentCreate(SQLModel):
    model_config = forbid_extra(
        {
            "assessed_on": "2026-10-01",
            "risks": "Boards can be made public by link",
            "mitigations": "Boards set to organisation only; no surnames on posts",
            "decision": "approved_with_conditions",
        }
    )
    assessed_on: Day = Field(description="Not in the future")
    assessed_by_id: uuid.UUID | None = Field(default=None, description="The caller when left out")
    risks: str = Field(min_length=1, max_length=10_000, description=FREE_TEXT)
    mitigations: str = Field(min_length=1, max_length=10_000, description=FREE_TEXT)
    decision: Decision
    """The assessment's conclusion."""


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True, use_attribute_docstrings=True)


class ControlCheckPublic(_Out):
    id: uuid.UUID
    """The check's id."""
    control_id: uuid.UUID
    """The control checked."""
    performed_on: Day
    """The day the check was done (the organisation's calendar day)."""
    performed_by_id: uuid.UUID
    """The member of staff who did it."""
    result: CheckResult
    """What the check found."""
    follow_up: str | None
    """What is done about the issues; null when none were found."""
    evidence_ref: str | None
    """Where the evidence is kept; null if not given."""
    created_at: datetime
    """When it was recorded (UTC, ISO 8601)."""


class ControlPublic(_Out):
    id: uuid.UUID
    """The control's id."""
    code: str
    """A stable id: CTL-..."""
    name: str
    """What the control is, in words."""
    clause_id: str
    """The id of the policy sentence the control evidences (the policy text lists them)."""
    owner_id: uuid.UUID | None
    """The member of staff responsible for it; null if nobody is."""
    cadence_days: Whole
    """At most this many days between checks."""
    warn_within_days: Whole
    """A check due within this many days is a warning."""
    ended_on: Day | None
    """The first day the control is no longer kept; null while kept."""
    version: Whole
    """The record's version, raised by one on every change; send it as If-Match to update."""


class TechnologyAssessmentPublic(_Out):
    id: uuid.UUID
    """The assessment's id."""
    technology_id: uuid.UUID
    """The technology assessed."""
    assessed_on: Day = Field(description="The day the assessment says it was made")
    assessed_by_id: uuid.UUID
    """The member of staff who assessed it."""
    risks: str
    """The risks found."""
    mitigations: str
    """How each risk is reduced."""
    decision: Decision
    """The assessment's conclusion."""
    created_at: datetime = Field(
        description="When it was recorded here: it counts as before a technology's use only if this day, "
        "as well as assessed_on, is on or before the first use (ORG-TECHNOLOGY-ASSESSED)"
    )


class TechnologyPublic(_Out):
    id: uuid.UUID
    """The technology's id."""
    name: str
    """The tool's name."""
    purpose: str
    """What it is used for."""
    first_used_on: Day | None
    """The first day it was used; null while only planned."""
    retired_on: Day | None
    """The first day it is no longer used; null while in use or planned."""
    retired_recorded_at: datetime | None = Field(
        description="When retired_on was set: an evaluation as of an earlier day still counts the technology "
        "in use (ORG-TECHNOLOGY-ASSESSED reads the register as it stood on as_of)"
    )
    version: Whole
    """The record's version, raised by one on every change; send it as If-Match to update."""
