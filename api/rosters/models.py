"""Rosters: a group's member list as the platform shows it, reconciled with the records.

A roster is stored as uploaded (one `RosterEntry` per person on the platform, in the file's order) with
each entry's match: `certain` (by handle, email or phone), `probable` (by name alone: to confirm) or
`unknown`. The roster row keeps the counts the compliance rule reads, so a group's evaluation reads one row
per roster, never its entries. Nothing is deleted: a resolution is a date and who made it; an applied
roster keeps `applied_at`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from api.common import Day, Flag, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type
from api.groups.models import Platform

MAX_ENTRIES = 5_000


class PlatformRole(StrEnum):
    admin = "admin"
    moderator = "moderator"
    member = "member"


class Match(StrEnum):
    certain = "certain"  # by a handle, email address or phone number on record
    probable = "probable"  # by name alone: a person confirms it
    unknown = "unknown"  # nobody in the records


class MatchedBy(StrEnum):
    handle = "handle"
    email = "email"
    phone = "phone"
    name = "name"


class Resolution(StrEnum):
    confirmed = "confirmed"  # a probable match is the person
    identified = "identified"  # the entry is this person (their identity is recorded)
    removed = "removed"  # the person was taken off the platform on `removed_on`


class GroupRoster(Timestamped, table=True):
    __tablename__ = "group_roster"
    group_id: uuid.UUID = Field(foreign_key="online_group.id", index=True)
    platform: Platform = Field(sa_type=enum_type(Platform))
    captured_on: date
    uploaded_by_type: str = Field(max_length=20)
    uploaded_by_id: uuid.UUID | None = None
    entry_count: int = 0
    certain_count: int = 0
    probable_count: int = 0
    unknown_count: int = 0
    # Still waiting for a person's answer: unknown entries not resolved, probable ones not confirmed.
    open_unknown: int = 0
    open_probable: int = 0
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RosterEntry(Timestamped, table=True):
    __tablename__ = "roster_entry"
    roster_id: uuid.UUID = Field(foreign_key="group_roster.id", index=True)
    row: int
    display_name: str | None = Field(default=None, max_length=200)
    handle: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    platform_role: PlatformRole = Field(default=PlatformRole.member, sa_type=enum_type(PlatformRole))
    joined_on: date | None = None
    match: Match = Field(sa_type=enum_type(Match))
    matched_by: MatchedBy | None = Field(default=None, sa_type=enum_type(MatchedBy))
    staff_id: uuid.UUID | None = Field(default=None, foreign_key="staff.id")
    participant_id: uuid.UUID | None = Field(default=None, foreign_key="participant.id")
    resolution: Resolution | None = Field(default=None, sa_type=enum_type(Resolution))
    removed_on: date | None = None
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by_id: uuid.UUID | None = None

    @property
    def is_open(self) -> bool:
        return self.resolution is None and self.match is not Match.certain


# --- input -------------------------------------------------------------------------------------------------


class EntryIn(SQLModel):
    model_config = forbid_extra(
        {"display_name": "Maya Okafor", "handle": "maya.okafor", "platform_role": "member"},
    )
    display_name: str | None = Field(default=None, max_length=200)
    handle: str | None = Field(default=None, max_length=500, description="User name, user id or profile URL")
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    platform_role: PlatformRole = PlatformRole.member
    joined_on: Day | None = None


class RosterUpload(SQLModel):
    model_config = forbid_extra(
        {
            "captured_on": "2026-11-30",
            "entries": [
                {
                    "display_name": "Leah Marchant",
                    "email": "leah.marchant@riverbankmusic.org.uk",
                    "platform_role": "admin",
                },
                {"display_name": "Maya Okafor", "handle": "maya.okafor", "joined_on": "2025-09-08"},
                {"display_name": "DJ Stranger", "handle": "dj_stranger_99"},
            ],
        }
    )
    captured_on: Day | None = Field(
        default=None, description="The day the list was taken from the platform; today when left out"
    )
    entries: list[EntryIn] = Field(
        min_length=1,
        max_length=MAX_ENTRIES,
        description="Everyone on the platform's list (at least one: an empty list is a failed export)",
    )


class ResolutionIn(SQLModel):
    model_config = forbid_extra(
        {"resolution": "identified", "staff_id": "9d3f6a21-4b7c-4e8d-a1f2-6c5b7e9d0a34"},
        {"resolution": "removed", "removed_on": "2026-11-30"},
        {"resolution": "confirmed"},
    )
    resolution: Resolution
    staff_id: uuid.UUID | None = None
    participant_id: uuid.UUID | None = None
    removed_on: Day | None = None


class ApplyIn(SQLModel):
    model_config = forbid_extra({"confirm_removals": True})
    confirm_removals: Flag = Field(
        default=False,
        description="Needed to end every membership the group has, or the applying admin's own: without it "
        "such an apply is refused (409 `removals_unconfirmed`)",
    )


# --- output ------------------------------------------------------------------------------------------------


class PersonRef(SQLModel):
    type: str = Field(description="staff or participant")
    id: uuid.UUID | None = Field(description="Null for a young person outside the caller's reach")
    label: str


class EntryPublic(SQLModel):
    id: uuid.UUID
    row: int = Field(
        description="Where the entry is in the list: a CSV's row as a spreadsheet numbers it (the header is "
        "row 1), or a JSON entry's number counting from 1 (entries[0] is 1)"
    )
    display_name: str | None
    handle: str | None
    email: str | None
    phone: str | None
    platform_role: PlatformRole
    joined_on: date | None
    match: Match
    matched_by: MatchedBy | None
    person: PersonRef | None
    resolution: Resolution | None
    removed_on: date | None


class Discrepancy(SQLModel):
    kind: str
    severity: str
    entry_id: uuid.UUID | None = Field(description="The roster entry, for people on the platform")
    membership_id: uuid.UUID | None = Field(description="The membership, for people in the records")
    person: PersonRef | None
    action: str = Field(description="What to do about it")


class RosterCounts(SQLModel):
    entries: int
    certain: int
    probable: int
    unknown: int
    open_unknown: int
    open_probable: int
    discrepancies: dict[str, int] = Field(description="How many of each kind")


class RosterPublic(SQLModel):
    id: uuid.UUID
    group_id: uuid.UUID
    platform: Platform
    captured_on: date
    applied_at: datetime | None
    created_at: datetime
    version: int
    counts: RosterCounts
    entries: list[EntryPublic] | None = Field(
        description="Null for a caller who reaches counts only (trustees)"
    )
    discrepancies: list[Discrepancy] | None = Field(description="Null for a caller who reaches counts only")


class Change(SQLModel):
    action: str = Field(description="membership.create, membership.end or membership.update")
    membership_id: uuid.UUID
    person: PersonRef
    detail: str


class ApplyResult(SQLModel):
    roster: RosterPublic
    changes: list[Change]
