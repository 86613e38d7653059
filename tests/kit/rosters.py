"""Group rosters (api/rosters): a roster as a platform showed it, and its entries."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api import clock
from api.groups.models import Group
from api.rosters.models import GroupRoster, Match, RosterEntry
from tests.kit.records import add


def make_roster(session: Session, group: Group, **overrides: Any) -> GroupRoster:
    """A roster of `group` captured today on the group's platform, uploaded by a user, with no entries."""
    values: dict[str, Any] = {
        "group_id": group.id,
        "platform": group.platform,
        "captured_on": clock.today(),
        "uploaded_by_type": "user",
    }
    return add(session, GroupRoster, values, overrides)


def make_roster_entry(session: Session, roster: GroupRoster, **overrides: Any) -> RosterEntry:
    """The roster's first row (row 2, below the header): someone nobody has matched yet."""
    values: dict[str, Any] = {
        "roster_id": roster.id,
        "row": 2,
        "display_name": "Someone",
        "match": Match.unknown,
    }
    return add(session, RosterEntry, values, overrides)
