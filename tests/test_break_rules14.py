"""Session 14's group rules' fast paths (issue 19) held against the rules as they were before them (b6e42f8):
every rule's outcome, message and evidence, `evaluate`, `verdicts` and `verdicts_each`, and the consents'
answers folded for the organisation report, the same for generated and hand-picked snapshots; `verdicts`
and `verdicts_each` the same as `evaluate`; the process-wide maps of `rules.base` bounded under threads and
never holding what identifies a young person.

The old modules are read from git at that commit into a package of their own (the snapshot module, the
consents' logic and `consent_answers` did not change but for `GroupSnapshot.current_participant_facts`,
which the old rules do not call): without the commit (a shallow clone) those comparisons are skipped."""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import random
import re
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api import clock
from api.compliance import answered, consent_answers
from api.compliance.decoding import _Days
from api.compliance.engine import WaiverFacts, evaluate, verdicts, verdicts_each
from api.compliance.rules import GROUP_RULES, ORG_RULES, STAFF_RULES
from api.compliance.rules import base as rules_base
from api.compliance.rules.base import outcomes_only
from api.compliance.snapshot import (
    GroupSnapshot,
    MemberFacts,
    OrgSnapshot,
    ParticipantFacts,
    PolicyFacts,
    StaffFacts,
    Thresholds,
)
from api.consents.logic import ConsentFact
from api.consents.models import ConsentKind, GivenBy
from api.policy import citing
from api.policy.clauses import CLAUSES
from tests.compliance import builders as b
from tests.kit.auth import Actor
from tests.kit.compliance import make_compliant_group, make_waiver
from tests.kit.consents import make_consent
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.policy_publish import publish_confirmed
from tests.test_compliance_cache import fresh, served

OLD = "b6e42f8"
_ROOT = Path(__file__).resolve().parents[1]
V1 = _ROOT / "api" / "policy" / "esafety-policy-v1.txt"
# The modules session 14 changed that the rules' outcomes go through; everything else is shared.
_RENAMED = re.compile(r"\bapi\.compliance\.(rules|engine|answered)\b")


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(_ROOT), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """The rules, engine and answered module as of `OLD`, as the package `old14`."""
    try:
        names = _git("ls-tree", "--name-only", f"{OLD}:api/compliance/rules").split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"commit {OLD} is not in this clone")
    root = tmp_path_factory.mktemp("old14")
    package = root / "old14"
    (package / "rules").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    sources = {f"rules/{n}": f"api/compliance/rules/{n}" for n in names if n.endswith(".py")}
    sources |= {"engine.py": "api/compliance/engine.py", "answered.py": "api/compliance/answered.py"}
    for into, path in sources.items():
        (package / into).write_text(_RENAMED.sub(r"old14.\1", _git("show", f"{OLD}:{path}")))
    sys.path.insert(0, str(root))
    # The old catalog registers itself with the policy's publishing (`citing.register`) as it is imported:
    # the new one stays registered for every other test.
    registered = citing.citing_rules()
    try:
        found = SimpleNamespace(
            rules=importlib.import_module("old14.rules"),
            base=importlib.import_module("old14.rules.base"),
            engine=importlib.import_module("old14.engine"),
            answered=importlib.import_module("old14.answered"),
        )
    finally:
        sys.path.remove(str(root))
        citing.register(registered)
    yield found
    for name in [n for n in sys.modules if n == "old14" or n.startswith("old14.")]:
        del sys.modules[name]


def _plain(value: Any) -> Any:
    """A result, evaluation or verdicts as plain data: the old and new classes are different classes."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _run(call: Callable[..., Any], *args: Any) -> Any:
    """What `call(*args)` answers, or the kind of error it raises: both trees must raise alike."""
    try:
        return ("ok", _plain(call(*args)))
    except Exception as e:
        return ("raised", type(e).__name__)


# Days around which a rule decides: 29 February (leap, non-leap and century years), month ends, the
# calendar's ends.
_AS_OF = (
    date(2024, 2, 28),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2023, 2, 28),
    date(2023, 3, 1),
    date(2100, 2, 28),
    date(2100, 3, 1),
    date(2000, 2, 29),
    b.AS_OF,
    date(2, 1, 1),
    date(9998, 12, 31),
)
_AGES = (None, 0, 1, 4, 11, 12, 18, 25, 150, 9998, 10**6, -1)
_KINDS = ("esafety_agreement", "image_use", "code_of_conduct", "data_sharing")
_PURPOSES = ("social_media", "website", "print")


def _years_before(on: date, years: int, month: int, day: int) -> date:
    year = min(max(on.year - years, 1), 9999)
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        day = 28
    return date(year, month, day)


def _shift(on: date, n: int) -> date:
    try:
        return on + timedelta(days=n)
    except OverflowError:
        return on


def _birthdays(on: date) -> list[date]:
    """Around every birthday bound an age range can set on `on`."""
    found = [date.min, date(1, 1, 2), date.max, _shift(date.max, -1), on, _shift(on, 1), _shift(on, -1)]
    for years in (0, 1, 4, 11, 12, 18, 19, 25, 26, 150, 151):
        for month, day in ((2, 28), (2, 29), (3, 1), (on.month, on.day), (12, 31), (1, 1)):
            exact = _years_before(on, years, month, day)
            found += [exact, _shift(exact, 1), _shift(exact, -1)]
    return found


def _consent(rng: random.Random, on: date) -> ConsentFact:
    purposes = frozenset(rng.sample(_PURPOSES, rng.randint(0, len(_PURPOSES))))
    return ConsentFact(
        uuid.uuid4(),
        rng.choice(_KINDS),
        purposes,
        rng.choice(("participant", "parent_carer", "participant")),
        _shift(on, rng.choice((-5000, -400, -1, 0, 1))),
        rng.choice((None, None, on, _shift(on, 1), _shift(on, -1))),
        rng.choice((None, None, None, on, _shift(on, 1))),
    )


def _participant(rng: random.Random, on: date) -> ParticipantFacts:
    return ParticipantFacts(
        uuid.uuid4(),
        f"Child {uuid.uuid4().hex[:8]}",
        rng.choice(_birthdays(on)),
        _shift(on, -rng.randint(0, 900)),
        rng.choice((None, None, None, on, _shift(on, -1), _shift(on, 1))),
        tuple(_consent(rng, on) for _ in range(rng.randint(0, 5))),
    )


def _staff(rng: random.Random, on: date) -> StaffFacts:
    return b.staff(
        full_name=f"Staff {uuid.uuid4().hex[:6]}",
        email=rng.choice(("x@moremusic.org.uk", "x@gmail.com")),
        started_on=_shift(on, rng.choice((-2000, -1, 0, 1))),
        left_on=rng.choice((None, None, on, _shift(on, 1), _shift(on, -1))),
        is_esafety_coordinator=rng.random() < 0.3,
        code_of_conduct_signed_on=rng.choice((None, _shift(on, -10), _shift(on, 1))),
        esafety_training_completed_on=rng.choice((None, _shift(on, -10), _shift(on, -2000))),
    )


def _member(rng: random.Random, on: date, person: StaffFacts | ParticipantFacts) -> MemberFacts:
    return b.member(
        person,
        rng.choice(("admin", "member", "member")),
        started_on=_shift(on, rng.choice((-700, -1, 0, 1))),
        ended_on=rng.choice((None, None, None, on, _shift(on, 1), _shift(on, -1))),
    )


def _snapshot(rng: random.Random) -> GroupSnapshot:
    on = rng.choice(_AS_OF)
    shape = rng.choice(("empty", "staff", "participants", "mixed", "mixed", "mixed"))
    people: list[StaffFacts | ParticipantFacts] = []
    if shape in ("staff", "mixed"):
        people += [_staff(rng, on) for _ in range(rng.randint(1, 4))]
    if shape in ("participants", "mixed"):
        people += [_participant(rng, on) for _ in range(rng.randint(1, 6))]
    snapshot = b.group_snapshot(as_of=on, members=tuple(_member(rng, on, p) for p in people))
    return b.with_group(
        snapshot,
        min_age=rng.choice(_AGES),
        max_age=rng.choice(_AGES),
        platform=rng.choice(("facebook_group", "email_list", "whatsapp")),
        started_on=_shift(on, rng.choice((-400, 0, 1))),
    )


def _policy(withdrawing: str) -> PolicyFacts:
    texts = {c.id: c.text for r in GROUP_RULES for c in (r.clause, *r.also)}
    rule = next(r for r in GROUP_RULES if r.id == withdrawing)
    for c in (rule.clause, *rule.also):
        texts.pop(c.id, None)
    return PolicyFacts(2, b.AS_OF, texts, 2)


def _waivers(rng: random.Random, on: date) -> dict[str, WaiverFacts] | None:
    if rng.random() < 0.4:
        return None
    return {
        r.id: WaiverFacts(
            uuid.uuid4(),
            uuid.uuid4(),
            r.id,
            "migration",
            _shift(on, rng.choice((-10, 0, 1))),
            _shift(on, rng.choice((0, 1, 10))),
            rng.choice((None, on, _shift(on, 1))),
        )
        for r in rng.sample(list(GROUP_RULES), rng.randint(1, 6))
    }


def _judged(seed: int, n: int) -> list[tuple[GroupSnapshot, dict[str, WaiverFacts] | None]]:
    rng = random.Random(seed)
    found = []
    for _ in range(n):
        s = _snapshot(rng)
        if rng.random() < 0.25:
            s = replace(s, policy=_policy(rng.choice(GROUP_RULES).id))
        found.append((s, _waivers(rng, s.as_of)))
    return found


def _answered(s: GroupSnapshot) -> GroupSnapshot:
    """`s` as the organisation report loads it: each participant's consents answered ahead."""
    members = tuple(
        m._replace(
            participant=m.participant._replace(
                answers=consent_answers.answers_of(m.participant.consents, s.as_of), consents=()
            )
        )
        if m.participant is not None
        else m
        for m in s.members
    )
    return replace(s, members=members)


def test_the_old_tree_is_the_old_one(old: SimpleNamespace) -> None:
    # Held apart: the comparisons below would compare the new rules with themselves.
    assert old.rules.GROUP_RULES[0].check.__module__.startswith("old14.")
    assert not hasattr(old.engine, "verdicts_each")
    assert [r.id for r in old.rules.GROUP_RULES] == [r.id for r in GROUP_RULES]


@pytest.mark.parametrize("seed", range(4))
def test_every_rule_answers_as_before_on_generated_groups(old: SimpleNamespace, seed: int) -> None:
    for s, waivers in _judged(seed, 150):
        for new_rule, old_rule in zip(GROUP_RULES, old.rules.GROUP_RULES, strict=True):
            assert _run(new_rule.check, s) == _run(old_rule.check, s), (new_rule.id, s)
            with outcomes_only(), old.base.outcomes_only():
                assert _run(new_rule.check, s) == _run(old_rule.check, s), new_rule.id
        assert _run(evaluate, GROUP_RULES, s, waivers) == _run(
            old.engine.evaluate, old.rules.GROUP_RULES, s, waivers
        )
        assert _run(verdicts, GROUP_RULES, s, waivers) == _run(
            old.engine.verdicts, old.rules.GROUP_RULES, s, waivers
        )


@pytest.mark.parametrize("seed", range(4))
def test_verdicts_each_and_answered_consents_as_before_and_as_evaluate(
    old: SimpleNamespace, seed: int
) -> None:
    judged = [(s, w) for s, w in _judged(100 + seed, 150) if _run(evaluate, GROUP_RULES, s)[0] == "ok"]
    assert len(judged) > 50
    each = verdicts_each(GROUP_RULES, judged)
    loaded = verdicts_each(GROUP_RULES, [(_answered(s), w) for s, w in judged])
    for (s, w), v, answered_v in zip(judged, each, loaded, strict=True):
        full = evaluate(GROUP_RULES, s, w)
        assert v == verdicts(GROUP_RULES, s, w) == answered_v
        assert _plain(v) == _plain(old.engine.verdicts(old.rules.GROUP_RULES, _answered(s), w))
        assert (v.status, v.counts) == (full.status, full.counts)
        assert v.failing == [f.rule_id for f in full.findings if f.outcome.value == "fail" and not f.waiver]
        assert v.warning == [f.rule_id for f in full.findings if f.outcome.value == "warn" and not f.waiver]
        assert v.waived == [f.rule_id for f in full.findings if f.waiver and f.outcome.value != "pass"]


def test_the_age_range_as_before_on_every_bound(old: SimpleNamespace) -> None:
    new_check = next(r for r in GROUP_RULES if r.id == "GRP-AGE-RANGE").check
    old_check = next(r for r in old.rules.GROUP_RULES if r.id == "GRP-AGE-RANGE").check
    ages = (None, -2, -1, 0, 1, 11, 12, 17, 18, 19, 150, 9997, 9998, 9999, 10**9)
    compared = 0
    for on in (*_AS_OF, date.min, date(1, 3, 1), date(9999, 12, 31), date(9999, 2, 28), date(4, 2, 29)):
        people = tuple(
            b.member(b.participant(date_of_birth=born, consents=())) for born in sorted(set(_birthdays(on)))
        )
        s = b.group_snapshot(as_of=on, members=people)
        for low, high in itertools.product(ages, ages):
            g = b.with_group(s, min_age=low, max_age=high)
            assert _run(new_check, g) == _run(old_check, g), (on, low, high)
            compared += 1
    assert compared > 3000


def test_pairs_of_one_participant_leaving_and_consenting_on_the_day(old: SimpleNamespace) -> None:
    """Hand-picked: a participant who left on `as_of`, memberships starting and ending on it, consents given
    by the participant and by another on, before and after it, several of one kind."""
    on = b.AS_OF
    consents = [
        b.consent(kind, given_by=by, given_on=given, purposes=frozenset(purposes))
        for kind, by, given, purposes in itertools.product(
            ("esafety_agreement", "image_use", "code_of_conduct"),
            ("participant", "parent_carer"),
            (on - timedelta(days=1), on, on + timedelta(days=1)),
            ((), ("social_media",), ("website", "social_media")),
        )
    ]
    born = (date(2008, 6, 15), date(2008, 6, 16), date(2012, 2, 29), date(2015, 1, 1))
    for (a, c), dob, left, (start, end) in itertools.product(
        zip(consents, consents[7:] + consents[:7], strict=True),
        born,
        (None, on, on - timedelta(days=1)),
        ((on, None), (on - timedelta(days=9), on), (on + timedelta(days=1), None)),
    ):
        p = b.participant(date_of_birth=dob, left_on=left, consents=(a, c, a))
        s = b.group_snapshot(
            members=(*b.group_snapshot().members[:2], b.member(p, started_on=start, ended_on=end))
        )
        for new_rule, old_rule in zip(GROUP_RULES, old.rules.GROUP_RULES, strict=True):
            assert _run(new_rule.check, s) == _run(old_rule.check, s), new_rule.id
        assert _plain(verdicts(GROUP_RULES, _answered(s))) == _plain(
            old.engine.verdicts(old.rules.GROUP_RULES, s)
        )


def test_staff_rules_as_before(old: SimpleNamespace) -> None:
    rng = random.Random(7)
    for _ in range(300):
        on = rng.choice(_AS_OF)
        s = b.staff_snapshot(_staff(rng, on), as_of=on)
        for new_rule, old_rule in zip(STAFF_RULES, old.rules.STAFF_RULES, strict=True):
            assert _run(new_rule.check, s) == _run(old_rule.check, s), new_rule.id


def test_organisation_rules_as_before(old: SimpleNamespace) -> None:
    """Their passes and not applicables are now kept by words (`rules.base._kept`) too."""
    rng = random.Random(8)
    for _ in range(200):
        on = rng.choice(_AS_OF)
        coordinators = tuple(_staff(rng, on) for _ in range(rng.randint(0, 3)))
        s = OrgSnapshot(on, Thresholds(), coordinators)
        for new_rule, old_rule in zip(ORG_RULES, old.rules.ORG_RULES, strict=True):
            assert _run(new_rule.check, s) == _run(old_rule.check, s), new_rule.id


def _purposes_text(rng: random.Random) -> str | None:
    chosen = [rng.choice(_PURPOSES) for _ in range(rng.randint(0, 4))]  # duplicates, any order
    return rng.choice((None, json.dumps(chosen), json.dumps(sorted(set(chosen))), "[]"))


@pytest.mark.parametrize("seed", range(3))
def test_folded_answers_and_people_as_before(old: SimpleNamespace, seed: int) -> None:
    rng = random.Random(seed)
    pids = [uuid.uuid4().hex for _ in range(40)]
    days = ("2026-06-14", "2026-06-15", "2024-02-29", "2010-03-01")
    for _ in range(30):
        rows = [
            (
                rng.choice(pids),
                rng.randrange(len(answered._KINDS)),
                rng.choice((None, None, *days)),
                _purposes_text(rng),
            )
            for _ in range(rng.randint(0, 120))
        ]
        new_days, old_days = _Days(date.fromisoformat), _Days(date.fromisoformat)
        folded = answered.fold_answers(rows, new_days)
        assert folded == old.answered._answered(rows, old_days)
        groups = [uuid.uuid4().hex for _ in range(4)]
        members = [
            (
                rng.choice(groups),
                pid,
                rng.randrange(2),
                rng.choice(days),
                rng.choice((None, *days)),
                None if rng.random() < 0.8 else uuid.uuid4().hex,
                rng.choice(days),
                rng.choice((None, *days)),
            )
            for pid in rng.sample(pids, 30)
        ]
        new_people = answered.people_of(members, folded, new_days)
        old_people = old.answered.people_of(members, rows, old_days)

        def plain(people: Any) -> Any:
            # `NOT_LOADED` refuses to be compared: each tree's stands for the same column not read.
            unloaded = (answered.NOT_LOADED, old.answered.NOT_LOADED)
            return {
                g: (
                    [
                        m
                        if m is None
                        else (
                            *m[:4],
                            tuple("unloaded" if any(v is u for u in unloaded) else v for v in m.participant),
                        )
                        for m in p.members
                    ],
                    p.staff_seats,
                )
                for g, p in people.items()
            }

        assert plain(new_people) == plain(old_people)


def _kept_maps() -> list[dict[Any, Any]]:
    return [rules_base._passes, rules_base._not_applicable, rules_base._tallied]


def _reborn(s: GroupSnapshot, rng: random.Random) -> GroupSnapshot:
    born = [date(rng.randint(1960, 1998), rng.randint(1, 12), rng.randint(1, 28)) for _ in s.members]
    return replace(
        s,
        members=tuple(
            m._replace(participant=m.participant._replace(date_of_birth=d)) if m.participant else m
            for m, d in zip(s.members, born, strict=True)
        ),
    )


def test_the_kept_maps_hold_nothing_of_a_young_person() -> None:
    """Every rule over generated groups, with and without outcomes only: no participant's name, id (either
    form) or date of birth is in a key or value of the bounded maps."""
    for m in _kept_maps():
        m.clear()
    rng = random.Random(11)
    # Birthdays no other fact of the generated groups falls on (their days are near `_AS_OF` and
    # `builders.AS_OF`), so that one found in a kept message could only be the young person's.
    judged = [(_reborn(s, rng), w) for s, w in _judged(11, 200)]
    identifying: set[str] = set()
    for s, w in judged:
        for _, p in s.current_participants():
            identifying |= {p.full_name, str(p.raw_id), p.id.hex, p.date_of_birth.isoformat()}
        _run(evaluate, GROUP_RULES, s, w)
        _run(verdicts, GROUP_RULES, _answered(s), w)
    kept = " | ".join(repr(k) + repr(v) for m in _kept_maps() for k, v in m.items())
    assert kept
    assert identifying
    assert not [x for x in identifying if x in kept]


def test_the_kept_maps_stay_bounded_and_right_under_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    bound, threads, calls = 64, 8, 3000
    monkeypatch.setattr(rules_base, "_RESULTS_KEPT", bound)
    monkeypatch.setattr(rules_base, "_TALLIED_KEPT", bound)
    wrong: list[str] = []
    largest = [0]
    start = threading.Barrier(threads)

    def hammer(t: int) -> None:
        start.wait()
        for i in range(calls):
            word = f"w{(i * 7 + t) % 300}"
            made = rules_base.passed(f"pass {word}")
            if made.message != f"pass {word}" or made.outcome.value != "pass" or made.evidence:
                wrong.append(repr(made))
            na = rules_base.not_applicable(f"na {word}")
            if na.message != f"na {word}" or na.outcome.value != "not_applicable":
                wrong.append(repr(na))
            n = i % 5
            said = rules_base.tally(f"{{n}} {{has}} {word}", n, "participant")
            if said != rules_base.count(n, "participant") + (" has " if n == 1 else " have ") + word:
                wrong.append(said)
            largest[0] = max(largest[0], *(len(m) for m in _kept_maps()))

    workers = [threading.Thread(target=hammer, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not wrong
    # A store racing another thread's check can overshoot the bound by one store per thread, never more.
    assert 0 < largest[0] <= bound + threads
    for m in _kept_maps():
        m.clear()


# --- through HTTP: the organisation report's lines against each group's own report -----------------------

_LEAP_DAYS = (date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1), date(2025, 2, 28), date(2025, 3, 1))


def _edge_groups(session: Session, coordinator: Actor, staff_actor: Actor) -> None:
    """Groups whose members sit on the edges above on `_LEAP_DAYS`: 29 February birthdays at the bounds of a
    one-year age range, leaving and memberships starting and ending on those days, consents given by the
    participant themself and by others on them, several of a kind, purposes in any order and repeated."""
    assert coordinator.staff is not None
    assert staff_actor.staff is not None
    started = date(2020, 1, 6)
    for low, high in ((12, 12), (0, 11), (13, None), (None, 12)):
        group = make_compliant_group(
            session, coordinator.staff, started_on=started, min_age=low, max_age=high
        )
        make_membership(session, group, staff=staff_actor.staff, started_on=started)
        # In force on 28 and 29 February 2024 alone: a rule failing, one passing, one not applicable.
        for rule_id in ("GRP-AGE-RANGE", "GRP-VISIBILITY-CLOSED", "GRP-EMAIL-LIST-OFFICIAL"):
            make_waiver(
                session,
                group,
                rule_id=rule_id,
                created_at=datetime(2024, 2, 1, 12, tzinfo=UTC),
                expires_on=date(2024, 3, 1),
            )
        # Of the self-consent age (18) on 1 March 2022 only: the latest of their own consents allows, the
        # earlier does not.
        adult = make_participant(session, date_of_birth=date(2004, 2, 29), joined_on=started)
        make_membership(session, group, participant=adult, started_on=started)
        for kind, given in itertools.product(
            (ConsentKind.esafety_agreement, ConsentKind.image_use), (date(2022, 2, 28), date(2022, 3, 1))
        ):
            purposes = ["social_media"] if kind is ConsentKind.image_use else []
            make_consent(
                session, adult, kind, given_by=GivenBy.participant, given_on=given, purposes=purposes
            )
        for n, day in enumerate(_LEAP_DAYS):
            born = (date(2012, 2, 29), date(2012, 3, 1), date(2011, 2, 28), date(2013, 2, 28))[n % 4]
            child = make_participant(
                session, date_of_birth=born, joined_on=started, left_on=day if n % 2 else None
            )
            make_membership(
                session,
                group,
                participant=child,
                started_on=day if n % 3 == 0 else started,
                ended_on=day if n % 3 == 1 else None,
            )
            for kind, by, given, purposes in (
                (ConsentKind.esafety_agreement, GivenBy.participant, day, []),
                (ConsentKind.esafety_agreement, GivenBy.parent_carer, day + timedelta(days=1), []),
                (ConsentKind.code_of_conduct, GivenBy.participant, day - timedelta(days=n), []),
                (ConsentKind.image_use, GivenBy.participant, day, ["website", "social_media", "website"]),
                (ConsentKind.image_use, GivenBy.parent_carer, day - timedelta(days=1), ["social_media"] * n),
            ):
                make_consent(session, child, kind, given_by=by, given_on=given, purposes=purposes)


def _clean_groups_with_edges_today(session: Session, coordinator: Actor) -> None:
    """Compliant groups (today) but for one young person each on an edge of today: of the self-consent age
    only on the later of their own consents' days, leaving today, a membership ending or starting today,
    at a bound of the age range today."""
    assert coordinator.staff is not None
    today = clock.today()
    turned_18 = today - timedelta(days=40)
    for edge in ("own consents", "left today", "ended today", "started today", "11 today", "26 tomorrow"):
        group = make_compliant_group(session, coordinator.staff)
        born = {"11 today": _years_before(today, 11, today.month, today.day)}.get(edge, date(2010, 5, 5))
        if edge == "26 tomorrow":
            born = _shift(_years_before(today, 26, today.month, today.day), 1)
        if edge == "own consents":
            born = _years_before(turned_18, 18, turned_18.month, turned_18.day)
        child = make_participant(session, date_of_birth=born, left_on=today if edge == "left today" else None)
        make_membership(
            session,
            group,
            participant=child,
            started_on=today if edge == "started today" else None,
            ended_on=today if edge == "ended today" else None,
        )
        by = GivenBy.participant if edge == "own consents" else GivenBy.parent_carer
        for kind, given in itertools.product(
            (ConsentKind.esafety_agreement, ConsentKind.image_use, ConsentKind.code_of_conduct),
            (turned_18 - timedelta(days=1), turned_18),
        ):
            purposes = ["social_media", "website", "social_media"] if kind is ConsentKind.image_use else []
            make_consent(session, child, kind, given_by=by, given_on=given, purposes=purposes)


def _lines_match_own_reports(client: TestClient, caller: Actor, day: date) -> list[dict[str, Any]]:
    """The organisation report's lines on `day` for `caller`, each checked against the group's own report
    (and the report through the cache against the one afresh)."""
    path = f"/api/v1/compliance?as_of={day}"
    body = served(client, path, caller.headers)
    assert body == fresh(client, path, caller.headers), (caller.role, day)
    lines: list[dict[str, Any]] = json.loads(body)["groups"]
    for line in lines:
        own = client.get(f"/api/v1/groups/{line['group_id']}/compliance?as_of={day}", headers=caller.headers)
        findings = own.json()["findings"]
        assert (line["status"], line["counts"]) == (own.json()["status"], own.json()["counts"]), day
        bad = [f for f in findings if f["counts_against_status"]]
        assert line["failing_rules"] == [f["rule_id"] for f in bad if f["outcome"] == "fail"]
        assert line["warning_rules"] == [f["rule_id"] for f in bad if f["outcome"] == "warn"]
        waived = [f["rule_id"] for f in findings if f["waiver"] and f["outcome"] != "pass"]
        assert line["waived_rules"] == waived
        line["own_findings"] = findings
    return lines


def test_a_rule_the_policy_withdrew_as_in_each_group_report(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """A version in force today without GRP-ESAFETY-AGREEMENT's sentence: the line of a group the rule
    would fail, with a waiver of it in force, is its own report's for every caller (not applied in both)."""
    assert coordinator.staff is not None
    _clean_groups_with_edges_today(session, coordinator)
    lacking = make_compliant_group(session, coordinator.staff)
    make_membership(session, lacking, staff=staff_actor.staff)
    make_membership(session, lacking, participant=make_participant(session))  # no consent at all
    make_waiver(session, lacking, rule_id="GRP-ESAFETY-AGREEMENT")
    gone = CLAUSES["PROMOTE-ESAFETY-AGREEMENT"].text
    text = V1.read_text().replace(
        gone, "Staff must report any contact from a young person on a personal account."
    )
    r = publish_confirmed(client, coordinator.headers, {"text": text, "effective_on": str(clock.today())})
    assert r.status_code == 201, r.text
    for caller in (coordinator, trustee, staff_actor):
        lines = _lines_match_own_reports(client, caller, clock.today())
        line = next(x for x in lines if x["group_id"] == str(lacking.id))
        finding = next(f for f in line["own_findings"] if f["rule_id"] == "GRP-ESAFETY-AGREEMENT")
        assert (finding["outcome"], line["waived_rules"]) == ("not_applicable", ["GRP-ESAFETY-AGREEMENT"])
        assert finding["message"].startswith("Not applied: policy version 2")


def test_the_organisation_report_words_each_group_as_its_own_report(
    client: TestClient, session: Session, coordinator: Actor, trustee: Actor, staff_actor: Actor
) -> None:
    """For every caller kind and each edge day: every line of the organisation report (answered consents,
    `verdicts_each`) has the status, counts and failing, warning and waived rules of the group's own report
    (every consent loaded, `evaluate`), the same through the cache as afresh."""
    _edge_groups(session, coordinator, staff_actor)
    _clean_groups_with_edges_today(session, coordinator)
    lines, seen = 0, set()
    # Every caller kind that may read compliance: an integration (an API key) may not.
    for caller, day in itertools.product((coordinator, trustee, staff_actor), (*_LEAP_DAYS, clock.today())):
        for line in _lines_match_own_reports(client, caller, day):
            lines += 1
            seen |= {line["status"], *(f"waived {r}" for r in line["waived_rules"])}
    # Days out of order and again: the members kept for one day (api/compliance/org_people.py) serve another
    # only where nothing the load reads changed between them.
    days = [*_LEAP_DAYS, clock.today()]
    random.Random(3).shuffle(days)
    for day in [*reversed(_LEAP_DAYS), *days, *days]:
        _lines_match_own_reports(client, coordinator, day)
    assert lines >= 3 * len(_LEAP_DAYS) * 4 + 6
    # The edges were reached: compliant and failing groups, waivers of a failure and of a not applicable.
    assert {"compliant", "non_compliant", "waived GRP-AGE-RANGE", "waived GRP-EMAIL-LIST-OFFICIAL"} <= seen, (
        seen
    )


def test_a_pass_and_a_not_applicable_in_the_same_words_stay_apart() -> None:
    words = f"the same words {uuid.uuid4().hex}"
    assert rules_base.passed(words).outcome.value == "pass"
    assert rules_base.not_applicable(words).outcome.value == "not_applicable"
    assert rules_base.passed(words).outcome.value == "pass"
    # A tallied message is a function of its template, count and nouns: a plural given apart is its own.
    assert rules_base.tally("{n}", 2, "body", "bodies") == "2 bodies"
    assert rules_base.tally("{n}", 2, "body") == "2 bodys"
