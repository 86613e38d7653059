"""Typed dependency aliases shared by every domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from api.auth.principal import Principal, current_principal
from api.db import SessionDep as SessionDep  # where the routes have always found it

CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
