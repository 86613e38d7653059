from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from api.auth import service
from api.auth.models import Token, User, UserPublic
from api.auth.principal import Principal, require
from api.auth.roles import Permission
from api.deps import SessionDep
from api.errors import NotFound

router = APIRouter()


@router.post("/token", response_model=Token, summary="Sign in")
def sign_in(session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password sign-in (email as `username`). Five failures in 15 minutes lock the account briefly."""
    token, expires_in = service.sign_in(session=session, email=form.username, password=form.password)
    return Token(access_token=token, expires_in=expires_in)


@router.get("/me", response_model=UserPublic, summary="Who am I")
def me(session: SessionDep, caller: Annotated[Principal, Depends(require(Permission.OWN_ACCOUNT))]) -> User:
    """The signed-in user and their role."""
    user = service.get_user(session=session, user_id=caller.id)
    if user is None:
        raise NotFound("No such user")
    return user
