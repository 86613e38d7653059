"""Typed dependency aliases shared by every domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from sqlmodel import Session

from api.auth.principal import Principal, current_principal
from api.db import get_session

SessionDep = Annotated[Session, Depends(get_session)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
