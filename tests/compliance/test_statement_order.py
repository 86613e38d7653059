"""The compliance loads read rows in an order both databases give alike: every statement whose order reaches
an answer (a finding's evidence, its ETag digest, an export's rows) orders its rows totally, its id last, so
two databases holding the same records answer byte for byte alike. The organisation report's members
statement alone has none (a sort of every membership, measured in bench/README.md, "Session 7"): its rows
reach only verdicts, and the report does not move when they come in another order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from api import clock
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.compliance import answered, queries, service
from api.compliance.queries import GROUP, _queries
from tests.compliance.test_answered import _varied
from tests.kit.auth import Actor


def _in_groups(column: sa.Column[Any]) -> sa.ColumnElement[bool]:
    return column.in_(sa.select(GROUP.c.id))


def _ordered_statements() -> Iterable[tuple[str, Any]]:
    """Every statement of a group's loads whose rows reach its answer, by the name it is known by."""
    for name, q in (
        ("one group", queries._ONE_GROUP_QUERIES),
        ("several groups", _queries(_in_groups)),
        ("a forecast's window", _queries(_in_groups, window=True)),
    ):
        for field in ("consents", "members", "reviews", "risks", "incidents", "waivers", "declarations"):
            yield f"{name}: {field}", getattr(q, field)
    yield "one group: roster entries", queries._ONE_GROUP_QUERIES.roster_entries
    for field in ("reviews", "risks", "incidents", "waivers", "declarations"):
        yield f"organisation report: {field}", getattr(answered.EVERY_ACTIVE, field)


@pytest.mark.parametrize(("name", "statement"), list(_ordered_statements()))
def test_a_group_load_orders_its_rows_totally(name: str, statement: Any) -> None:
    keys: Sequence[Any] = statement._order_by_clauses
    assert keys, f"{name}: no ORDER BY"
    last = keys[-1]
    # The last key is an id: `MEMBERSHIP.c.id`, or a union's output column named `id`.
    assert getattr(last, "name", None) == "id", f"{name}: the order ends with {last}, not an id"


def test_the_report_does_not_depend_on_the_order_of_its_members(
    session: Session, coordinator: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    _varied(session, coordinator, seed=11)
    assert coordinator.user is not None
    reach = Reach.of(user_principal(coordinator.user))
    as_ofs = (clock.today(), clock.today() - timedelta(days=30))
    before = [service.organisation_report(session=session, reach=reach, as_of=d) for d in as_ofs]
    people_of = answered.people_of

    def reversed_rows(member_rows: Sequence[Any], *rest: Any) -> Any:
        return people_of(list(reversed(member_rows)), *rest)

    monkeypatch.setattr(answered, "people_of", reversed_rows)
    after = [service.organisation_report(session=session, reach=reach, as_of=d) for d in as_ofs]
    assert after == before
    assert any(g.failing_rules for r in before for g in r.groups)
