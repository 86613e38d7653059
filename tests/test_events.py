"""The domain-event seam (api/events.py): records announce, the audit trail and compliance watch listen."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlmodel import Session

from api import events
from api.audit import service as audit
from api.compliance import watch


@dataclass(frozen=True)
class _Unheard:
    n: int


def test_an_event_nobody_listens_to_is_an_error_not_a_silent_loss(session: Session) -> None:
    with pytest.raises(RuntimeError, match="No subscriber for _Unheard"):
        events.publish(session, _Unheard(1))


def test_a_subscriber_is_called_once_however_often_it_subscribes(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(events._subscribers, _Unheard, [])
    heard: list[int] = []

    def listen(_: Session, event: _Unheard) -> None:
        heard.append(event.n)

    events.subscribe(_Unheard, listen)
    events.subscribe(_Unheard, listen)
    events.publish(session, _Unheard(7))
    assert heard == [7]


def test_group_facts_changed_leaves_out_records_in_no_group() -> None:
    group = uuid.uuid4()
    assert events.GroupFactsChanged.of([group, None, group]).group_ids == frozenset({group})


def test_the_app_wires_the_audit_trail_and_the_compliance_watch() -> None:
    # tests/conftest.py imports api.main, as every composition root imports api.listeners.
    handlers = events._subscribers
    assert watch._on_group_facts_changed in handlers[events.GroupFactsChanged]
    assert audit._on_record_saved in handlers[events.RecordSaved]
