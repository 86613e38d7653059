from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, EmailStr
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Field, SQLModel

from api.auth.roles import ApiKeyScope, Role
from api.common import Flag, Patch, Whole, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type


class User(Timestamped, table=True):
    """A sign-in for one staff record. The password hash lives only here, never in a response model."""

    __tablename__ = "user_account"
    staff_id: uuid.UUID = Field(foreign_key="staff.id", unique=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=500)
    role: Role = Field(sa_type=enum_type(Role))
    is_active: Flag = True
    # In every token; bumped when the password, role or active flag changes, so old tokens stop at once.
    token_epoch: Whole = 0
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UserPublic(SQLModel):
    id: uuid.UUID
    staff_id: uuid.UUID
    email: str
    role: Role
    is_active: Flag
    last_login_at: datetime | None
    created_at: datetime


class UserCreate(SQLModel):
    model_config = forbid_extra(
        {
            "staff_id": "9d3f6a21-4b7c-4e8d-a1f2-6c5b7e9d0a34",
            "email": "leah.marchant@riverbankmusic.org.uk",
            "role": "staff",
            "password": "a first passphrase to change",
        }
    )
    staff_id: uuid.UUID
    email: EmailStr
    role: Role
    password: str = Field(min_length=12, max_length=256)


class UserUpdate(Patch):
    model_config = forbid_extra({"is_active": False}, {"role": "coordinator"})
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"role", "is_active"})
    role: Role | None = None
    is_active: Flag | None = None


class PasswordChange(SQLModel):
    model_config = forbid_extra(
        {
            "current_password": "the password you signed in with",
            "new_password": "four words: violin river lantern",
        }
    )
    current_password: str = Field(max_length=256)
    new_password: str = Field(min_length=12, max_length=256)


class ScopeList(TypeDecorator[list[ApiKeyScope]]):
    """A JSON list of scope names, read back as ApiKeyScope members (JSON alone gives plain strings,
    which the audit snapshot and the response models would then have to coerce)."""

    impl = JSON
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> list[ApiKeyScope] | None:
        return None if value is None else [ApiKeyScope(v) for v in value]


class ApiKey(Timestamped, table=True):
    """Another system's key. It works while it is not revoked, not expired, and the person answerable for
    it (whoever last confirmed or rotated it, else its creator) is an active user who has not left."""

    __tablename__ = "api_key"
    name: str = Field(max_length=200)
    prefix: str = Field(max_length=16, description="The key's first characters, to recognise it")
    key_hash: str = Field(
        max_length=64, unique=True, description="SHA-256 of the key; the key is never stored"
    )
    scopes: list[ApiKeyScope] = Field(default_factory=list, sa_type=ScopeList)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirmed_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    require_if_match: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})


# Issue 18: an integrator may ask that its key never overwrite a change it has not seen.
REQUIRE_IF_MATCH = (
    "Refuse this key's changes to an existing record (a PATCH, a POST that changes or ends one) sent without "
    "If-Match: 428 `precondition_required`, so it never overwrites a change it has not read"
)


class ApiKeyCreate(SQLModel):
    model_config = forbid_extra(
        {"name": "CRM nightly sync", "scopes": ["read", "sync:write"]},
        {"name": "Term census", "scopes": ["read"], "expires_at": "2027-03-31T17:00:00Z"},
    )
    name: str = Field(min_length=1, max_length=200)
    scopes: list[ApiKeyScope] = Field(min_length=1)
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the key stops working by itself (a timestamp with its offset)"
    )
    require_if_match: Flag = Field(default=False, description=REQUIRE_IF_MATCH)


class ApiKeyRotate(SQLModel):
    """The optional body of a rotation: a new expiry. Absent, the expiry stays; `null`, the key no longer
    expires. Required (a future time or null) when the key has expired."""

    model_config = forbid_extra({}, {"expires_at": "2027-03-31T17:00:00Z"}, {"expires_at": None})
    expires_at: AwareDatetime | None = Field(
        default=None, description="The new expiry (a timestamp with its offset), or null for none"
    )


class ApiKeyPublic(SQLModel):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[ApiKeyScope]
    created_by_id: uuid.UUID | None = Field(description="The user who created the key")
    confirmed_by_id: uuid.UUID | None = Field(
        description="The coordinator who last confirmed or rotated the key, now answerable for it"
    )
    confirmed_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Recorded to the minute")
    require_if_match: bool = Field(description=REQUIRE_IF_MATCH)
    created_at: datetime


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret, shown this once only: store it now")


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: Whole
