"""Where the rows a flush changes or deletes are now (api/facts.py's `before_flush`): the group or young
person each names in the database, not in the object.

The app's sessions keep their objects' values across a commit (`expire_on_commit=False`), and any session
keeps those it loaded earlier in a transaction, which under READ COMMITTED another one may change after. A
membership loaded in group 1, moved to group 6 by someone else and then ended through the object updates
(by id) the row in group 6 while the object still says group 1: its group of now, whose members changed,
would move no counter. So the column naming the group (or the young person) is read again for those rows,
by id, in the flush's own transaction before it writes them (PostgreSQL: locked, `FOR UPDATE`, so that no
one moves them again before the commit), and the scopes of both are moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


def now_in(session: Session, rules: Mapping[str, Any]) -> dict[str, set[Any]]:
    """For each table of `rules` (name -> `facts.Rule`) naming a row's group or young person in a column other
    than its key, the values that column holds now for the rows the flush changes or deletes (loaded
    before). An object only marked dirty, its values set to what they were, writes nothing: not read."""
    columns = {n: c for n, r in rules.items() if (c := r.group_column or r.person_column)}
    ids: defaultdict[sa.Table, list[Any]] = defaultdict(list)
    changed: Iterable[object] = (o for o in session.dirty if session.is_modified(o))
    for obj in (*changed, *session.deleted):
        table = getattr(type(obj), "__table__", None)
        state = sa.inspect(obj)
        if not isinstance(table, sa.Table) or table.name not in columns or state.identity is None:
            continue
        if not table.c[columns[table.name]].primary_key and len(state.identity) == 1:
            ids[table].append(state.identity[0])
    connection = session.connection()
    found: dict[str, set[Any]] = {}
    for table, keys in ids.items():
        (key,) = table.primary_key.columns
        read = sa.select(table.c[columns[table.name]]).where(key.in_(sorted(keys))).order_by(key)
        if connection.dialect.name == "postgresql":
            read = read.with_for_update(of=table)
        found[table.name] = {v for v in connection.execute(read).scalars() if v is not None}
    return found
