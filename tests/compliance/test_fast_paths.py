"""The evaluation's shortcuts agree with the full decisions they stand in for: `allows` and
`held_in_force` with `decide` and `is_in_force` on every combination of a consent's dates, giver, kind and
purposes; `verdicts` with `evaluate`, `verdicts_each` with `verdicts`, and each rule's outcome and message
without members' evidence (`outcomes_only`) with its full result; a participant's evidence id with
`ParticipantFacts.id`, and the evidence made once for the same participant and detail the same as one made
afresh; the age range's bounds with `age_on`; a snapshot's participants' facts with its participants."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import MAXYEAR, MINYEAR, date

import pytest

from api.compliance.engine import Verdicts, WaiverFacts, evaluate, verdicts, verdicts_each
from api.compliance.models import Status
from api.compliance.rules import GROUP_RULES, grp_age_range
from api.compliance.rules import base as rules_base
from api.compliance.rules.base import (
    Evidence,
    Outcome,
    Result,
    outcomes_only,
    participant_ref,
    uuid_of_hex,
)
from api.compliance.snapshot import GroupSnapshot, PolicyFacts, RiskAssessmentFacts, RosterFacts
from api.consents.logic import ConsentFact, age_on, allows, decide, held_in_force, is_in_force
from tests.compliance import builders as b
from tests.compliance.builders import AS_OF, days
from tests.compliance.test_engine import waiver

_DAYS = (None, AS_OF - days(1), AS_OF, AS_OF + days(1))
_BIRTHDAYS = (date(2011, 3, 1), AS_OF.replace(year=AS_OF.year - 18), date(1990, 1, 1))


def _consents() -> list[ConsentFact]:
    found = []
    for kind, purposes, given_by, given_on, expires_on, withdrawn_on in itertools.product(
        ("esafety_agreement", "image_use"),
        (frozenset(), frozenset({"social_media"}), frozenset({"website"})),
        ("participant", "parent_carer"),
        (AS_OF - days(3000), AS_OF, AS_OF + days(1)),
        _DAYS,
        _DAYS,
    ):
        found.append(ConsentFact(uuid.uuid4(), kind, purposes, given_by, given_on, expires_on, withdrawn_on))
    return found


def test_allows_and_held_in_force_agree_with_the_full_decisions() -> None:
    consents = _consents()
    # One consent at a time, and pairs of them in both orders (`decide` tries the newest first).
    sets = [(c,) for c in consents] + [(a, c) for a, c in zip(consents, reversed(consents), strict=True)]
    for held, born, kind, purpose in itertools.product(
        sets, _BIRTHDAYS, ("esafety_agreement", "image_use"), (None, "social_media")
    ):
        decided = decide(
            held, kind=kind, purpose=purpose, on=AS_OF, date_of_birth=born, self_consent_min_age=18
        )
        assert allows(held, kind, purpose, AS_OF, born, 18) is decided.allowed, (held, born, kind, purpose)
        for giver in ("participant", "parent_carer"):
            expected = any(c.kind == kind and c.given_by == giver and is_in_force(c, AS_OF) for c in held)
            assert held_in_force(held, kind, giver, AS_OF) is expected


def _same(v: Verdicts, snapshot: GroupSnapshot, waivers: Mapping[str, WaiverFacts] | None = None) -> None:
    ev = evaluate(GROUP_RULES, snapshot, waivers)
    assert v.status is ev.status
    assert v.counts == ev.counts
    assert list(v.counts) == list(ev.counts)
    counting = [f for f in ev.findings if f.counts_against_status]
    assert v.failing == [f.rule_id for f in counting if f.outcome is Outcome.fail]
    assert v.warning == [f.rule_id for f in counting if f.outcome is Outcome.warn]
    assert v.waived == [
        f.rule_id for f in ev.findings if f.waiver is not None and f.outcome is not Outcome.pass_
    ]


def test_verdicts_agree_with_the_evaluation() -> None:
    clean = b.group_snapshot()
    failing = b.with_group(b.group_snapshot(incidents=(b.incident(),)), visibility="public")
    waivers = {
        "GRP-VISIBILITY-CLOSED": waiver("GRP-VISIBILITY-CLOSED"),
        "GRP-ADMIN-APPROVAL": waiver("GRP-ADMIN-APPROVAL"),
        "GRP-OPEN-SERIOUS-INCIDENT": waiver("GRP-OPEN-SERIOUS-INCIDENT", expires_on=AS_OF),
    }
    for snapshot, given in ((clean, None), (failing, None), (failing, waivers), (clean, waivers)):
        _same(verdicts(GROUP_RULES, snapshot, given), snapshot, given)
    assert verdicts(GROUP_RULES, failing).status is Status.non_compliant
    assert verdicts(GROUP_RULES, failing, waivers).waived == ["GRP-VISIBILITY-CLOSED"]


def test_a_withdrawn_sentence_is_not_applied_in_either() -> None:
    texts = {c.id: c.text for r in GROUP_RULES for c in (r.clause, *r.also)}
    kept = next(r for r in GROUP_RULES if r.id == "GRP-VISIBILITY-CLOSED")
    for c in (kept.clause, *kept.also):
        texts.pop(c.id, None)
    policy = PolicyFacts(2, AS_OF, texts, 2)
    snapshot = replace(b.with_group(b.group_snapshot(), visibility="public"), policy=policy)
    v = verdicts(GROUP_RULES, snapshot)
    _same(v, snapshot)
    assert "GRP-VISIBILITY-CLOSED" not in v.failing
    assert verdicts(GROUP_RULES, snapshot) == v  # answered again from the last policy seen


def test_a_participant_is_named_by_the_same_uuid_whatever_form_the_driver_gave() -> None:
    pid = uuid.uuid4()
    as_text = b.participant(raw_id=pid.hex)
    made = participant_ref(as_text).id
    assert made == pid
    assert str(made) == str(pid)
    assert hash(made) == hash(pid)
    assert made == as_text.id
    assert uuid_of_hex(pid.hex) == pid
    assert participant_ref(b.participant(raw_id=pid)).id == pid


def test_a_participants_evidence_made_before_is_the_one_made_afresh() -> None:
    pid = uuid.uuid4()
    child = b.participant(raw_id=pid.hex, full_name="Cara Child")
    first = participant_ref(child, "no code of conduct agreement in force")
    again = participant_ref(child._replace(consents=()), "no code of conduct agreement in force")
    assert again is first
    assert again == Evidence("participant", pid, "Cara Child", "no code of conduct agreement in force")
    # Whatever it is made of makes another: a new name (never the old one shown), another detail.
    renamed = participant_ref(
        child._replace(full_name="Cara Renamed"), "no code of conduct agreement in force"
    )
    assert (renamed.id, renamed.label) == (pid, "Cara Renamed")
    assert participant_ref(child, "admin").detail == "admin"
    rules_base.forget_participant_refs()
    assert participant_ref(child, "admin") is not first
    with outcomes_only():
        assert participant_ref(child, "admin").id is None


def test_participants_evidence_kept_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules_base, "_PARTICIPANT_REFS_KEPT", 5)
    rules_base.forget_participant_refs()
    children = [b.participant(raw_id=uuid.uuid4().hex, full_name=f"Child {i}") for i in range(12)]
    for child in children:
        assert participant_ref(child).label == child.full_name
        assert len(rules_base._participant_refs) <= 5
    rules_base.forget_participant_refs()


def _varied() -> list[GroupSnapshot]:
    """Snapshots on which every group rule fails or warns at least once, naming one member or several,
    besides passing and not applying: each member below breaks one or more rules."""
    unsigned = b.staff(full_name="Una Unsigned", code_of_conduct_signed_on=None)
    untrained = b.staff(full_name="Ted Untrained", esafety_training_completed_on=None)
    stale = b.staff(full_name="Stan Stale", esafety_training_completed_on=AS_OF - days(2000))
    private_mail = b.staff(full_name="Pat Private", email="pat@example.com", declaration=None)
    gone = b.staff(full_name="Gina Gone", left_on=AS_OF - days(10))
    no_consents = b.participant(full_name="Nina None", consents=())
    no_code = b.participant(
        full_name="Carl Code", consents=(b.consent("esafety_agreement"), b.consent("image_use"))
    )
    refused_images = b.participant(
        full_name="Ivy Images",
        consents=(b.consent("esafety_agreement"), b.consent("image_use", purposes=frozenset({"website"}))),
    )
    too_old = b.participant(full_name="Olga Old", date_of_birth=date(1990, 1, 1))
    former = b.participant(full_name="Fred Former", left_on=AS_OF - days(5))
    young_admin = b.participant(full_name="Yan Admin")
    broken = (
        b.member(unsigned, "admin"),
        b.member(untrained, "admin"),
        b.member(stale, "admin"),
        b.member(private_mail),
        b.member(gone, "admin"),
        *(b.member(p) for p in (no_consents, no_code, refused_images, too_old, former)),
        b.member(young_admin, "admin"),
    )
    clean = b.group_snapshot()
    return [
        clean,
        b.group_snapshot(members=()),
        b.with_group(b.group_snapshot(), shares_images=False, min_age=None, max_age=None),
        b.group_snapshot(members=(b.member(untrained, "admin"), b.member(no_code))),
        b.group_snapshot(
            members=broken,
            reviews=(),
            risk_assessments=(RiskAssessmentFacts(uuid.uuid4(), AS_OF, untrained, False, False),),
            incidents=(b.incident(),),
            rosters=(RosterFacts(uuid.uuid4(), AS_OF - days(40), open_unknown=2, open_probable=1),),
        ),
        b.with_group(
            b.group_snapshot(members=broken, risk_assessments=()),
            visibility="public",
            join_approval="anyone",
            messages_seen_by_all=None,
        ),
        b.with_group(b.group_snapshot(members=broken), platform="email_list"),
        b.with_group(clean, started_on=AS_OF, messages_seen_by_all=False),
    ]


def test_each_rule_decides_the_same_without_its_members_evidence() -> None:
    snapshots = _varied()
    flagged: set[str] = set()
    for snapshot in snapshots:
        for rule in GROUP_RULES:
            full = rule.check(snapshot)
            with outcomes_only():
                quick = rule.check(snapshot)
            assert (quick.outcome, quick.message) == (full.outcome, full.message), rule.id
            assert len(quick.evidence) == len(full.evidence), rule.id
            if full.outcome in (Outcome.fail, Outcome.warn):
                flagged.add(rule.id)
        _same(verdicts(GROUP_RULES, snapshot), snapshot)
    assert flagged == {r.id for r in GROUP_RULES}
    # Outside it (and after it, whatever a rule raised), members are named in full again.
    assert participant_ref(b.participant(full_name="Nina None")).label == "Nina None"


def test_verdicts_each_are_each_snapshots_verdicts() -> None:
    texts = {c.id: c.text for r in GROUP_RULES for c in (r.clause, *r.also)}
    texts.pop(next(r for r in GROUP_RULES if r.id == "GRP-VISIBILITY-CLOSED").clause.id)
    withdrawn = PolicyFacts(2, AS_OF, texts, 2)
    waivers = {
        "GRP-VISIBILITY-CLOSED": waiver("GRP-VISIBILITY-CLOSED"),
        "GRP-TWO-STAFF-ADMINS": waiver("GRP-TWO-STAFF-ADMINS"),
        "GRP-OPEN-SERIOUS-INCIDENT": waiver("GRP-OPEN-SERIOUS-INCIDENT", expires_on=AS_OF),
    }
    judged = [
        (snapshot, given)
        for base in _varied()
        for snapshot in (base, replace(base, policy=withdrawn))
        for given in (None, {}, waivers)
    ]
    each = verdicts_each(GROUP_RULES, iter(judged))
    assert each == [verdicts(GROUP_RULES, snapshot, given) for snapshot, given in judged]
    for v, (snapshot, given) in zip(each, judged, strict=True):
        _same(v, snapshot, given)
    assert {v.status for v in each} == set(Status)
    assert any(v.waived for v in each)
    # Outside it, members are named in full again.
    assert participant_ref(b.participant(full_name="Nina None")).label == "Nina None"


@pytest.mark.parametrize(
    "on",
    [date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1), date(2024, 12, 31), date(2025, 1, 1), AS_OF],
)
def test_the_age_range_bounds_are_age_on_s(on: date) -> None:
    """`born_by(on, years)` is the last birthday of those at least `years` old on `on`, a leap day's
    included: the age range rule decides by it whom it need not work an age out for."""
    for years in (-1, 0, 1, 4, 11, 13, 18, 19, 25, 120):
        bound = grp_age_range.born_by(on, years)
        assert bound is not None
        for offset in range(-800, 800):
            born = bound + days(offset)
            assert (born <= bound) is (age_on(born, on) >= years), (on, years, born)
    assert grp_age_range.born_by(on, on.year) is None
    assert grp_age_range.born_by(on, on.year - MAXYEAR - 1) is None
    assert grp_age_range.born_by(on, on.year - MINYEAR) is not None


def test_a_range_outside_the_calendar_has_every_age_worked_out() -> None:
    child = b.participant(full_name="Old Enough", date_of_birth=date(2012, 6, 1))
    snapshot = b.group_snapshot(members=(b.member(child),))
    for low, high, outcome in (
        (5000, None, Outcome.fail),
        (None, 5000, Outcome.pass_),
        (0, 5000, Outcome.pass_),
    ):
        result = grp_age_range.check(b.with_group(snapshot, min_age=low, max_age=high))
        assert result.outcome is outcome, (low, high)


def test_a_snapshot_s_participants_facts_are_its_current_participants() -> None:
    left = b.member(b.participant(full_name="Ended"))._replace(ended_on=AS_OF)
    later = b.member(b.participant(full_name="Not yet"))._replace(started_on=AS_OF + days(1))
    for snapshot in [*_varied(), b.group_snapshot(members=(left, later, *b.group_snapshot().members))]:
        pairs = snapshot.current_participants()
        assert snapshot.current_participant_facts() == tuple(p for _, p in pairs)
    names = [p.full_name for p in snapshot.current_participant_facts()]
    assert names
    assert "Ended" not in names
    assert "Not yet" not in names


def test_results_and_messages_made_before_are_the_ones_made_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass or a not applicable without evidence, and a message tallied without values, are made once
    for the same words and kept boundedly; one with evidence, or values, is made afresh."""
    fine = rules_base.passed("All is well.")
    assert fine == Result(Outcome.pass_, "All is well.")
    assert rules_base.passed("All is well.") is fine
    named = Evidence("group", uuid.uuid4(), "Youth Band")
    assert rules_base.passed("All is well.", named).evidence == (named,)
    assert rules_base.not_applicable("Nothing to judge.") == Result(
        Outcome.not_applicable, "Nothing to judge."
    )
    assert rules_base.not_applicable("Nothing to judge.") is rules_base.not_applicable("Nothing to judge.")
    assert rules_base.passed("Nothing to judge.").outcome is Outcome.pass_
    said = rules_base.tally("{n} {has} left.", 3, "participant")
    assert said == "3 participants have left."
    assert rules_base.tally("{n} {has} left.", 3, "participant") is said
    assert rules_base.tally("{n} {has} left.", 1, "participant") == "1 participant has left."
    assert rules_base.tally("{n} {is} in {where}.", 1, "child", "children", where="the band") == (
        "1 child is in the band."
    )
    monkeypatch.setattr(rules_base, "_RESULTS_KEPT", 3)
    monkeypatch.setattr(rules_base, "_TALLIED_KEPT", 3)
    for i in range(10):
        assert rules_base.passed(f"Pass {i}.").message == f"Pass {i}."
        assert rules_base.tally("{n} seen.", i, "time") == f"{i} time{'' if i == 1 else 's'} seen."
        assert len(rules_base._passes) <= 3
        assert len(rules_base._tallied) <= 3
