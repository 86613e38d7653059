"""How a policy version's free text (its summary) is redacted for a caller who may not read a young person it
names. The redactor is the publication guard's (api/consents/redaction.py), which registers itself here when
imported, so the policy package never imports consents (consents read the policy's settings; docs/
ARCHITECTURE.md, "Registries instead of upward imports")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import Depends
from pydantic import BaseModel
from sqlmodel import Session

from api.auth.reach import Reach, ReachDep
from api.common import Page
from api.db import SessionDep

M = TypeVar("M", bound=BaseModel)


class TextRedactor(Protocol):
    def fields(self, model: M, *names: str) -> M: ...

    def page(self, found: Page[Any], shape: type[M], *names: str) -> Page[M]: ...


_PROVIDER: list[Callable[[Session, Reach], TextRedactor]] = []


def register(provider: Callable[[Session, Reach], TextRedactor]) -> None:
    """Set the redactor (called once, by api/consents/redaction.py when it is imported)."""
    _PROVIDER[:] = [provider]


def redactor(session: SessionDep, reach: ReachDep) -> TextRedactor:
    """The request's redactor (a FastAPI dependency). Errors: RuntimeError when none is registered, so a
    summary is never answered unredacted by mistake."""
    if not _PROVIDER:
        raise RuntimeError("No text redactor is registered: import api.consents.redaction first")
    return _PROVIDER[0](session, reach)


RedactorDep = Annotated[TextRedactor, Depends(redactor)]
