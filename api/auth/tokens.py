"""The only module that touches python-jose: sign and verify access tokens.

python-jose is barely maintained, so its use is kept small: one algorithm accepted on decode, the claims
we rely on required, and every library error (JWKError for `alg: none` included) turned into one answer.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jose import jwt
from jose.exceptions import JOSEError

from api import clock

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    epoch: int
    issued_at: datetime


class InvalidToken(Exception):
    pass


def issue(*, user_id: uuid.UUID, epoch: int, secret: str, minutes: int, now: datetime | None = None) -> str:
    now = now or clock.now()
    claims = {
        "sub": str(user_id),
        "ep": epoch,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
    }
    return str(jwt.encode(claims, secret, algorithm=ALGORITHM))


def verify(token: str, *, secret: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            # Expiry is required and checked below against the service's one clock (api/clock.py), not the
            # library's: python-jose's `require_exp` would also check it against the host's clock.
            options={"require_sub": True, "require_iat": True, "verify_exp": False},
        )
        if int(claims["exp"]) <= clock.now().timestamp():
            raise InvalidToken("Signature has expired.")
        return TokenClaims(
            user_id=uuid.UUID(str(claims["sub"])),
            epoch=int(claims.get("ep", -1)),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
        )
    except (JOSEError, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc
