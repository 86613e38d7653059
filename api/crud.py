"""The few steps every domain's service repeats: fetch-or-404, apply a patch, save with an audit event."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import ColumnElement, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from api import events
from api.common import Page, PageParams, WriteOutcome
from api.db import Timestamped, utcnow
from api.errors import Conflict, FieldError, NotFound, PreconditionFailed, PreconditionRequired, Unprocessable
from api.events import Actor
from api.preconditions import CreateOnly, pinned

M = TypeVar("M", bound=Timestamped)
R = TypeVar("R", bound=SQLModel)
P = TypeVar("P", bound=SQLModel)
T = TypeVar("T")


class Raced(Conflict):
    """A write that lost to another writer between this one's read and its write: a uniqueness clash on
    insert, or a version that moved on. To its caller a 409 like any conflict; an upsert runs once more."""


# How many times an upsert that keeps losing races runs again. A record found is `locked`, so its writers
# queue and do not race; what is left is a create that loses to another create of the same id (or a
# different record's unique field), whose next run finds what the winner stored. A record that truly
# clashes with a different one still ends in the 409.
RACE_RETRIES = 8


def upsert_by_external_id(
    session: Session,
    *,
    find: Callable[[], M | None],
    create: Callable[[], M],
    change: Callable[[M], tuple[M, WriteOutcome]],
    expected_version: int | None = None,
    if_match_required: bool = False,
) -> tuple[M, WriteOutcome]:
    """The CRM's push of the record it knows by its external id: `find` it (`locked`, so writers of one
    record queue rather than race); none yet, `create` it (412 if
    an If-Match was given: there is no version to match); otherwise `change(existing)` says what became of
    it, or 412 before any change when `expected_version` is `CreateOnly` (If-None-Match: *). Two identical
    pushes at the same moment answer as one after the other would: a run that lost a
    race to store it runs again (up to RACE_RETRIES times), finds what the winner stored and compares with
    it (identical: unchanged; different: updated, or 412 on a stale If-Match), as the client's own retry
    would. A record that clashes with a different one still gets the 409 after the last run.

    `if_match_required` (the caller is an API key created with `require_if_match`): without If-Match only a
    create is made; a record that exists is a 428 `precondition_required` (in bulk sync, that record
    rejected with the code), checked before `change`, so nothing about the stored record is compared or
    told (RFC 6585 §3)."""

    def once() -> tuple[M, WriteOutcome]:
        existing = find()
        if existing is None:
            if expected_version is not None and not isinstance(expected_version, CreateOnly):
                raise PreconditionFailed("If-Match was given but there is no such record yet")
            return create(), "created"
        if isinstance(expected_version, CreateOnly):
            raise PreconditionFailed(
                "If-None-Match: * creates only, and a record already has this external id: nothing was "
                "written"
            )
        if expected_version is None and if_match_required:
            raise PreconditionRequired(
                "This API key replaces or changes a record that exists only with If-Match: read the record "
                'and send its ETag (for example "3"); without If-Match it may only create one'
            )
        # The precondition before anything compares the push with the stored record (a 422 or 409 on a
        # stale If-Match would tell what is stored before the caller is told to read it again).
        check_version(existing, expected_version)
        changed, outcome = change(existing)
        if outcome == "unchanged":
            # Nothing written: end the transaction, so the row lock `find` took is not held while the
            # answer is made (nor, in a bulk sync, while the next record waits on another's lock).
            session.commit()
        return changed, outcome

    for _ in range(RACE_RETRIES):
        try:
            return once()
        except Raced:
            session.rollback()
    return once()


def locked(query: SelectOfScalar[R]) -> SelectOfScalar[R]:
    """`query` reading the newest committed rows and locking them until the transaction ends (`SELECT …
    FOR UPDATE`; SQLite has no row locks, and needs none: BEGIN IMMEDIATE already queues its writers). So
    a push that finds a record changes the version it read: on PostgreSQL a compare-and-set on a version
    read without the lock loses to every writer that commits first, and under many at once runs out of
    `RACE_RETRIES` into a 409 for a change that clashed with nothing."""
    return query.with_for_update().execution_options(populate_existing=True)


def whole_for(data: P, external_id: str, **stored: Any) -> P:
    """A PUT body pushed by external id (the whole record), checked against the id in the path and given
    it, and `stored`, values as the record keeps them (an email in lower case). Errors: 422 naming
    `external_id` when the body names another id."""
    if getattr(data, "external_id", None) not in (None, external_id):
        raise Unprocessable.field("external_id", "differs from the external id in the path")
    return data.model_copy(update={"external_id": external_id, **stored})


def merge_patch_for(patch: P, external_id: str) -> P:
    """A PATCH body pushed by external id (JSON merge-patch: what is sent changes, what is left out keeps its
    value), checked against the id in the path. Errors: 422 naming `external_id` when the body names
    another id, or null (the record is the one the path names; it is not renamed by a patch of itself)."""
    if "external_id" in patch.model_fields_set and getattr(patch, "external_id", None) != external_id:
        raise Unprocessable.field("external_id", "differs from the external id in the path")
    return patch


def completed(patch: SQLModel, model: type[R], **fixed: Any) -> R:
    """The create body `model` made from a PATCH body (the fields sent, plus `fixed`, e.g. the path's
    external id), for a merge push that finds no record to change. Errors: 422 naming every field `model`
    requires that the body left out (`type` `missing`), in one answer so the client fixes them at once, and
    nothing written; 422 naming the field for a value `model` refuses."""
    sent = {**patch.model_dump(exclude_unset=True), **fixed}
    missing = [name for name, field in model.model_fields.items() if field.is_required() and name not in sent]
    if missing:
        message = "required to create the record: no record has this external id yet"
        raise Unprocessable(
            "No record has this external id, and creating one needs " + ", ".join(missing),
            errors=[FieldError(field=name, message=message, type="missing") for name in missing],
        )
    try:
        return model.model_validate(sent)
    except ValidationError as exc:
        errors = [
            FieldError(field=".".join(str(p) for p in e["loc"]) or "body", message=e["msg"], type=e["type"])
            for e in exc.errors()
        ]
        raise Unprocessable(
            "Invalid fields: " + ", ".join(sorted({e.field for e in errors})), errors=errors
        ) from None


def check_version(obj: Timestamped, expected_version: int | None) -> None:
    """412 if the client's If-Match (`expected_version`) is not the version `obj` is at."""
    if expected_version is not None and expected_version != obj.version:
        raise PreconditionFailed(
            f"The record is at version {obj.version}, not {expected_version}: read it again"
        )


# Fields a record's snapshot leaves out: bookkeeping that moves on every write, and secrets' hashes (a copy
# of a hash in the audit trail is one more thing to leak).
IGNORED_FIELDS = frozenset(
    {"updated_at", "version", "created_at", "password_hash", "key_hash", "secret", "previous_secret"}
)


def plain(value: Any) -> Any:
    """`value` as JSON holds it: an enum by its value, a date or time in ISO 8601, a UUID as text, and each
    value of a mapping, list or tuple likewise (a tuple becomes a list); anything else as it is. What a
    record's snapshot and a webhook's body are made of."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def snapshot(obj: SQLModel) -> dict[str, Any]:
    """The record's fields as JSON-ready values (enums by value, dates ISO 8601, UUIDs as text), without
    IGNORED_FIELDS: what `save` compares and the audit trail diffs."""
    return {k: plain(v) for k, v in obj.model_dump().items() if k not in IGNORED_FIELDS}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: {"before": old, "after": new}} for each changed field (the audit trail withholds free text)."""
    changed: dict[str, Any] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            changed[key] = {"before": old, "after": new}
    return changed


def get_or_404(session: Session, model: type[M], id_: uuid.UUID, label: str) -> M:
    obj = session.get(model, id_)
    if obj is None:
        raise NotFound(f"No {label} with id {id_}")
    return obj


def first_or_404(session: Session, query: SelectOfScalar[R], label: str, id_: object) -> R:
    """The first row `query` finds, or 404 "No {label} with id {id_}". A lookup that puts the caller's reach
    in `query` answers a record out of reach exactly as an unknown one."""
    found = session.exec(query).first()
    if found is None:
        raise NotFound(f"No {label} with id {id_}")
    return found


def get_within(
    session: Session, model: type[M], id_: uuid.UUID, within: ColumnElement[bool], label: str
) -> M:
    """The `model` row with id `id_` that the condition `within` (a `Reach` condition over the row's
    columns) admits, or 404 "No {label} with id {id_}": a record out of reach answers exactly as an unknown
    one (see `first_or_404`)."""
    return first_or_404(session, select(model).where(col(model.id) == id_, within), label, id_)


def page(session: Session, query: SelectOfScalar[R], *, limit: int, offset: int) -> tuple[list[R], int]:
    """One page and the total, both from the same filtered query (filters live in SQL, never after)."""
    total = session.exec(select(func.count()).select_from(query.order_by(None).subquery())).one()
    items = list(session.exec(query.limit(limit).offset(offset)).all())
    return items, int(total)


def where_equal(query: SelectOfScalar[R], *filters: tuple[Any, object]) -> SelectOfScalar[R]:
    """`query` narrowed to the rows whose column equals each (column, value) given: a list's optional
    filters, where a value of None filters nothing."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def latest_first(model: type[M], day: Any) -> tuple[Any, ...]:
    """The ORDER BY of a record's history, the latest first: by `day` (the column of the day the thing was
    done: a review, a check, a declaration), then by when it was recorded, newest first, then by id, so that
    rows on the same day keep one order from page to page."""
    return (col(day).desc(), col(model.created_at).desc(), col(model.id))


def paged(session: Session, query: SelectOfScalar[R], paging: PageParams) -> Page[R]:
    """The page of `query` the client asked for, as a list route answers it (see `page`)."""
    items, total = page(session, query, limit=paging.limit, offset=paging.offset)
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


def history(
    session: Session, model: type[M], filed_under: ColumnElement[bool] | bool, day: Any, paging: PageParams
) -> Page[M]:
    """The page the client asked for of the `model` records filed under one record (`filed_under`, such as
    `GroupReview.group_id == group.id`), the latest first (`latest_first`, by the column `day`)."""
    return paged(session, select(model).where(filed_under).order_by(*latest_first(model, day)), paging)


def listed(items: list[T], paging: PageParams) -> Page[T]:
    """The asked-for page of a list built whole in memory (an incident's timeline, merged from five)."""
    window = items[paging.offset : paging.offset + paging.limit]
    return Page(items=window, total=len(items), limit=paging.limit, offset=paging.offset)


def recast(found: Page[Any], items: list[T]) -> Page[T]:
    """The same page with its items replaced by their answering shape (`items` in the same order)."""
    return Page(items=items, total=found.total, limit=found.limit, offset=found.offset)


def apply(obj: M, patch: SQLModel) -> dict[str, Any]:
    """Set the fields the client sent; return the record's state before, for the audit diff."""
    before = snapshot(obj)
    for key, value in patch.model_dump(exclude_unset=True).items():
        setattr(obj, key, value)
    return before


def refuse_nulls(patch: SQLModel, required: Iterable[str]) -> None:
    """422 naming the first of the `required` fields that `patch` sets to null: a PATCH may leave a required
    field out (it keeps its value) but not clear it."""
    for field in required:
        if field in patch.model_fields_set and getattr(patch, field) is None:
            raise Unprocessable.field(field, f"{field} cannot be null")


def unchanged(obj: SQLModel, patch: SQLModel) -> bool:
    """Whether applying `patch` would leave `obj` as it is (so a repeated push writes nothing)."""
    return all(getattr(obj, k) == v for k, v in patch.model_dump(exclude_unset=True).items())


def save(
    session: Session,
    obj: M,
    *,
    actor: Actor | None,
    action: str,
    before: dict[str, Any] | None = None,
    unique_fields: tuple[str, ...] = (),
    expected_version: int | None = None,
    announce: object | None = None,
    commit: bool = True,
) -> M:
    """Commit the record and its audit event (`events.RecordSaved`) together; a uniqueness clash is a 409,
    and nothing is written. `announce`, an event such as `events.GroupFactsChanged`, is published after the
    commit (and after a write that found nothing to change, as the publisher's own call after it would be).

    `commit=False`: the record and its event are flushed, not committed, for a caller that stores more in
    the same transaction and commits once (a record is then never seen, nor left, half made); that caller
    publishes any announcement after its commit, so `announce` must not be given.

    An update (`before` given) is a compare-and-set on `version`: if another writer changed the record since
    it was read, nothing is written and the answer is 412 (the caller's If-Match is stale) or 409."""
    if not commit and announce is not None:
        raise ValueError("announce is published after a commit: the caller that commits publishes it")
    if before is not None:
        if not diff(before, snapshot(obj)):
            # Nothing changed: no new version, no audit entry (a repeated push or an empty PATCH).
            check_version(obj, expected_version)
            return _announced(session, obj, announce)
        _claim_version(session, obj, expected_version)
        obj.updated_at = utcnow()
    session.add(obj)
    # The audit trail adds its event here (api/audit/service.py subscribes), to commit with the record.
    events.publish(session, events.RecordSaved(entity=obj, actor=actor, action=action, before=before))
    try:
        session.flush()
        # Read back before the commit, not after: a read after it would begin another transaction, which
        # on SQLite (BEGIN IMMEDIATE, api/db.py) would hold the write lock while the answer is sent.
        session.refresh(obj)
        if commit:
            session.commit()
    except IntegrityError as exc:
        session.rollback()
        message = str(exc.orig).lower()
        field = next((f for f in unique_fields if f in message), unique_fields[0] if unique_fields else None)
        detail = f"Another record already has this {field}" if field else "Conflicts with an existing record"
        raise Raced(detail, extra={"field": field} if field else None) from exc
    # A session that forgets on commit (the command line's) reads it back.
    if commit and session.expire_on_commit:
        session.refresh(obj)
    return _announced(session, obj, announce)


def _announced(session: Session, obj: M, announce: object | None) -> M:
    if announce is not None:
        events.publish(session, announce)
    return obj


def claim_version(session: Session, obj: M, expected_version: int | None) -> None:
    """Bump `obj`'s version in the database if it is still the one read (and the one the caller expects):
    412 or 409 otherwise, with the transaction rolled back. For a change `save` cannot see as a diff (a
    record whose children changed)."""
    _claim_version(session, obj, expected_version)
    obj.updated_at = utcnow()


def _claim_version(session: Session, obj: M, expected_version: int | None) -> None:
    read = obj.version
    if expected_version is not None and expected_version != read:
        session.rollback()
        raise PreconditionFailed(f"The record is at version {read}, not {expected_version}: read it again")
    model = type(obj)
    # The row lock this UPDATE takes makes a concurrent writer wait, then find the version moved on.
    with session.no_autoflush:
        claimed = session.execute(
            update(model)
            .where(col(model.id) == obj.id, col(model.version) == read)
            .values(version=read + 1)
            .execution_options(synchronize_session=False)
        )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        if pinned(expected_version) is not None:
            raise PreconditionFailed("The record changed since it was read: read it again")
        raise Raced("The record was changed by someone else at the same time: try again")
    obj.version = read + 1
