"""One group's `since`, read with its load (`history_runs.ONE_GROUP_RUNS` sent with the loading statements,
`history_runs.dated`), is the organisation's export's (`history.with_since_many`, its own statement through
SQLAlchemy) for every demo group, every demo caller and days across the year the demo's history covers;
and the read costs no statement of its own."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session, select

from api import clock
from api.auth.models import User
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.compliance import fetch, history, history_runs, service
from api.compliance.engine import Evaluation
from api.compliance.redaction import redact_for
from api.demo import DEMO_ACCOUNTS, seed
from api.errors import NotFound
from api.groups.models import Group
from tests.kit.statements import count_statements


@pytest.fixture
def demo(session: Session) -> list[Reach]:
    seed(session)
    session.commit()
    reaches = []
    for _, email, _ in DEMO_ACCOUNTS:
        user = session.exec(select(User).where(User.email == email)).one()
        reaches.append(Reach.of(user_principal(user)))
    return reaches


def _days() -> list[date]:
    today = clock.today()
    return [today, today - timedelta(days=1), *(today - timedelta(days=d) for d in (30, 95, 200, 364, 400))]


def test_since_read_with_the_load_is_the_exports_for_every_demo_group_caller_and_day(
    session: Session, demo: list[Reach]
) -> None:
    groups = session.exec(select(Group)).all()
    dated_somewhere = before_records = 0
    for reach in demo:
        for group in groups:
            for as_of in _days():
                if as_of < group.started_on:
                    continue
                try:
                    evaluated = service.group_evaluated(
                        session=session, reach=reach, group_id=group.id, as_of=as_of
                    )
                except NotFound:  # out of this caller's reach: nothing to compare
                    continue
                redacted: Evaluation = redact_for(session, reach, evaluated.evaluation)
                ours = history_runs.dated(redacted, evaluated.runs, as_of)
                theirs = history.with_since_many(
                    session=session, as_of=as_of, evaluations={group.id: redacted}
                )
                assert ours == theirs[group.id], (reach.caller, group.name, as_of)
                dated_somewhere += sum(f.since is not None for f in ours.findings)
                before_records += sum(f.since_before_records for f in ours.findings)
    # The comparison covered both kinds of answer, not only findings with nothing to date.
    assert dated_somewhere > 0
    assert before_records > 0


def test_an_unknown_groups_runs_are_none_and_leave_its_evaluation_as_it_is(
    session: Session, demo: list[Reach]
) -> None:
    every = [
        service.group_evaluated(session=session, reach=demo[0], group_id=g.id, as_of=clock.today())
        for g in session.exec(select(Group)).all()
    ]
    # A group with something to date, so that leaving it as it is is not the same as dating nothing.
    evaluated = next(e for e in every if any(f.outcome in history.BAD for f in e.evaluation.findings))
    assert history_runs.runs_of([], fetch.reader(session.connection())) is None
    assert history_runs.dated(evaluated.evaluation, None, clock.today()) is evaluated.evaluation


def test_a_first_evaluation_sends_the_history_with_the_load(session: Session, demo: list[Reach]) -> None:
    # The history is one of the load's statements (sent together on PostgreSQL), not a statement of its own
    # after the evaluation: the statements a first evaluation and answer send are the load's and no more.
    group = next(g for g in session.exec(select(Group)).all() if g.started_on < clock.today())
    reach = demo[0]
    with count_statements(session.get_bind()) as seen:
        evaluated = service.group_evaluated(
            session=session, reach=reach, group_id=group.id, as_of=clock.today()
        )
    loaded = len(seen)
    assert any("compliance_history" in s for s in seen)
    with count_statements(session.get_bind()) as seen:
        service.group_answer(session=session, reach=reach, evaluated=evaluated, as_of=clock.today())
    assert not any("compliance_history" in s for s in seen)
    assert loaded > 0
