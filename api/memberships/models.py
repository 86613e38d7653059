from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import sqlalchemy as sa
from pydantic import model_validator
from sqlmodel import Field, SQLModel

from api import clock
from api.common import Day, Flag, Patch, Whole, exactly_one_person, forbid_extra, in_force
from api.db import Timestamped, enum_type
from api.described import DESCRIBED, DescribedEnum


class MemberRole(DescribedEnum):
    """A member's role in the group on the platform.

    - admin: a group admin (the policy: at least two current staff admins in every Facebook group; only
      admins approve new members).
    - member: an ordinary member."""

    admin = "admin"
    member = "member"


class MembershipBase(SQLModel):
    model_config = DESCRIBED
    group_id: uuid.UUID = Field(foreign_key="online_group.id", index=True)
    """The group."""
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id", index=True)
    """The member of staff who is in the group; give exactly one of staff_id and participant_id."""
    participant_id: uuid.UUID | None = Field(default=None, foreign_key="participant.id", index=True)
    """The young person who is in the group; give exactly one of staff_id and participant_id."""
    role: MemberRole = Field(default=MemberRole.member, sa_type=enum_type(MemberRole))
    """Their role in the group (admin or member)."""
    started_on: Day
    """The first day they were in the group (the organisation's calendar day)."""


def _one_open(name: str, person_column: str) -> sa.Index:
    """The unique index `name` over (group_id, `person_column`) of the memberships not ended: one open
    membership per person and group."""
    ended = sa.text("ended_on IS NULL")
    return sa.Index(name, "group_id", person_column, unique=True, sqlite_where=ended, postgresql_where=ended)


class Membership(MembershipBase, Timestamped, table=True):
    __tablename__ = "membership"
    __table_args__ = (
        # Exactly one of staff or participant: the database holds the rule even if a service forgets it.
        sa.CheckConstraint("(staff_id IS NULL) <> (participant_id IS NULL)", name="exactly_one_member"),
        # One open membership per person and group, held by the database against two concurrent requests
        # (the service's overlap check alone cannot see a row another transaction has not yet committed).
        _one_open("uq_membership_open_staff", "staff_id"),
        _one_open("uq_membership_open_participant", "participant_id"),
        # "Is this staff member, or were they ever, in this group?" (GRP-RISK-ASSESSED asks it of every
        # assessor). By staff id alone it walks every group the coordinator is in (all of them).
        sa.Index("ix_membership_group_id_staff_id", "group_id", "staff_id"),
    )
    ended_on: Day | None = None
    end_reason: str | None = Field(default=None, max_length=500)

    @property
    def is_current(self) -> bool:
        return in_force(self.started_on, self.ended_on, clock.today())


class MembershipCreate(MembershipBase):
    model_config = forbid_extra(
        {
            "group_id": "e8f2448c-e573-4518-9a53-4dfd9a4c20fc",
            "participant_id": "90d7e899-087d-47c1-b4f2-7db1799536db",
            "role": "member",
            "started_on": "2026-11-02",
        },
        {
            "group_id": "e8f2448c-e573-4518-9a53-4dfd9a4c20fc",
            "staff_id": "db515799-a6c3-4831-b689-0ed547403508",
            "role": "admin",
            "started_on": "2026-11-02",
        },
    )

    _one_person = model_validator(mode="after")(exactly_one_person)


class MembershipUpdate(Patch):
    model_config = forbid_extra({"role": "admin"})
    DESCRIBED_BY = (MembershipBase,)
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"role"})
    role: MemberRole | None = None


class MembershipEnd(SQLModel):
    model_config = forbid_extra(
        {"ended_on": "2026-11-30", "end_reason": "Left the project at the end of term"}
    )
    ended_on: Day
    """The first day they are no longer in the group (exclusive: the day they were removed)."""
    end_reason: str | None = Field(default=None, max_length=500)
    """Why they left (for example "Aged out of the group"); never another child's details."""


class MembershipPublic(MembershipBase):
    id: uuid.UUID
    """The membership's id."""
    ended_on: Day | None
    """The first day they were no longer in the group (exclusive); null while they are in it."""
    end_reason: str | None
    """Why they left; null while they are in it."""
    is_current: Flag
    """Whether they are in the group today (from started_on until the day before ended_on)."""
    created_at: datetime
    """When the record was created (UTC, ISO 8601)."""
    updated_at: datetime
    """When the record last changed (UTC, ISO 8601)."""
    version: Whole
    """The record's version, raised by one on every change; send it as If-Match to update."""
