from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth.principal import Principal, require
from api.auth.roles import Permission
from api.deps import SessionDep
from api.policy import service
from api.policy.models import PolicySettings, PolicySettingsPublic, PolicySettingsUpdate

router = APIRouter()

Admin = Annotated[Principal, Depends(require(Permission.POLICY_ADMIN))]


@router.get("", response_model=PolicySettingsPublic, summary="Get policy settings")
def get_policy_settings(session: SessionDep, _: Admin) -> PolicySettings:
    """The thresholds the compliance rules and consent checks use."""
    return service.get(session=session)


@router.put("", response_model=PolicySettingsPublic, summary="Replace policy settings")
def put_policy_settings(session: SessionDep, caller: Admin, data: PolicySettingsUpdate) -> PolicySettings:
    """Replace the whole settings document. Every change is audited."""
    return service.replace(session=session, actor=caller, data=data)
