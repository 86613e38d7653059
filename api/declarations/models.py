"""Staff declarations of personal social media conduct, made for one version of the policy.

The policy's recommendations reach into staff's own accounts, which no record here can see: "Staff must set
their Facebook profile privacy settings so their content can only be seen by friends", "must not have young
or vulnerable people as friends on their personal Facebook profile", "must not use their personal Facebook
accounts to communicate with young or vulnerable people via chat or personal message", and "will not use your
personal Twitter account to become a follower of young or vulnerable people". What the service can keep is
each person's own declaration of them, against the version they read. Records are never changed: a later
declaration supersedes an earlier one.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import Field, SQLModel

from api.common import Day, Flag, Whole, forbid_extra
from api.db import Timestamped


class DeclarationStatements(SQLModel):
    read_policy: Flag = Field(description="I have read the version of the policy named here")
    profile_private: Flag = Field(
        description="My personal Facebook profile's content can be seen only by my friends"
    )
    no_young_friends: Flag = Field(
        description="I have no young or vulnerable people as friends on my personal profiles"
    )
    no_personal_messages: Flag = Field(
        description="I do not chat or send personal messages to young or vulnerable people from personal "
        "accounts, only through groups where all members see the messages or my work email"
    )
    no_personal_follows: Flag = Field(
        description="I do not follow young or vulnerable people from my personal Twitter (or other personal) "
        "accounts, nor encourage them to follow me"
    )


class StaffDeclaration(DeclarationStatements, Timestamped, table=True):
    __tablename__ = "staff_declaration"
    staff_id: uuid.UUID = Field(foreign_key="staff.id", index=True)
    policy_version_id: uuid.UUID = Field(foreign_key="policy_version.id")
    policy_version: int = Field(description="The number of the version declared against")
    declared_on: Day
    recorded_by_label: str = Field(max_length=254)


class DeclarationCreate(DeclarationStatements):
    """A declaration, answered statement by statement: an honest `false` is recorded as such (the rules then
    fail until a later declaration holds)."""

    model_config = forbid_extra(
        {
            "policy_version": 1,
            "read_policy": True,
            "profile_private": True,
            "no_young_friends": True,
            "no_personal_messages": True,
            "no_personal_follows": True,
        }
    )
    policy_version: Whole = Field(
        ge=1,
        le=1_000_000,
        description="The version read: the one in force today or one published to come into force later "
        "(422 for an older one or one not published)",
    )
    declared_on: Day | None = Field(
        default=None, description="Default today; not in the future, nor before that version was published"
    )


_ANSWER = "What they declared; null for a caller who sees only whether a declaration stands (a trustee)"


class DeclarationPublic(BaseModel):
    """One declaration. Its answers are the member of staff's and the coordinator's to read: a trustee (who
    reaches declarations' status only) gets them as null."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, use_attribute_docstrings=True)
    id: uuid.UUID
    """The declaration's id."""
    staff_id: uuid.UUID
    """The member of staff who declared."""
    policy_version: Whole
    """The number of the policy version declared against."""
    declared_on: Day
    """The day of the declaration (the organisation's calendar day); it holds for the policy settings'
    declaration_valid_days from then, until a later one supersedes it."""
    read_policy: Flag | None = Field(description=_ANSWER)
    profile_private: Flag | None = Field(description=_ANSWER)
    no_young_friends: Flag | None = Field(description=_ANSWER)
    no_personal_messages: Flag | None = Field(description=_ANSWER)
    no_personal_follows: Flag | None = Field(description=_ANSWER)
    recorded_by_label: str
    """Who recorded it (the member of staff's own email address, or a coordinator's)."""
    created_at: datetime
    """When it was recorded (UTC, ISO 8601)."""
    version: Whole
    """The record's version (declarations are never changed: always 1)."""
