"""The dependency that reads a record named in the path (STYLE.md example 2, fetch-or-404 as a dependency),
written once: a router names its service's lookup and the path parameter,

    GroupById = Annotated[Group, Depends(by_id_in_reach(service.get, "group_id"))]

and a route that takes `group: GroupById` is handed the group, or answered 404 (`not_found`) as the
service's lookup decides. The dependency's signature is fixed; its one path parameter is named by the
alias, so the spec and a 422's `loc` name it exactly as a hand-written `group_id: uuid.UUID` would.
"""

# No `from __future__ import annotations`: the path parameter's alias is held in a closure, which FastAPI
# must see as an object rather than a name to look up (as in records.py).

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Path

from api.auth.reach import ReachDep
from api.deps import SessionDep

T = TypeVar("T")


def by_id(get: Callable[..., T], name: str, **fixed: Any) -> Callable[..., T]:
    """A dependency `(<name> from the path: UUID, session) -> record` for records every caller allowed the
    route may reach (staff, users, API keys, webhooks, controls): `get(session=..., <name>=id, **fixed)`,
    the service's own lookup, which raises 404 when there is none."""

    def lookup(record_id: Annotated[uuid.UUID, Path(alias=name)], session: SessionDep) -> T:
        return get(session=session, **{name: record_id}, **fixed)

    return lookup


def by_id_in_reach(get: Callable[..., T], name: str, **fixed: Any) -> Callable[..., T]:
    """A dependency `(<name> from the path: UUID, session, reach) -> record` for records the caller's reach
    narrows (groups, participants, memberships, consents, incidents): `get(session=..., reach=...,
    <name>=id, **fixed)`, which raises 404 for a record out of reach exactly as for one that does not
    exist. Routes declare their permission before the record, so the role check answers first (403), and
    the caller learns nothing of a record they may not reach."""

    def lookup(record_id: Annotated[uuid.UUID, Path(alias=name)], session: SessionDep, reach: ReachDep) -> T:
        return get(session=session, reach=reach, **{name: record_id}, **fixed)

    return lookup
