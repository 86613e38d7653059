"""`cache.read_groups`: the counters an answer about many groups stands on (the organisation report, the
dashboard and workbook, the forecast), read in one statement and paired the one way their entries are kept."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from api import facts
from api.compliance import cache
from tests.kit.groups import make_group


def _table(session: Session) -> dict[str, int]:
    rows = session.execute(sa.select(facts.FACTS_VERSION.c.scope, facts.FACTS_VERSION.c.version)).all()
    return {str(scope): int(version) for scope, version in rows}


def test_each_group_is_paired_with_the_organisations_counter(session: Session) -> None:
    written, other = make_group(session), make_group(session)
    # Its own, its members' and the organisation's counters move: all three rows are there.
    facts.touch(session, [written.id, other.id])
    session.commit()
    table = _table(session)
    assert {facts.scope_of(written.id), facts.members_scope_of(written.id), facts.ORG} <= set(table)
    assert table[facts.scope_of(written.id)] != table[facts.scope_of(other.id)]

    read = cache.read_groups(session)

    assert read.org == table[facts.ORG] != 0
    assert read.of(written.id) == (table[facts.scope_of(written.id)], table[facts.ORG])
    assert read.of(other.id) == (table[facts.scope_of(other.id)], table[facts.ORG])
    one = facts.read(session, written.id)  # the one group's read agrees on the pair
    assert read.of(written.id) == (one.group, one.org)


def test_a_group_never_written_stands_under_0(session: Session) -> None:
    never = uuid.uuid4()
    assert facts.scope_of(never) not in _table(session)
    read = cache.read_groups(session)
    assert read.of(never) == (0, read.org)
    # Its first write moves it off 0: what was kept under 0 no longer stands.
    facts.touch(session, [never])
    session.commit()
    assert cache.read_groups(session).of(never)[0] not in (0, read.of(never)[0])


def test_every_is_each_group_and_the_organisation_in_scope_order_members_left_out(session: Session) -> None:
    groups = [make_group(session) for _ in range(3)]
    facts.touch(session, [g.id for g in groups])
    session.commit()
    table = _table(session)

    every = cache.read_groups(session).every

    scopes = [scope for scope, _ in every]
    assert scopes == sorted(scopes)
    assert every == tuple(sorted((s, v) for s, v in table.items() if not s.startswith("m")))
    assert {facts.scope_of(g.id) for g in groups} | {facts.ORG} <= set(scopes)
    assert not {facts.members_scope_of(g.id) for g in groups} & set(scopes)
    assert all(facts.members_scope_of(g.id) in table for g in groups)


def test_each_read_is_the_database_as_it_stands_and_the_answer_is_frozen(session: Session) -> None:
    group = make_group(session)
    facts.touch(session, [group.id])
    session.commit()
    before = cache.read_groups(session)
    assert cache.read_groups(session) == before  # the same counters: the same key
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.org = 0  # type: ignore[misc]

    facts.touch(session, [group.id])
    session.commit()
    after = cache.read_groups(session)

    assert after != before
    assert after.of(group.id)[0] != before.of(group.id)[0]
    assert after.org != before.org
    assert after.every != before.every
