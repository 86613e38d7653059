"""The permission dependencies, one per `Permission`, defined once: a route names the one it needs in its
signature (`_: GroupsRead`) or hands it to `Records(reader=..., writer=...)`, which puts it in the endpoint's
signature (STYLE.md example 5). Each is `Annotated[Principal, Depends(require(permission))]`: the caller,
let through only if their role (or API key's scopes) holds the permission, else 403 `forbidden`
(`principal.require`); no credentials is a 401. The permission-matrix test reads the permission from the
dependency's `.permission`, so sharing one dependency per permission changes nothing it sees.

Named as Polar names its own (`polar/<domain>/auth.py`): the records, plural, then the permission's verb.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.auth.principal import Principal, require
from api.auth.roles import Permission

StaffRead = Annotated[Principal, Depends(require(Permission.STAFF_READ))]
StaffWrite = Annotated[Principal, Depends(require(Permission.STAFF_WRITE))]
ParticipantsRead = Annotated[Principal, Depends(require(Permission.PARTICIPANT_READ))]
ParticipantsWrite = Annotated[Principal, Depends(require(Permission.PARTICIPANT_WRITE))]
GroupsRead = Annotated[Principal, Depends(require(Permission.GROUP_READ))]
GroupsCreate = Annotated[Principal, Depends(require(Permission.GROUP_CREATE))]
GroupsWrite = Annotated[Principal, Depends(require(Permission.GROUP_WRITE))]
GroupsRecord = Annotated[Principal, Depends(require(Permission.GROUP_RECORD))]
MembershipsRead = Annotated[Principal, Depends(require(Permission.MEMBERSHIP_READ))]
MembershipsWrite = Annotated[Principal, Depends(require(Permission.MEMBERSHIP_WRITE))]
ConsentsRead = Annotated[Principal, Depends(require(Permission.CONSENT_READ))]
ConsentsWrite = Annotated[Principal, Depends(require(Permission.CONSENT_WRITE))]
PublicationCheck = Annotated[Principal, Depends(require(Permission.PUBLICATION_CHECK))]
IncidentsReport = Annotated[Principal, Depends(require(Permission.INCIDENT_REPORT))]
IncidentsRead = Annotated[Principal, Depends(require(Permission.INCIDENT_READ))]
IncidentsManage = Annotated[Principal, Depends(require(Permission.INCIDENT_MANAGE))]
IncidentsStats = Annotated[Principal, Depends(require(Permission.INCIDENT_STATS))]
ComplianceRead = Annotated[Principal, Depends(require(Permission.COMPLIANCE_READ))]
PolicyAdmin = Annotated[Principal, Depends(require(Permission.POLICY_ADMIN))]
UsersAdmin = Annotated[Principal, Depends(require(Permission.USER_ADMIN))]
ApiKeysAdmin = Annotated[Principal, Depends(require(Permission.API_KEY_ADMIN))]
AuditRead = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]
OwnAccount = Annotated[Principal, Depends(require(Permission.OWN_ACCOUNT))]
SyncWrite = Annotated[Principal, Depends(require(Permission.SYNC_WRITE))]
ChangesRead = Annotated[Principal, Depends(require(Permission.CHANGES_READ))]
WebhooksAdmin = Annotated[Principal, Depends(require(Permission.WEBHOOK_ADMIN))]
IdentitiesRead = Annotated[Principal, Depends(require(Permission.IDENTITY_READ))]
IdentitiesWrite = Annotated[Principal, Depends(require(Permission.IDENTITY_WRITE))]
RostersRead = Annotated[Principal, Depends(require(Permission.ROSTER_READ))]
RostersWrite = Annotated[Principal, Depends(require(Permission.ROSTER_WRITE))]
RostersResolve = Annotated[Principal, Depends(require(Permission.ROSTER_RESOLVE))]
DeclarationsWrite = Annotated[Principal, Depends(require(Permission.DECLARATION_WRITE))]
ControlsAdmin = Annotated[Principal, Depends(require(Permission.CONTROL_ADMIN))]
ControlsRecord = Annotated[Principal, Depends(require(Permission.CONTROL_RECORD))]
