"""Roles and permissions as data: the one place that says who may do what.

A route names the permission it needs in its signature (`Depends(require(Permission.X))`, defined once per
permission in api/auth/permissions.py, e.g. `GroupsRead`); row-level reach (a member of staff sees only
their own groups' children) is applied in each service's query.
"""

from __future__ import annotations

from enum import StrEnum

from api.described import DescribedEnum


class Role(DescribedEnum):
    """What a sign-in may do. Reach (which records) is decided per role in one table
    (api/auth/reach_table.py).

    - coordinator: the e-safety coordinator: reads and manages every record, users, API keys, webhooks and
      the policy settings.
    - staff: a member of staff: their own groups (and the young people, consents and memberships in them),
      incidents they report, their own account.
    - trustee: a member of the board of trustees: oversight through compliance reports and counts, never
      children's details.
    - integration: another system (the CRM) through an API key; what it may do is narrowed by the key's
      scopes. Not a role a user can hold."""

    coordinator = "coordinator"
    staff = "staff"
    trustee = "trustee"
    integration = "integration"  # an API key used by another system (the CRM)


USER_ROLES = (Role.coordinator, Role.staff, Role.trustee)


class Permission(StrEnum):
    STAFF_READ = "staff:read"
    STAFF_WRITE = "staff:write"
    PARTICIPANT_READ = "participant:read"
    PARTICIPANT_WRITE = "participant:write"
    GROUP_READ = "group:read"
    GROUP_CREATE = "group:create"
    GROUP_WRITE = "group:write"
    GROUP_RECORD = "group:record"  # risk assessments and reviews
    MEMBERSHIP_READ = "membership:read"
    MEMBERSHIP_WRITE = "membership:write"
    CONSENT_READ = "consent:read"
    CONSENT_WRITE = "consent:write"
    PUBLICATION_CHECK = "publication:check"  # scan a text for people's names and contact details
    INCIDENT_REPORT = "incident:report"
    INCIDENT_READ = "incident:read"
    INCIDENT_MANAGE = "incident:manage"
    INCIDENT_STATS = "incident:stats"
    COMPLIANCE_READ = "compliance:read"
    POLICY_ADMIN = "policy:admin"
    USER_ADMIN = "user:admin"
    API_KEY_ADMIN = "api_key:admin"
    AUDIT_READ = "audit:read"
    OWN_ACCOUNT = "own_account"
    SYNC_WRITE = "sync:write"
    CHANGES_READ = "changes:read"  # the changes feed: ids and actions only, never field values
    WEBHOOK_ADMIN = "webhook:admin"
    IDENTITY_READ = "identity:read"  # how people appear on platforms (handles, profile URLs)
    IDENTITY_WRITE = "identity:write"
    ROSTER_READ = "roster:read"  # a group's member list as the platform shows it, reconciled
    ROSTER_WRITE = "roster:write"  # upload a roster
    ROSTER_RESOLVE = "roster:resolve"  # answer for its entries and apply it: people's judgement, not a key's
    DECLARATION_WRITE = "declaration:write"  # declare one's own personal social media conduct
    CONTROL_ADMIN = "control:admin"  # the controls and technology registers themselves
    CONTROL_RECORD = "control:record"  # checks of controls and risk assessments of technologies


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.coordinator: frozenset(Permission) - {P.SYNC_WRITE},
    # Staff permissions are further narrowed to their own groups and reports by the services.
    Role.staff: frozenset(
        {
            P.STAFF_READ,
            P.PARTICIPANT_READ,
            P.GROUP_READ,
            P.GROUP_CREATE,
            P.GROUP_RECORD,
            P.MEMBERSHIP_READ,
            P.MEMBERSHIP_WRITE,
            P.CONSENT_READ,
            P.CONSENT_WRITE,
            P.PUBLICATION_CHECK,
            P.INCIDENT_REPORT,
            P.INCIDENT_READ,
            P.COMPLIANCE_READ,
            P.OWN_ACCOUNT,
            P.IDENTITY_READ,
            P.IDENTITY_WRITE,
            P.ROSTER_READ,
            P.ROSTER_WRITE,
            P.ROSTER_RESOLVE,
            P.DECLARATION_WRITE,
            P.CONTROL_RECORD,
        }
    ),
    # Trustees govern; they never see a child's name or contact details, nor an incident record.
    # Rosters: counts only (reach says so: `counts`).
    Role.trustee: frozenset(
        {
            P.STAFF_READ,
            P.GROUP_READ,
            P.INCIDENT_STATS,
            P.COMPLIANCE_READ,
            P.OWN_ACCOUNT,
            P.IDENTITY_READ,
            P.ROSTER_READ,
            # Only as the member of staff their account is linked to (reach: declaration, own).
            P.DECLARATION_WRITE,
        }
    ),
    Role.integration: frozenset(
        {
            P.STAFF_READ,
            P.STAFF_WRITE,
            P.PARTICIPANT_READ,
            P.PARTICIPANT_WRITE,
            P.CONSENT_READ,
            P.CONSENT_WRITE,
            P.SYNC_WRITE,
            P.CHANGES_READ,
            P.IDENTITY_READ,
            P.IDENTITY_WRITE,
            # A platform connector run by the charity uploads rosters; it never reads them back.
            P.ROSTER_WRITE,
        }
    ),
}


class ApiKeyScope(DescribedEnum):
    """What an API key may do; a key holds one or more.

    - read: read staff, participants, consents, platform identities and the changes feed.
    - sync:write: write staff, participants, consents, identities and rosters, and use bulk sync; it
      answers a write with a receipt, not the record, unless the key can also read."""

    read = "read"
    sync_write = "sync:write"


# An API key holds the integration role's permissions, narrowed to those its scopes name.
SCOPE_PERMISSIONS: dict[ApiKeyScope, frozenset[Permission]] = {
    ApiKeyScope.read: frozenset(
        {P.STAFF_READ, P.PARTICIPANT_READ, P.CONSENT_READ, P.CHANGES_READ, P.IDENTITY_READ}
    ),
    ApiKeyScope.sync_write: frozenset(
        {P.STAFF_WRITE, P.PARTICIPANT_WRITE, P.CONSENT_WRITE, P.SYNC_WRITE, P.IDENTITY_WRITE, P.ROSTER_WRITE}
    ),
}


def permissions_for(role: Role, scopes: frozenset[ApiKeyScope] | None = None) -> frozenset[Permission]:
    granted = ROLE_PERMISSIONS[role]
    if scopes is not None:
        granted = granted & frozenset().union(*(SCOPE_PERMISSIONS[s] for s in scopes))
    return granted
