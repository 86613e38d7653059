"""The CRM's push of one record by its external id, written once for the records the CRM keeps whole (staff,
participants): `PUT …/by-external-id/{id}` (the whole record), `PATCH` (the fields sent) and bulk sync's
two modes all come here. A domain declares one `Pushes` giving only what differs: its table and models,
its create and update verbs (their checks, audit event and announcements), the reach a record must be
within, and how a body is stored (an email in lower case).

What is the same for every such record: a push that changes nothing writes nothing (`unchanged`); one that
changes something goes through the domain's own update (`updated`, with the compare-and-set on the version
the CRM read); no record yet, the domain's create (`created`); and the preconditions, the races and the
412/428 answers of `crud.upsert_by_external_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from api import crud
from api.auth.reach import Reach
from api.common import WriteOutcome
from api.db import Timestamped

M = TypeVar("M", bound=Timestamped)
C = TypeVar("C", bound=SQLModel)
U = TypeVar("U", bound=SQLModel)


class PushMode(Enum):
    """Whether a push is the whole record or the fields sent: said by the route or the bulk sync's mode."""

    replace = "replace"
    merge = "merge"


def _anywhere(reach: Reach) -> bool:
    return True


def _as_sent(body: SQLModel) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Pushes(Generic[M, C, U]):
    """How the CRM pushes `table` records by their `external_id`: `create(session, reach, body)` adds one
    from a `creates` body; `update(session, reach, record, patch, expected_version)` changes one with an
    `updates` body as the domain's PATCH does (the version compare-and-set in its save). `within(reach)`:
    the condition (over the table's columns) a record must meet to be found; one outside it is not, so it
    is created, or clashes with a 409 on the id. `stored(body)`: the values of the body to store otherwise
    than sent ({"email": the email in lower case}), none by default."""

    table: type[M]
    creates: type[C]
    updates: type[U]
    create: Callable[[Session, Reach, C], M]
    update: Callable[[Session, Reach, M, U, int | None], M]
    within: Callable[[Reach], ColumnElement[bool] | bool] = _anywhere
    stored: Callable[[SQLModel], dict[str, Any]] = _as_sent

    def push(
        self,
        *,
        session: Session,
        reach: Reach,
        external_id: str,
        data: C | U,
        mode: PushMode,
        expected_version: int | None = None,
    ) -> tuple[M, WriteOutcome]:
        """Create or change the record the CRM knows by `external_id`, as `mode` says (the route or the bulk
        sync's mode, never the body's model, which a model subclassing the other would flip): `replace`, a
        `creates` body, is the whole record (PUT, bulk sync's `replace` mode), a field it leaves out
        becoming empty; `merge`, an `updates` body, the fields sent (PATCH, `merge` mode), a field it leaves
        out keeping its value and `null` clearing one that may be empty, and with no record yet one is
        created if it has every field `creates` requires. An identical push changes nothing. Pushes of one
        record queue for it (`crud.locked`), so two partial pushes at once keep both changes; with
        If-Match the later one is a 412 instead.

        Returns the record and `created`, `updated` or `unchanged`. Errors: 422 on `external_id` if the body
        names another (or, a patch, null); 422 naming each missing field (nothing written) for a create by
        patch without them; 412 on If-Match with no record yet, on a stale If-Match (changed or not), on
        If-None-Match: * with a record; 428 without If-Match from a key that requires it; the domain's own
        (a 422 on a field, 409 on a clash)."""
        if mode is PushMode.replace:
            whole = crud.whole_for(cast(C, data), external_id, **self.stored(data))
            # A replacement is a patch of every field: the ones the body left out become empty.
            patch = self.updates.model_validate(whole.model_dump())
            return self._push(session, reach, external_id, patch, lambda: whole, expected_version)
        patch = crud.merge_patch_for(cast(U, data), external_id)
        if stored := self.stored(patch):
            patch = patch.model_copy(update=stored)

        def new() -> C:
            return crud.completed(patch, self.creates, external_id=external_id)

        return self._push(session, reach, external_id, patch, new, expected_version)

    def _push(
        self,
        session: Session,
        reach: Reach,
        external_id: str,
        patch: U,
        new: Callable[[], C],
        expected_version: int | None,
    ) -> tuple[M, WriteOutcome]:
        def find() -> M | None:
            stored_id = col(self.table.external_id)  # type: ignore[attr-defined]
            return session.exec(
                crud.locked(select(self.table).where(stored_id == external_id, self.within(reach)))
            ).first()

        def change(existing: M) -> tuple[M, WriteOutcome]:
            # The If-Match was checked against `existing` before `change` is called, and nothing has been
            # written since: an identical push answers as it is.
            if crud.unchanged(existing, patch):
                return existing, "unchanged"
            return self.update(session, reach, existing, patch, expected_version), "updated"

        return crud.upsert_by_external_id(
            session,
            find=find,
            create=lambda: self.create(session, reach, new()),
            change=change,
            expected_version=expected_version,
            if_match_required=reach.caller.require_if_match,
        )
