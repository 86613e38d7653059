"""Reach as data: the table of which records each role reaches (api/auth/reach.py turns a row into SQL).

`READ_REACH` says what a role may see (lists, single reads, filters, ids in a body, evidence in a
compliance finding), `WRITE_REACH` what it may change or add to, and on whose behalf it may sign a record.
An extent is one of a few named shapes, so the whole table reads at a glance; the README's roles table is
checked against it (tests/test_reach.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from api.auth.roles import Permission, Role


class Record(StrEnum):
    """The kinds of record reach is decided for."""

    group = "group"
    participant = "participant"  # a child's or young person's record, and their details anywhere
    membership = "membership"
    consent = "consent"
    incident = "incident"
    staff = "staff"
    waiver = "waiver"  # a compliance waiver, which belongs to a group
    staff_compliance = "staff_compliance"  # a member of staff's own compliance report
    roster = "roster"  # a group's member list as the platform shows it, and its reconciliation
    # A member of staff's declaration of their personal social media conduct: their answers are a personal
    # disclosure to the organisation (counts: whether a current declaration stands, never the answers).
    declaration = "declaration"


class Extent(StrEnum):
    """How far a role reaches into one kind of record."""

    every = "every"
    # The groups the caller is currently in, and what hangs off them: the participants currently in those
    # groups, the groups' memberships, those participants' consents, the groups' waivers.
    own_groups = "own_groups"
    # The groups the caller currently admins ("only admins can approve new members to the group").
    admined_groups = "admined_groups"
    # The caller's own: their own staff record, the incidents they reported.
    own = "own"
    # Every record's counts (how many entries, matches, discrepancies of each kind), never a record's
    # contents: trustees' reach into rosters, whose entries name children as the platform shows them.
    counts = "counts"
    none = "none"


R, X = Record, Extent
_NOTHING: Mapping[Record, Extent] = dict.fromkeys(Record, X.none)
_EVERYTHING: Mapping[Record, Extent] = dict.fromkeys(Record, X.every)

READ_REACH: Mapping[Role, Mapping[Record, Extent]] = {
    Role.coordinator: _EVERYTHING,
    Role.staff: {
        R.group: X.own_groups,
        R.participant: X.own_groups,
        R.membership: X.own_groups,
        R.consent: X.own_groups,
        R.incident: X.own,
        R.staff: X.every,
        R.waiver: X.own_groups,
        R.staff_compliance: X.own,
        R.roster: X.own_groups,
        R.declaration: X.own,
    },
    # Trustees govern: groups, staff and compliance, never a child's details nor an incident record.
    Role.trustee: {
        **_NOTHING,
        R.group: X.every,
        R.staff: X.every,
        R.waiver: X.every,
        R.staff_compliance: X.every,
        R.roster: X.counts,
        R.declaration: X.counts,
    },
    # Another system (the CRM) keeps people and consents in step; it never sees groups or incidents.
    Role.integration: {**_NOTHING, R.participant: X.every, R.consent: X.every, R.staff: X.every},
}

WRITE_REACH: Mapping[Role, Mapping[Record, Extent]] = {
    Role.coordinator: _EVERYTHING,
    Role.staff: {
        **_NOTHING,
        # A group's memberships, reviews and risk assessments: the groups they admin.
        R.group: X.admined_groups,
        R.membership: X.admined_groups,
        R.consent: X.own_groups,
        R.incident: X.own,
        # Whom they may sign a record for (a review, a risk assessment, an incident report): themselves.
        R.staff: X.own,
        # Upload, resolve and apply rosters: the groups they admin ("only admins can approve new members").
        R.roster: X.admined_groups,
        # Their own declaration of personal social media conduct.
        R.declaration: X.own,
    },
    # A trustee declares only as the member of staff their account is linked to (none when not linked).
    Role.trustee: {**_NOTHING, R.declaration: X.own},
    # A platform connector (a key with `sync:write`) uploads any group's roster; it reads none back.
    Role.integration: {
        **_NOTHING,
        R.participant: X.every,
        R.consent: X.every,
        R.staff: X.every,
        R.roster: X.every,
    },
}

# The permission that lets a caller read a kind of record at all; without it, reach is nothing, whatever
# the table says (an API key scoped to `sync:write` holds the integration role but not its reads).
READ_PERMISSION: Mapping[Record, Permission] = {
    R.group: Permission.GROUP_READ,
    R.participant: Permission.PARTICIPANT_READ,
    R.membership: Permission.MEMBERSHIP_READ,
    R.consent: Permission.CONSENT_READ,
    R.incident: Permission.INCIDENT_READ,
    R.staff: Permission.STAFF_READ,
    R.waiver: Permission.COMPLIANCE_READ,
    R.staff_compliance: Permission.COMPLIANCE_READ,
    R.roster: Permission.ROSTER_READ,
    R.declaration: Permission.COMPLIANCE_READ,
}
# Extents that need no staff record to anchor them.
UNANCHORED = (X.every, X.counts, X.none)
