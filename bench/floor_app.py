"""The framework floor: the smallest honest FastAPI app that does what every signed-in request of the service
must do, served by `make bench` beside the product on the same database, in the same rounds, so that each of
the product's figures can be given as a share of it (a busy machine slows both alike).

It verifies the same HS256 token with python-jose (signature, subject, issue time, expiry against the clock),
reads the account and its staff row by primary key in one statement through a sync `Session` dependency,
refuses a disabled account, a stale epoch and a member of staff who has left, and answers JSON. No
middleware, no permission table, no audit: what is left between the product and this is the product's own.

    DATABASE_URL=... SECRET_KEY=... uvicorn bench.floor_app:app
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Header, HTTPException
from jose import JWTError, jwt
from sqlalchemy.orm import Session

URL = os.environ["DATABASE_URL"]
SECRET = os.environ["SECRET_KEY"]
engine = sa.create_engine(
    URL,
    pool_size=20,
    max_overflow=20,
    connect_args={"check_same_thread": False} if URL.startswith("sqlite") else {},
)
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
ACCOUNT = sa.text(
    "SELECT u.id, u.email, u.role, u.is_active, u.token_epoch, s.left_on FROM user_account u "
    "JOIN staff s ON s.id = u.staff_id WHERE u.id = :id"
).bindparams(sa.bindparam("id", type_=sa.Uuid()))


def session() -> Iterator[Session]:
    with Session(engine) as s:
        yield s


@app.get("/floor/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/floor/me")
def me(s: Annotated[Session, Depends(session)], authorization: Annotated[str, Header()]) -> dict[str, Any]:
    try:
        claims = jwt.decode(
            authorization.removeprefix("Bearer "),
            SECRET,
            algorithms=["HS256"],
            options={"require_sub": True, "require_iat": True, "verify_exp": False},
        )
        if int(claims["exp"]) <= time.time():
            raise HTTPException(401)
        user_id = uuid.UUID(str(claims["sub"]))
    except (JWTError, ValueError, KeyError) as exc:
        raise HTTPException(401) from exc
    row = s.execute(ACCOUNT, {"id": user_id}).first()
    if row is None or not row.is_active or row.token_epoch != claims.get("ep"):
        raise HTTPException(401)
    left_on = (
        row.left_on
        if row.left_on is None or isinstance(row.left_on, date)
        else date.fromisoformat(row.left_on)
    )
    if left_on is not None and left_on <= date.today():
        raise HTTPException(401)
    return {"id": str(row.id), "email": row.email, "role": row.role, "left_on": left_on}
