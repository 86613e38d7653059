"""Free text answered to a caller who may not read every participant it names: each protected detail of a
participant (or of their carer, or of whoever gave their consent) outside the caller's reach is replaced by
a neutral label. Staff write free text (a control check's follow-up, a risk assessment, a policy version's
summary) that trustees and staff outside a child's groups read; the publication guard
(`api.consents.publication`) finds the details in any spelling it knows, and this module blanks them.

Policy: "Ensuring that the personal information of ... service users (including service users' names) are
not published", and a child's details reach only those who work with the child (the reach table).

Only the answer changes: the stored text is never touched. One `Redactor` per request: it reads the
directory (cached across requests, one statement to check it is current) and the caller's participants
(one statement) once, whatever the number of rows it then reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from pydantic import BaseModel
from sqlmodel import Session

from api import crud
from api.auth.reach import Reach, ReachDep, Record
from api.common import Page
from api.consents.canonical import read
from api.consents.publication import Directory
from api.consents.publication_check import Owner, Visible, directory, visible_to
from api.consents.publication_keys import Match
from api.deps import SessionDep
from api.policy import redacting

# What stands in for a detail: says what kind of thing was there, never whose.
CHILD = "[a young person]"
CARER = "[a carer]"
CONTACT = "[contact details]"

M = TypeVar("M", bound=BaseModel)


def _label(match: Match) -> str:
    if match.kind != "name":
        return CONTACT
    roles = {o.role for o in match.owners if isinstance(o, Owner)}
    return CHILD if "participant" in roles else CARER


class Redactor:
    """Blanks, in a text, the details of participants (with their carers and consent givers) the caller may
    not read. A caller who reads every participant gets every text as written (and costs no statement)."""

    def __init__(self, session: Session, reach: Reach) -> None:
        self._session = session
        self._reach = reach
        self._loaded: tuple[Directory, Visible] | None = None

    @property
    def everything(self) -> bool:
        """Whether the caller reads every participant, so every text is answered as written."""
        return self._reach.reads_every(Record.participant)

    def _load(self) -> tuple[Directory, Visible]:
        # Read on the first text, once per request: a route that answers no text costs no statement.
        if self._loaded is None:
            self._loaded = (directory(self._session), visible_to(self._session, self._reach))
        return self._loaded

    @staticmethod
    def _hidden(match: Match, visible: Visible) -> bool:
        # Staff's own details are not this guard's: only a young person's side is hidden here. A detail two
        # people share is hidden when either is out of reach.
        return any(isinstance(o, Owner) and o.role != "staff" and not visible.sees(o) for o in match.owners)

    def text(self, value: str | None) -> str | None:
        """`value` with each hidden detail's span replaced by its label; None stays None."""
        if value is None or self.everything:
            return value
        index, visible = self._load()
        # Spans may overlap (text with markup is read as HTML and as plain text): merged, in order.
        spans: list[tuple[int, int, str]] = []
        for match in sorted(index.find(read(value)), key=lambda m: (m.start, -m.end)):
            if not self._hidden(match, visible):
                continue
            if spans and match.start < spans[-1][1]:
                start, end, label = spans[-1]
                spans[-1] = (start, max(end, match.end), label)
            else:
                spans.append((match.start, match.end, _label(match)))
        if not spans:
            return value
        parts: list[str] = []
        at = 0
        for start, end, label in spans:
            parts.append(value[at:start])
            parts.append(label)
            at = end
        parts.append(value[at:])
        return "".join(parts)

    def fields(self, model: M, *names: str) -> M:
        """A copy of `model` (an answering shape, never a stored row) with the named text fields redacted."""
        if self.everything:
            return model
        return model.model_copy(update={name: self.text(getattr(model, name)) for name in names})

    def answer(self, row: Any, shape: type[M], *names: str) -> M:
        """`row` (a stored row or an answering shape) as `shape`, with the named text fields redacted. The
        row itself is never changed, so nothing redacted can be flushed to storage."""
        return self.fields(shape.model_validate(row, from_attributes=True), *names)

    def page(self, found: Page[Any], shape: type[M], *names: str) -> Page[M]:
        """The same page, each item as `answer` gives it."""
        return crud.recast(found, [self.answer(row, shape, *names) for row in found.items])


def redactor(session: SessionDep, reach: ReachDep) -> Redactor:
    """The request's redactor (a FastAPI dependency)."""
    return Redactor(session, reach)


RedactorDep = Annotated[Redactor, Depends(redactor)]


def redacted_as(shape: type[M], *names: str) -> Callable[[Session, Reach, Any], M]:
    """How a route answers a stored record (a `present` of `api.records`): as `shape`, with the named text
    fields redacted for the caller."""
    return lambda session, reach, row: Redactor(session, reach).answer(row, shape, *names)


def redacted_page(shape: type[M], *names: str) -> Callable[[Session, Reach, Page[Any]], Page[M]]:
    """How a route answers a page of stored records (a `present` of `SubRecords.list`): each as `shape`,
    with the named text fields redacted for the caller."""
    return lambda session, reach, found: Redactor(session, reach).page(found, shape, *names)


# The policy's summaries are redacted by this guard too; the policy cannot import consents, so it asks here.
redacting.register(Redactor)
