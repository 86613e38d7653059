"""Every table, imported in one place so Alembic's autogenerate and the tests see the whole schema."""

from api.audit.models import AuditEvent
from api.auth.models import ApiKey, User
from api.auth.throttle import LoginThrottle
from api.compliance.models import GroupComplianceState, Waiver
from api.consents.models import Consent
from api.controls.models import Control, ControlCheck, Technology, TechnologyAssessment
from api.declarations.models import StaffDeclaration
from api.facts import FactsVersion
from api.groups.models import Group, GroupReview, RiskAssessment
from api.idempotency.store import IdempotencyKey
from api.identities.models import PlatformIdentity
from api.incidents.follow_up_models import IncidentNotification, IncidentReferral, IncidentView
from api.incidents.models import (
    Incident,
    IncidentEntry,
    IncidentParticipant,
    IncidentStaff,
    IncidentTransition,
)
from api.memberships.models import Membership
from api.participants.models import Participant
from api.policy.models import PolicySettings
from api.policy.versions import PolicyClause, PolicyVersion
from api.ratelimit import ApiKeyRateWindow, UserRateWindow
from api.rosters.models import GroupRoster, RosterEntry
from api.staff.models import Staff
from api.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ApiKey",
    "ApiKeyRateWindow",
    "AuditEvent",
    "Consent",
    "Control",
    "ControlCheck",
    "FactsVersion",
    "Group",
    "GroupComplianceState",
    "GroupReview",
    "GroupRoster",
    "IdempotencyKey",
    "Incident",
    "IncidentEntry",
    "IncidentNotification",
    "IncidentParticipant",
    "IncidentReferral",
    "IncidentStaff",
    "IncidentTransition",
    "IncidentView",
    "LoginThrottle",
    "Membership",
    "Participant",
    "PlatformIdentity",
    "PolicyClause",
    "PolicySettings",
    "PolicyVersion",
    "RiskAssessment",
    "RosterEntry",
    "Staff",
    "StaffDeclaration",
    "Technology",
    "TechnologyAssessment",
    "User",
    "UserRateWindow",
    "Waiver",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
