"""Domain events: how a record announces a write to whoever listens, without importing the listener.

Records publish; other packages subscribe. A record's service says "these groups' facts changed" and the
compliance watch (api/compliance/watch.py) re-evaluates them; `crud.save` says "this record was saved"
and the audit trail (api/audit/service.py) adds its event. So no record package imports compliance, and
the kernel imports no domain (tests/test_architecture.py checks both).

Delivery is synchronous and in the publisher's session, at the point of `publish`, in the order the
subscribers subscribed: a publisher decides the timing and the transaction by where it calls `publish`
(after its commit for `GroupFactsChanged`, before its flush for `RecordSaved`), exactly as a direct call
would. An exception a subscriber raises reaches the publisher, as a direct call's would.

Subscribers subscribe when their module is imported; the composition roots (api/main.py, api/cli.py,
api/webhooks/worker.py) import them. Publishing an event nobody listens to is an error, not a silent no-op:
a write whose audit event or compliance announcement went nowhere would be a fault nobody sees.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlmodel import Session, SQLModel


class Actor(Protocol):
    """Who made a change, as the audit trail names them (api.auth.principal.Principal is one)."""

    @property
    def kind(self) -> str: ...  # "user" or "api_key"

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def label(self) -> str: ...


@dataclass(frozen=True, slots=True)
class GroupFactsChanged:
    """A committed write changed facts a group's compliance is evaluated from (its members, its reviews,
    its incidents, a roster answer, ...). Published after the publisher's commit."""

    group_ids: frozenset[uuid.UUID]

    @classmethod
    def of(cls, group_ids: Iterable[uuid.UUID | None]) -> GroupFactsChanged:
        """The event for the given groups; a None (a record in no group) is left out."""
        return cls(frozenset(g for g in group_ids if g is not None))


@dataclass(frozen=True, slots=True)
class RecordSaved:
    """`crud.save` is about to flush `entity` (created, or changed from `before`): published before the
    flush, in the write's own transaction, so whatever a subscriber adds commits or rolls back with it."""

    entity: SQLModel
    actor: Actor | None
    action: str
    before: dict[str, Any] | None


E = TypeVar("E")
_subscribers: dict[type[Any], list[Callable[[Session, Any], None]]] = {}


def subscribe(event_type: type[E], handler: Callable[[Session, E], None]) -> None:
    """Call `handler(session, event)` for every `event_type` published from now on (once, however many
    times the same handler subscribes)."""
    handlers = _subscribers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def publish(session: Session, event: object) -> None:
    """Deliver `event` to its subscribers now, in `session`. RuntimeError if it has none (a composition
    root forgot to import the listener)."""
    handlers = _subscribers.get(type(event))
    if not handlers:
        raise RuntimeError(f"No subscriber for {type(event).__name__}: import its listener at start-up")
    for handler in list(handlers):
        handler(session, event)
