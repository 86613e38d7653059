from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import AwareDatetime, EmailStr
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Field, SQLModel

from api.auth.roles import ApiKeyScope, Role
from api.common import Flag, NonBlank, Patch, Whole, forbid_extra
from api.db import Timestamped, UTCDateTime, enum_type
from api.described import DESCRIBED


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
    model_config = DESCRIBED
    id: uuid.UUID
    """The user account's id."""
    staff_id: uuid.UUID
    """The staff record the account signs in for (one account per member of staff)."""
    email: str
    """The address the user signs in with."""
    role: Role
    """What the account may do."""
    is_active: Flag
    """Whether it may sign in; a disabled account's tokens stop working at once."""
    last_login_at: datetime | None
    """When it last signed in (UTC, ISO 8601); null if never."""
    created_at: datetime
    """When it was created (UTC, ISO 8601)."""


class UserCreate(SQLModel):
    model_config = forbid_extra(
        {
            "staff_id": "a1636e83-711b-4de8-b849-85288ffbc2b5",
            "email": "callum.reid@riverbankmusic.org.uk",
            "role": "staff",
            "password": "a first passphrase to change",
        }
    )
    staff_id: uuid.UUID
    """The staff record the account is for; that member of staff must be current and have no account yet."""
    email: EmailStr
    """The address to sign in with (unique)."""
    role: Role
    """What the account may do (not integration)."""
    password: str = Field(min_length=12, max_length=256)
    """The first password, 12 to 256 characters; the user should change it after signing in."""


class UserUpdate(Patch):
    model_config = forbid_extra({"is_active": False}, {"role": "coordinator"})
    NOT_NULL: ClassVar[frozenset[str]] = frozenset({"role", "is_active"})
    role: Role | None = None
    """What the account may do; changing it ends the user's current tokens. Left out: unchanged."""
    is_active: Flag | None = None
    """false disables the account (its tokens stop at once); true enables it again. Left out: unchanged."""


class PasswordChange(SQLModel):
    model_config = forbid_extra(
        {
            "current_password": "riverbank-coordinator-demo",
            "new_password": "four words: violin river lantern",
        }
    )
    current_password: str = Field(max_length=256)
    """The password the user signs in with now."""
    new_password: str = Field(min_length=12, max_length=256)
    """The new password, 12 to 256 characters; every token issued before stops working."""


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
    name: NonBlank = Field(min_length=1, max_length=200)
    """What the key is for (for example "CRM nightly sync")."""
    scopes: list[ApiKeyScope] = Field(min_length=1)
    """What the key may do (at least one scope)."""
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
    model_config = DESCRIBED
    id: uuid.UUID
    """The key's id."""
    name: str
    """What the key is for."""
    prefix: str
    """The key's first characters, to recognise it; the key itself is never shown again."""
    scopes: list[ApiKeyScope]
    """What the key may do."""
    created_by_id: uuid.UUID | None = Field(description="The user who created the key")
    confirmed_by_id: uuid.UUID | None = Field(
        description="The coordinator who last confirmed or rotated the key, now answerable for it"
    )
    confirmed_at: datetime | None
    """When a coordinator last confirmed or rotated it (UTC, ISO 8601); null if never."""
    expires_at: datetime | None
    """When it stops working by itself (UTC, ISO 8601); null if it does not expire."""
    revoked_at: datetime | None
    """When it was revoked (UTC, ISO 8601); null while not revoked."""
    last_used_at: datetime | None = Field(description="Recorded to the minute")
    require_if_match: bool = Field(description=REQUIRE_IF_MATCH)
    created_at: datetime
    """When it was created (UTC, ISO 8601)."""


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="The secret, shown this once only: store it now")


class Token(SQLModel):
    model_config = DESCRIBED
    access_token: str
    """The bearer token: send it as "Authorization: Bearer <token>"."""
    token_type: str = "bearer"
    """Always bearer."""
    expires_in: Whole
    """Seconds until the token expires (ACCESS_TOKEN_MINUTES times 60)."""
