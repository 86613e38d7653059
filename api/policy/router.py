from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth.permissions import PolicyAdmin
from api.deps import SessionDep
from api.errors import PRECONDITION
from api.policy import service
from api.policy.models import PolicySettings, PolicySettingsPublic, PolicySettingsUpdate
from api.preconditions import IfMatch, set_etag

router = APIRouter()


@router.get("", response_model=PolicySettingsPublic, summary="Get policy settings")
def get_policy_settings(session: SessionDep, _: PolicyAdmin, response: Response) -> PolicySettings:
    """The thresholds the compliance rules and consent checks use. The ETag header is the version to send
    back in If-Match."""
    settings = service.get(session=session)
    set_etag(response, settings.version)
    return settings


@router.put(
    "", response_model=PolicySettingsPublic, responses=PRECONDITION, summary="Replace policy settings"
)
def put_policy_settings(
    session: SessionDep,
    caller: PolicyAdmin,
    data: PolicySettingsUpdate,
    expected_version: IfMatch,
    response: Response,
) -> PolicySettings:
    """Replace the whole settings document. Every change is audited. A stale If-Match is a 412."""
    settings = service.replace(session=session, caller=caller, data=data, expected_version=expected_version)
    set_etag(response, settings.version)
    return settings
