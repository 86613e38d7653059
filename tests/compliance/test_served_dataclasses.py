"""The dataclasses the compliance answers serve as they are (orjson, api/compliance/router.py and cache.py):
none keeps slots, so orjson writes each from its `__dict__` (api/compliance/service.py says why), and the
bytes are still the fields in their declared order, as the answers' models (`shapes`) list them."""

from __future__ import annotations

import dataclasses
import sys
import typing
import uuid
from datetime import date
from typing import Any

import orjson

from api.compliance import forecast, history, history_runs, service
from api.compliance.engine import WaiverFacts, cite, evaluate
from api.compliance.history_runs import Runs
from api.compliance.models import Status
from api.compliance.rules import GROUP_RULES
from api.compliance.vocabulary import FACTS, Outcome, Precision
from tests.compliance import builders as b
from tests.compliance.test_fast_paths import _varied

ROOTS = (
    service.GroupReport,
    service.StaffReport,
    service.OrganisationReport,
    history.GroupHistory,
    history.OrganisationHistory,
    forecast.OrganisationForecast,
)


def _served() -> set[type]:
    """Every dataclass an answer of `ROOTS` holds, by its fields' annotations."""
    found: set[type] = set()
    todo: list[Any] = list(ROOTS)
    while todo:
        t = todo.pop()
        if dataclasses.is_dataclass(t) and isinstance(t, type):
            if t in found:
                continue
            found.add(t)
            todo.extend(typing.get_type_hints(t, vars(sys.modules[t.__module__])).values())
        else:
            todo.extend(typing.get_args(t))
    return found


def _fields_in_order(value: Any) -> Any:
    """`value` with every dataclass as a dict of its fields in declared order: what the bytes must say."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _fields_in_order(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_fields_in_order(v) for v in value]
    if isinstance(value, dict):
        return {k: _fields_in_order(v) for k, v in value.items()}
    return value


def test_no_served_dataclass_keeps_slots() -> None:
    served = _served()
    names = {t.__name__ for t in served}
    assert {"Finding", "Evidence", "Clause", "WaiverFacts", "Evaluation", "GroupSummary"} <= names
    assert {"ForecastDay", "GroupHistoryEntry", "HistoryPoint"} <= names

    def slotted(t: type) -> bool:
        return any(getattr(k, "__slots__", ()) for k in t.__mro__) or not t.__dictoffset__

    assert not {t.__name__ for t in served if slotted(t)}


def test_a_group_report_serves_its_fields_in_order() -> None:
    waived = b.group_snapshot(members=_varied()[4].members)
    rule_id = "GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT"
    waiver = WaiverFacts(uuid.uuid4(), uuid.uuid4(), rule_id, "a reason", b.AS_OF, b.AS_OF + b.days(30))
    served = 0
    for snapshot, waivers in [(s, None) for s in _varied()] + [(waived, {rule_id: waiver})]:
        ev = cite(evaluate(GROUP_RULES, snapshot, waivers), snapshot.policy)
        runs = Runs(b.STARTED, ((b.AS_OF - b.days(3), {f.rule_id: f.outcome.value for f in ev.findings}),))
        ev = history_runs.dated(ev, runs, b.AS_OF)
        g = snapshot.group
        report = service.GroupReport(
            g.id, g.name, g.platform, b.AS_OF, ev.status, ev.counts, ev.findings, FACTS, Precision.month
        )
        assert orjson.dumps(report) == orjson.dumps(_fields_in_order(report))
        served += sum(len(f.evidence) for f in report.findings)
    assert served > 20


def test_the_other_answers_serve_their_fields_in_order() -> None:
    ev = cite(evaluate(GROUP_RULES, _varied()[4]), None)
    summary = service.GroupSummary(uuid.uuid4(), "G", "facebook", Status.at_risk, ev.counts, ["A"], ["B"], [])
    totals = service.Totals(1, 0, 1, 0, {"A": 1})
    org = service.OrganisationReport(b.AS_OF, ev, [summary], totals, FACTS)
    staff = service.StaffReport(uuid.uuid4(), "S", b.AS_OF, ev.status, ev.counts, ev.findings, FACTS)
    entry = history.GroupHistoryEntry(b.AS_OF, Status.compliant, ["A"], [], [], Precision.month, ("B",))
    group_history = history.GroupHistory(uuid.uuid4(), "G", b.AS_OF, b.AS_OF, [entry])
    point = history.HistoryPoint(b.AS_OF, {"compliant": 1}, {"A": 1}, {}, {})
    org_history = history.OrganisationHistory(b.AS_OF, b.AS_OF, next(iter(history.Interval)), [point])
    change = forecast.ForecastChange(Outcome.pass_, ev.findings[0])
    day = forecast.ForecastDay(date(2026, 7, 1), Status.at_risk, (change,), Precision.month)
    ahead = forecast.GroupForecast(uuid.uuid4(), "G", "facebook", Status.compliant, day.on, (day,))
    org_forecast = forecast.OrganisationForecast(b.AS_OF, b.AS_OF + b.days(90), [ahead])
    for answer in (org, staff, group_history, org_history, org_forecast):
        assert orjson.dumps(answer) == orjson.dumps(_fields_in_order(answer)), type(answer).__name__
