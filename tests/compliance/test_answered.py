"""The organisation report's load (api/compliance/answered.py) against the full load it stands in for: the
consents answered by the database equal what the consents themselves answer (`consent_answers.answers_of`,
and `allows` / `held_in_force` for every question), for participants with every kind of consent history
(withdrawn, expired, future, not yet recorded, wrong purpose, given by a young person, none), on several
days; the members are the same; and the report's line for each group is what the full evaluation says."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import date, timedelta
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from api import clock
from api.auth.principal import user_principal
from api.auth.reach import Reach
from api.auth.roles import Role
from api.compliance import answered, consent_answers, loading, service
from api.compliance.consent_answers import QUESTIONS, answers_of
from api.compliance.models import Status
from api.compliance.queries import _GROUP_COLUMNS, GROUP, _queries
from api.compliance.rules import GROUP_RULES
from api.compliance.rules.base import Outcome, outcomes_only, refused_consent
from api.compliance.snapshot import MemberFacts
from api.consents.logic import ConsentFact, allows, held_in_force
from api.consents.models import Consent, ConsentKind, GivenBy, Purpose
from api.groups.models import Group
from api.memberships.models import MemberRole, Membership
from api.participants.models import Participant
from tests.compliance import builders as b
from tests.compliance import test_fast_paths as fast_paths
from tests.compliance.builders import AS_OF, days
from tests.kit.auth import Actor, make_actor
from tests.kit.compliance import group_fields
from tests.kit.consents import make_consent
from tests.kit.groups import make_group
from tests.kit.memberships import make_membership
from tests.kit.participants import make_participant
from tests.kit.records import row

_KINDS = ("esafety_agreement", "image_use", "code_of_conduct")
_CONSENT_RULES = ("GRP-ESAFETY-AGREEMENT", "GRP-IMAGE-CONSENT", "GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT")
# Below, at and above the self-consent age on AS_OF, and a leap-day birthday.
_BIRTHDAYS = (date(2011, 3, 1), AS_OF.replace(year=AS_OF.year - 18), date(1990, 1, 1), date(2008, 2, 29))


def _consents() -> list[ConsentFact]:
    """test_fast_paths's consents, and each again as a code of conduct agreement and a day earlier."""
    found = fast_paths._consents()
    return found + [c._replace(kind="code_of_conduct", given_on=c.given_on - days(20)) for c in found]


def test_the_answers_decide_as_the_consents_do() -> None:
    consents = _consents()
    rnd = random.Random(19)
    sets = [(c,) for c in consents] + [tuple(rnd.sample(consents, rnd.randint(2, 4))) for _ in range(3000)]
    for held, born in itertools.product([(), *sets], _BIRTHDAYS):
        answers = answers_of(held, AS_OF)
        for (kind, purpose), age in itertools.product(QUESTIONS, (12, 18)):
            expected = allows(held, kind, purpose, AS_OF, born, age)
            assert consent_answers.allows(answers, kind, purpose, born, age) is expected, (held, born, kind)
            if purpose is None:
                expected = held_in_force(held, kind, "participant", AS_OF)
                assert consent_answers.held_by_participant(answers, kind) is expected, (held, kind)
    with pytest.raises(KeyError):
        consent_answers.allows(answers_of((), AS_OF), "image_use", "press", AS_OF, 18)


def test_the_consent_rules_decide_on_answers_as_on_the_consents() -> None:
    """GRP-ESAFETY-AGREEMENT, GRP-IMAGE-CONSENT and GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT in `outcomes_only` over
    participants whose consents were answered ahead (the report's form, its questions looked up once a
    group) decide as over the consents themselves, one participant a group and many in one."""
    rules = [r for r in GROUP_RULES if r.id in _CONSENT_RULES]
    consents = _consents()
    rnd = random.Random(23)
    sets = [(), *((c,) for c in consents[::7])] + [tuple(rnd.sample(consents, 3)) for _ in range(200)]
    full, quick = [], []
    for held, born in itertools.product(sets, _BIRTHDAYS):
        p = b.participant(consents=held, date_of_birth=born)
        full.append(p)
        quick.append(p._replace(consents=(), answers=answers_of(held, AS_OF)))
    pairs = [([f], [q]) for f, q in zip(full, quick, strict=True)] + [(full, quick)]
    outcomes = set()
    for f, q in pairs:
        whole = b.group_snapshot(members=tuple(b.member(p) for p in f))
        answered_ahead = b.group_snapshot(members=tuple(b.member(p) for p in q))
        for rule in rules:
            expected = rule.check(whole)
            with outcomes_only():
                got = rule.check(answered_ahead)
            assert (got.outcome, got.message) == (expected.outcome, expected.message), (rule.id, f)
            outcomes.add((rule.id, got.outcome))
    assert {(r.id, o) for r in rules for o in (Outcome.pass_, Outcome.fail)} <= outcomes


def test_answered_participants_give_outcomes_only() -> None:
    p = b.participant(consents=(), answers=consent_answers.NONE_HELD)
    snapshot = b.group_snapshot(members=(b.member(p),))
    with pytest.raises(ValueError, match="outcomes only"):
        refused_consent(snapshot, [p], kind="esafety_agreement", purpose=None)


def _varied(session: Session, coordinator: Actor, seed: int = 19) -> list[Group]:
    """Four groups sharing images, 160 participants (some in two groups, some gone), each with up to four
    consents drawn from every kind, purpose, giver and date that matters around today."""
    assert coordinator.staff is not None
    rnd = random.Random(seed)
    today = clock.today()
    groups = [make_group(session, **group_fields(shares_images=True, max_age=40)) for _ in range(4)]
    for g in groups:
        make_membership(session, g, staff=coordinator.staff, role=MemberRole.admin)
    birthdays = [
        today.replace(year=today.year - 18),
        today.replace(year=today.year - 18) + timedelta(days=1),
        date(2008, 2, 29),
        date(2012, 6, 1),
        date(2000, 1, 1),
    ]
    people = [
        row(
            full_name=f"Varied {i}",
            date_of_birth=rnd.choice(birthdays),
            is_vulnerable_adult=False,
            joined_on=today - timedelta(days=900),
        )
        for i in range(160)
    ]
    session.execute(sa.insert(Participant), people)
    members = []
    for i, p in enumerate(people):
        for g in rnd.sample(groups, 2 if i % 5 == 0 else 1):
            ended = rnd.choice([None, None, None, today - timedelta(days=3), today + timedelta(days=3)])
            started = g.started_on - timedelta(days=400) if i % 7 == 0 else g.started_on
            members.append(
                row(group_id=g.id, participant_id=p["id"], role="member", started_on=started, ended_on=ended)
            )
    session.execute(sa.insert(Membership), members)

    def some_day() -> date:
        return today + timedelta(days=rnd.choice([-900, -400, -40, -31, -30, -29, -1, 0, 1, 5]))

    consents = []
    for p in people:
        for _ in range(rnd.randint(0, 4)):
            given_on = some_day()
            later = [d for d in (some_day() for _ in range(3)) if d > given_on]
            recorded = clock.start_of(given_on) + timedelta(hours=15)
            if rnd.random() < 0.1:
                recorded = clock.start_of(today + timedelta(days=2))
            consents.append(
                row(
                    participant_id=p["id"],
                    kind=rnd.choice((*_KINDS, "communication")),
                    purposes=rnd.sample([x.value for x in Purpose], rnd.randint(0, 2)),
                    given_by=rnd.choice(("participant", "parent_carer")),
                    given_by_name="Someone",
                    given_on=given_on,
                    expires_on=rnd.choice([None, *later[:1]]),
                    withdrawn_on=rnd.choice([None, None, *later[1:2]]),
                    created_at=recorded,
                    updated_at=recorded,
                )
            )
    # Small groups of one well-consented participant each, with one bad consent or one missing besides.
    for i in range(6):
        g = make_group(session, **group_fields(shares_images=True, max_age=40))
        make_membership(session, g, staff=coordinator.staff, role=MemberRole.admin)
        kid = make_participant(session, date_of_birth=date(2012, 6, 1), joined_on=g.started_on)
        make_membership(session, g, participant=kid)
        given_on = today - timedelta(days=40)
        make_consent(session, kid, ConsentKind.esafety_agreement, given_on=given_on)
        purposes = [Purpose.social_media] if i != 1 else [Purpose.website]
        make_consent(session, kid, ConsentKind.image_use, purposes=purposes, given_on=given_on)
        if i != 3:
            by = GivenBy.participant if i != 2 else GivenBy.parent_carer
            make_consent(session, kid, ConsentKind.code_of_conduct, given_by=by, given_on=given_on)
        groups.append(g)
    session.execute(sa.insert(Consent), consents)
    session.commit()
    return groups


def _loads(session: Session, as_of: date, queries: Any) -> loading._Loaded:
    active = service._active_on(as_of)
    return loading._load(
        session,
        sa.select(*_GROUP_COLUMNS).where(active).order_by(GROUP.c.name, GROUP.c.id),
        queries(lambda column: column.in_(sa.select(GROUP.c.id).where(active))),
        {"as_of": as_of},
        as_of,
    )[2]


def _without_consents(m: MemberFacts) -> str:
    """A member as the report's form holds them: neither consents nor answers, nor the name and joining day
    it does not read (`answered.NOT_LOADED`)."""
    p = m.participant
    kept = p and p._replace(full_name=answered.NOT_LOADED, joined_on=answered.NOT_LOADED)
    return repr(m._replace(participant=kept and kept._replace(consents=(), answers=None)))


@pytest.mark.parametrize(
    "answered_queries",
    [answered.answered_queries, partial(answered.answered_queries, every_participant=True)],
    ids=["the groups' members' consents", "every participant's consents"],
)
def test_the_folded_consents_answer_as_the_consents_do(
    session: Session, coordinator: Actor, answered_queries: Any
) -> None:
    _varied(session, coordinator)
    today = clock.today()
    asked = 0
    for as_of in (today, today - timedelta(days=1), today - timedelta(days=30), today - timedelta(days=400)):
        full, quick = _loads(session, as_of, _queries), _loads(session, as_of, answered_queries)
        assert full.members.keys() == quick.members.keys()
        for key, members in full.members.items():
            assert Counter(map(_without_consents, members)) == Counter(
                map(_without_consents, quick.members[key])
            )
            by_id = {m.participant.raw_id: m.participant for m in quick.members[key] if m.participant}
            for m in members:
                if m.participant is None:
                    continue
                p, q = m.participant, by_id[m.participant.raw_id]
                assert q.consents == ()
                assert q.answers == answers_of(p.consents, as_of), (as_of, p)
                asked += bool(p.consents)
    assert asked > 200


def test_every_kind_giver_and_purposes_answer_as_the_consents_do(
    session: Session, coordinator: Actor
) -> None:
    """The consents statement's compact form (the kind as a number, the day only where the participant gave
    it, the purposes only of a kind asked about for one): one participant per kind, giver and purposes,
    one holding every such consent, one with two of their own on different days; and a participant admin,
    whose role the members statement numbers."""
    assert coordinator.staff is not None
    today = clock.today()
    group = make_group(session, **group_fields(shares_images=True, max_age=40))
    make_membership(session, group, staff=coordinator.staff, role=MemberRole.admin)
    every = make_participant(session, date_of_birth=date(2000, 1, 1))
    make_membership(session, group, participant=every, role=MemberRole.admin)
    purposes_sets: list[list[Purpose]] = [[], [Purpose.social_media], [Purpose.website], list(Purpose)]
    for kind, by, purposes in itertools.product(ConsentKind, GivenBy, purposes_sets):
        if kind is ConsentKind.code_of_conduct and by is not GivenBy.participant:
            continue
        kid = make_participant(session, date_of_birth=date(2000, 1, 1))
        make_membership(session, group, participant=kid)
        for who in (kid, every):
            make_consent(session, who, kind, given_by=by, purposes=purposes, given_on=today - days(3))
    twice = make_participant(session, date_of_birth=date(2000, 1, 1))
    make_membership(session, group, participant=twice)
    for n in (40, 3):
        make_consent(
            session,
            twice,
            ConsentKind.code_of_conduct,
            given_by=GivenBy.participant,
            given_on=today - days(n),
        )
    session.commit()
    full, quick = _loads(session, today, _queries), _loads(session, today, answered.answered_queries)
    (key,) = quick.members
    assert Counter(map(_without_consents, full.members[key])) == Counter(
        map(_without_consents, quick.members[key])
    )
    answers = {m.participant.raw_id: m.participant.answers for m in quick.members[key] if m.participant}
    held = [m.participant for m in full.members[key] if m.participant]
    assert len(held) == len(answers) > 20
    for p in held:
        assert answers[p.raw_id] == answers_of(p.consents, today), p.consents
    assert len(set(answers.values())) > 5
    # Equal answers are one shared tuple, not a container per participant for the collector to walk.
    assert len({id(a) for a in answers.values()}) == len(set(answers.values()))
    assert [m.role for m in quick.members[key] if m.participant and m.participant.raw_id == every.id.hex] == [
        "admin"
    ]


def test_what_the_report_leaves_out_cannot_decide_an_outcome() -> None:
    """A participant's name and joining day are not loaded for the report (`answered.NOT_LOADED`): a rule
    that compared or worded either would raise, not decide on a placeholder."""
    p = b.participant(full_name=answered.NOT_LOADED, joined_on=answered.NOT_LOADED)
    for use in (
        lambda: p.joined_on <= AS_OF,
        lambda: max(AS_OF, p.joined_on),
        lambda: f"{p.full_name}",
        lambda: p.full_name == "x",
        lambda: bool(p.full_name),
        lambda: AS_OF - p.joined_on,
    ):
        with pytest.raises(TypeError, match="not loaded"):
            use()
    assert repr(answered.NOT_LOADED) == "NOT_LOADED"


def test_the_report_says_what_the_full_evaluation_says(session: Session, coordinator: Actor) -> None:
    _varied(session, coordinator, seed=5)
    assert coordinator.user is not None
    reach = Reach.of(user_principal(coordinator.user))
    today = clock.today()
    consent_rules = ("GRP-ESAFETY-AGREEMENT", "GRP-IMAGE-CONSENT", "GRP-YOUNG-PEOPLE-CODE-OF-CONDUCT")
    seen: set[tuple[Outcome, bool]] = set()
    for as_of in (today, today - timedelta(days=30), today - timedelta(days=400)):
        report = service.organisation_report(session=session, reach=reach, as_of=as_of)
        full = service.group_evaluations(session=session, as_of=as_of)
        assert {g.group_id for g in report.groups} == set(full)
        for line in report.groups:
            ev = full[line.group_id]
            assert (line.status, line.counts) == (ev.status, ev.counts)
            counting = [f for f in ev.findings if f.counts_against_status]
            assert line.failing_rules == [f.rule_id for f in counting if f.outcome is Outcome.fail]
            assert line.warning_rules == [f.rule_id for f in counting if f.outcome is Outcome.warn]
            seen |= {(f.outcome, len(f.evidence) > 1) for f in ev.findings if f.rule_id in consent_rules}
    # The consent rules passed and failed, for one participant and for several.
    assert {(Outcome.pass_, False), (Outcome.fail, False), (Outcome.fail, True)} <= seen, seen
    assert {g.status for g in report.groups} <= set(Status)


def test_the_statuses_are_the_full_evaluations(session: Session, coordinator: Actor) -> None:
    _varied(session, coordinator, seed=7)
    today = clock.today()
    for as_of in (today, today - timedelta(days=30)):
        full = service.group_evaluations(session=session, as_of=as_of)
        assert service.group_statuses(session=session, as_of=as_of) == {k: v.status for k, v in full.items()}


def test_a_narrower_reach_and_a_platform_read_each_group_as_its_full_evaluation(
    session: Session, coordinator: Actor
) -> None:
    """The report's other load (a caller reaching some groups, or any caller naming a platform: the
    consents of the chosen groups' members only) against the full evaluation of each group it lists, and
    no group beyond the caller's reach."""
    groups = _varied(session, coordinator, seed=11)
    assert coordinator.user is not None
    # A member of staff in two of the groups: the report lists those two, as their evaluations say.
    mine = make_actor(session, Role.staff)
    assert mine.staff is not None
    assert mine.user is not None
    for g in (groups[0], groups[5]):
        make_membership(session, g, staff=mine.staff, role=MemberRole.admin)
    session.commit()
    today = clock.today()
    for as_of in (today, today - timedelta(days=30)):
        full = service.group_evaluations(session=session, as_of=as_of)
        for reach, platform in (
            (Reach.of(user_principal(mine.user)), None),
            (Reach.of(user_principal(coordinator.user)), groups[0].platform),
        ):
            report = service.organisation_report(session=session, reach=reach, as_of=as_of, platform=platform)
            listed = {line.group_id for line in report.groups}
            if platform is None:
                assert listed == {groups[0].id, groups[5].id}
            else:
                assert groups[0].id in listed
            for line in report.groups:
                ev = full[line.group_id]
                assert (line.status, line.counts) == (ev.status, ev.counts), (as_of, line.group_name)
