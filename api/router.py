"""The one place that mounts every domain's router, with its prefix and tag."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.router import router as auth_router
from api.changes.router import router as changes_router
from api.errors import COMMON_ERRORS
from api.policy.router import router as policy_router
from api.staff.router import router as staff_router
from api.webhooks.router import router as webhooks_router

api_router = APIRouter(prefix="/api/v1", responses=COMMON_ERRORS)
api_router.include_router(auth_router, prefix="/auth", tags=["auth"])
api_router.include_router(staff_router, prefix="/staff", tags=["staff"])
api_router.include_router(policy_router, prefix="/policy-settings", tags=["policy"])
api_router.include_router(changes_router, prefix="/changes", tags=["changes"])
api_router.include_router(webhooks_router, prefix="/webhooks", tags=["webhooks"])
