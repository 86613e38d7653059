from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.models import PasswordChange, Token, User, UserPublic
from api.auth.principal import Principal, require
from api.auth.roles import Permission
from api.deps import SessionDep
from api.errors import NOT_FOUND

router = APIRouter()

OwnAccount = Annotated[Principal, Depends(require(Permission.OWN_ACCOUNT))]


@router.post("/token", response_model=Token, summary="Sign in")
def sign_in(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password sign-in (email as `username`). Five failures in 15 minutes lock the account briefly."""
    token, expires_in = service.sign_in(session=session, email=form.username, password=form.password)
    return Token(access_token=token, expires_in=expires_in)


@router.get("/me", response_model=UserPublic, responses=NOT_FOUND, summary="Who am I")
def me(session: SessionDep, caller: OwnAccount) -> User:
    """The signed-in user and their role."""
    return service.get_own(session=session, actor=caller)


@router.post("/password", response_model=Token, summary="Change my password")
def change_password(session: SessionDep, caller: OwnAccount, data: PasswordChange) -> Token:
    """Change your own password (at least 12 characters, not the current one). Every token issued before,
    on any device, stops working at once: use the fresh token in this answer. A wrong current password
    counts towards the sign-in lockout."""
    token, expires_in = service.change_password(
        session=session, actor=caller, current_password=data.current_password, new_password=data.new_password
    )
    return Token(access_token=token, expires_in=expires_in)
