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
from typing import Annotated

from pydantic import BeforeValidator
from sqlmodel import Field, SQLModel

from api.common import Day, Flag, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type
from api.described import DESCRIBED, DescribedEnum
from api.groups.models import Platform

MAX_ENTRIES = 5_000


class PlatformRole(DescribedEnum):
    """A person's role in the group as the platform's member list shows it.

    - admin: an admin (or owner, group admin): may approve members and change settings.
    - moderator: a moderator: may remove posts and members but not change settings.
    - member: an ordinary member."""

    admin = "admin"
    moderator = "moderator"
    member = "member"


class Match(DescribedEnum):
    """How surely a roster entry was matched to someone in the records.

    - certain: by a handle, email address or phone number on record.
    - probable: by name alone: a person must confirm it.
    - unknown: nobody in the records: someone who should perhaps not be in the group."""

    certain = "certain"  # by a handle, email address or phone number on record
    probable = "probable"  # by name alone: a person confirms it
    unknown = "unknown"  # nobody in the records


class MatchedBy(DescribedEnum):
    """What a roster entry was matched on.

    - handle: a platform handle, user id or profile URL recorded for the person.
    - email: an email address on their record.
    - phone: a phone number on their record (compared as E.164).
    - name: their name alone (a probable match)."""

    handle = "handle"
    email = "email"
    phone = "phone"
    name = "name"


class Resolution(DescribedEnum):
    """A person's answer for a roster entry that was not matched for certain.

    - confirmed: a probable match is the person.
    - identified: the entry is this person (their platform identity is recorded, so the next upload
      matches for certain).
    - removed: the person was taken off the platform on removed_on."""

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


def _platform_role(value: object) -> object:
    """A role as platforms name it: "Owner" and "Group admin" are admins (spaces, hyphens, case ignored)."""
    if isinstance(value, str):
        folded = "_".join(value.strip().lower().replace("-", " ").replace("_", " ").split())
        return ROLE_NAMES.get(folded, value)
    return value


# The names a platform or spreadsheet gives a role, folded (lower case, words joined by "_"): JSON and CSV
# alike (docs/rosters.md).
ROLE_NAMES = {
    "admin": "admin",
    "owner": "admin",
    "group_admin": "admin",
    "moderator": "moderator",
    "member": "member",
}


class EntryIn(SQLModel):
    model_config = forbid_extra(
        {"display_name": "Maya Okafor", "handle": "maya.okafor", "platform_role": "member"},
    )
    display_name: str | None = Field(default=None, max_length=200)
    """The name the platform shows."""
    handle: str | None = Field(default=None, max_length=500, description="User name, user id or profile URL")
    email: str | None = Field(default=None, max_length=254)
    """An email address the platform shows, if any."""
    phone: str | None = Field(default=None, max_length=40)
    """A phone number the platform shows, if any (read as a UK number unless it says otherwise)."""
    platform_role: Annotated[PlatformRole, BeforeValidator(_platform_role)] = Field(
        default=PlatformRole.member,
        description="admin (or owner, group admin), moderator or member",
    )
    joined_on: Day | None = None
    """The day the platform says they joined, if it shows one."""


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
        {"resolution": "identified", "participant_id": "4ab4661c-0678-4eb0-998b-95bc7439bab9"},
        {"resolution": "removed", "removed_on": "2026-11-30"},
        {"resolution": "confirmed"},
    )
    resolution: Resolution
    """The answer for the entry."""
    staff_id: uuid.UUID | None = None
    """For identified: the member of staff the entry is (give one of staff_id and participant_id)."""
    participant_id: uuid.UUID | None = None
    """For identified: the young person the entry is (give one of staff_id and participant_id)."""
    removed_on: Day | None = None
    """For removed: the day they were taken off the platform; not in the future."""


class ApplyIn(SQLModel):
    model_config = forbid_extra({"confirm_removals": True})
    confirm_removals: Flag = Field(
        default=False,
        description="Needed to end every membership the group has, or the applying admin's own: without it "
        "such an apply is refused (409 `removals_unconfirmed`)",
    )


# --- output ------------------------------------------------------------------------------------------------


class PersonRef(SQLModel):
    model_config = DESCRIBED
    type: str = Field(description="staff or participant")
    id: uuid.UUID | None = Field(description="Null for a young person outside the caller's reach")
    label: str
    """The person's name, or "A young person outside your reach"."""


class EntryPublic(SQLModel):
    model_config = DESCRIBED
    id: uuid.UUID
    """The entry's id."""
    row: int = Field(
        description="Where the entry is in the list: a CSV's row as a spreadsheet numbers it (the header is "
        "row 1), or a JSON entry's number counting from 1 (entries[0] is 1)"
    )
    display_name: str | None
    """The name the platform shows."""
    handle: str | None
    """The handle or profile URL the platform shows."""
    email: str | None
    """The email address the platform shows."""
    phone: str | None
    """The phone number the platform shows (E.164)."""
    platform_role: PlatformRole
    """Their role on the platform."""
    joined_on: date | None
    """The day the platform says they joined."""
    match: Match
    """How surely it was matched."""
    matched_by: MatchedBy | None
    """What it was matched on; null when unknown."""
    person: PersonRef | None
    """Who it was matched to; null when unknown."""
    resolution: Resolution | None
    """A person's answer for it; null until answered."""
    removed_on: date | None
    """For removed: the day they were taken off the platform."""


class Discrepancy(SQLModel):
    model_config = DESCRIBED
    kind: str
    """What differs between the platform's list and the records (for example unknown_person)."""
    severity: str
    """How much it matters: the same scale as a compliance finding's severity."""
    entry_id: uuid.UUID | None = Field(description="The roster entry, for people on the platform")
    membership_id: uuid.UUID | None = Field(description="The membership, for people in the records")
    person: PersonRef | None
    """The person in the records it concerns, if any."""
    action: str = Field(description="What to do about it")


class RosterCounts(SQLModel):
    model_config = DESCRIBED
    entries: int
    """Entries in the list."""
    certain: int
    """Entries matched for certain."""
    probable: int
    """Entries matched by name alone."""
    unknown: int
    """Entries matched to nobody."""
    open_unknown: int
    """Unknown entries not yet answered for."""
    open_probable: int
    """Probable entries not yet confirmed."""
    discrepancies: dict[str, int] = Field(description="How many of each kind")


class RosterPublic(SQLModel):
    model_config = DESCRIBED
    id: uuid.UUID
    """The roster's id."""
    group_id: uuid.UUID
    """The group whose list it is."""
    platform: Platform
    """The group's platform."""
    captured_on: date
    """The day the list was taken from the platform."""
    applied_at: datetime | None
    """When its changes were applied to the memberships (UTC, ISO 8601); null until then."""
    created_at: datetime
    """When it was uploaded (UTC, ISO 8601)."""
    version: int
    """The roster's version, raised by one on every answer; send its ETag as If-Match to apply."""
    counts: RosterCounts
    """How many entries of each kind, and discrepancies."""
    entries: list[EntryPublic] | None = Field(
        description="Null for a caller who reaches counts only (trustees)"
    )
    discrepancies: list[Discrepancy] | None = Field(description="Null for a caller who reaches counts only")


class Change(SQLModel):
    model_config = DESCRIBED
    action: str = Field(description="membership.create, membership.end or membership.update")
    membership_id: uuid.UUID
    """The membership created, ended or changed."""
    person: PersonRef
    """Whose membership it is."""
    detail: str
    """The change in words."""


class ApplyResult(SQLModel):
    model_config = DESCRIBED
    roster: RosterPublic
    """The roster after applying."""
    changes: list[Change]
    """Each membership change made, in order."""
