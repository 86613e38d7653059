"""The one place that mounts every domain's router, with its prefix and tag."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.router import router as auth_router
from api.compliance.router import router as compliance_router
from api.errors import COMMON_ERRORS
from api.policy.router import router as policy_router
from api.staff.router import router as staff_router

api_router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)
api_router.include_router(auth_router, prefix="/auth", tags=["auth"])
api_router.include_router(staff_router, prefix="/staff", tags=["staff"])
api_router.include_router(policy_router, prefix="/policy-settings", tags=["policy"])
# No prefix: it serves /compliance/... and the /groups/{id}/compliance and /staff/{id}/compliance reports.
api_router.include_router(compliance_router, tags=["compliance"])
