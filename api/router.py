"""The one place that mounts every domain's router, with its prefix and tag."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.router import router as auth_router
from api.consents.router import checks_router as consent_checks_router
from api.consents.router import participant_router as participant_consents_router
from api.consents.router import router as consents_router
from api.errors import COMMON_ERRORS
from api.policy.router import router as policy_router
from api.staff.router import router as staff_router

api_router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)
api_router.include_router(auth_router, prefix="/auth", tags=["auth"])
api_router.include_router(staff_router, prefix="/staff", tags=["staff"])
api_router.include_router(policy_router, prefix="/policy-settings", tags=["policy"])
api_router.include_router(consents_router, prefix="/consents", tags=["consents"])
api_router.include_router(participant_consents_router, prefix="/participants", tags=["consents"])
api_router.include_router(consent_checks_router, tags=["consents"])
