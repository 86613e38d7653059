"""Publishing and withdrawing a policy version: what a new text would change (the clause ids it keeps or
mints, the rules it stops, the enforced sentences it rewords), checked and confirmed before anything is
stored; reading the versions is api/policy/version_service.py."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from api import clock
from api.audit import service as audit
from api.auth.principal import Principal
from api.db import may_write
from api.errors import Conflict, FieldError, Unprocessable
from api.policy import text as policy_text
from api.policy.citing import CitingRule, citing_rules
from api.policy.version_service import clauses_of, diff_of, get, live, public
from api.policy.versions import (
    MAX_DAYS_AHEAD,
    PolicyClause,
    PolicyDiffPublic,
    PolicyVersion,
    PolicyVersionCreate,
    PolicyVersionPublic,
    PolicyVersionWithdraw,
    PublishedPolicy,
    PublishPreview,
    RemovedClause,
    RewordedClause,
    StoppedRule,
    TurnedRound,
)
from api.problems import ProblemCode
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent


def _enforcing() -> dict[str, list[str]]:
    """Clause id -> the ids of the rules that cite it."""
    out: dict[str, list[str]] = {}
    for rule in citing_rules():
        for cid in rule.clause_ids:
            out.setdefault(cid, []).append(rule.id)
    return out


def _applied(rule: CitingRule, texts: Mapping[str, str]) -> bool:
    return any(cid in texts for cid in rule.clause_ids)


def _known_words(session: Session, leave_out: set[str]) -> dict[str, str]:
    """Every clause id any version not withdrawn has had, with its latest words, the latest version's ids
    first (in its order): a sentence that comes back gets its id back, and where two ids share words the
    latest version's wins."""
    known: dict[str, str] = {}
    for cid, text in session.exec(
        select(PolicyClause.clause_id, PolicyClause.text)
        .join(PolicyVersion, col(PolicyVersion.id) == col(PolicyClause.version_id))
        .where(live())
        .order_by(col(PolicyVersion.number).desc(), col(PolicyClause.position))
    ).all():
        if cid not in leave_out:
            known.setdefault(cid, text)
    return known


@dataclass(frozen=True, slots=True)
class _Plan:
    number: int
    latest: PolicyVersion | None
    clauses: list[PolicyClause]
    version: PolicyVersion
    preview: PublishPreview


def _plan(session: Session, caller: Principal, data: PolicyVersionCreate) -> _Plan:
    """Everything a publish would store, worked out and checked, with nothing written: reads only, so the
    matching (the slow part for a long text) runs before the publish takes the database's write lock."""
    today = clock.today()
    if data.effective_on < today:
        raise Unprocessable.field(
            "effective_on",
            f"effective_on ({data.effective_on}) is in the past: a new version starts today or later",
        )
    if data.effective_on > today + timedelta(days=MAX_DAYS_AHEAD):
        raise Unprocessable.field(
            "effective_on",
            f"effective_on ({data.effective_on}) is more than {MAX_DAYS_AHEAD} days ahead: publish a version "
            "within the year it will be in force",
        )
    latest = session.exec(
        select(PolicyVersion).where(live()).order_by(col(PolicyVersion.number).desc())
    ).first()
    if latest is not None and data.effective_on <= latest.effective_on:
        raise Unprocessable.field(
            "effective_on",
            f"effective_on ({data.effective_on}) must be after version {latest.number}'s "
            f"({latest.effective_on}); a version not yet in force can be withdrawn instead",
        )
    sentences = policy_text.sentences(data.text)
    if not sentences:
        raise Unprocessable.field(
            "text", "The text has no sentence (a sentence ends with . ! ? or a line end)"
        )
    previous = clauses_of(session, latest) if latest is not None else []
    if previous and [s.text for s in sentences] == [c.text for c in previous]:
        raise Conflict(f"The text is version {latest.number if latest else 0}'s, sentence for sentence")
    highest = session.execute(sa.select(sa.func.max(col(PolicyVersion.number)))).scalar()
    number = int(highest or 0) + 1
    matched = policy_text.match(_known_words(session, set(data.declare_removed)), sentences, f"V{number}")
    version = PolicyVersion(
        number=number,
        effective_on=data.effective_on,
        published_on=today,
        text=data.text,
        summary=data.summary,
        published_by_label=caller.label,
    )
    clauses = [
        PolicyClause(
            version_id=version.id,
            clause_id=m.clause_id,
            position=i + 1,
            section=m.sentence.section[:200],
            text=m.sentence.text,
        )
        for i, m in enumerate(matched)
    ]
    before = {c.clause_id: c.text for c in previous}
    after = {c.clause_id: c.text for c in clauses}
    enforcing = _enforcing()
    stopped = [
        StoppedRule(
            rule_id=r.id,
            severity=r.severity,
            clauses=list(r.clause_ids),
        )
        for r in citing_rules()
        if _applied(r, before) and not _applied(r, after)
    ]
    reworded = [
        RewordedClause(
            clause_id=m.clause_id,
            before=m.previous_text,
            after=m.sentence.text,
            rules=enforcing[m.clause_id],
        )
        for m in matched
        if m.clause_id in enforcing and m.previous_text is not None and m.previous_text != m.sentence.text
    ]
    removed = {cid: t for cid, t in before.items() if cid not in after}
    added = {cid: t for cid, t in after.items() if cid not in before}
    hints = [
        TurnedRound(removed=old, added=new, before=removed[old], after=added[new])
        for old, new in policy_text.turned_round(removed, added)
    ]
    # Every enforced sentence left out or given a new id, whether or not each rule citing it stops: a rule
    # citing four sentences loses an enforced promise when one goes.
    enforced_removed = [
        RemovedClause(clause_id=cid, before=t, rules=enforcing[cid])
        for cid, t in removed.items()
        if cid in enforcing
    ]
    diff = diff_of(latest.number if latest else 0, previous, number, clauses)
    resumed = [r.id for r in citing_rules() if before and not _applied(r, before) and _applied(r, after)]
    token = _token(data, latest, number, diff, stopped, resumed, reworded, enforced_removed)
    removal_declared = set(data.confirm_removed) | set(data.declare_removed)
    preview = PublishPreview(
        number=number,
        diff=diff,
        rules_stopped=stopped,
        rules_resumed=resumed,
        reworded=reworded,
        enforced_removed=enforced_removed,
        turned_round=hints,
        unconfirmed_rules_stopped=[r.rule_id for r in stopped if r.rule_id not in data.confirm_rules_stopped],
        unconfirmed_reworded=[c.clause_id for c in reworded if c.clause_id not in data.confirm_reworded],
        unconfirmed_removed=[c.clause_id for c in enforced_removed if c.clause_id not in removal_declared],
        token=token,
    )
    _check_confirmations(data, preview, set(before))
    return _Plan(number, latest, clauses, version, preview)


def _token(
    data: PolicyVersionCreate,
    latest: PolicyVersion | None,
    number: int,
    diff: PolicyDiffPublic,
    stopped: list[StoppedRule],
    resumed: list[str],
    reworded: list[RewordedClause],
    removed: list[RemovedClause],
) -> str:
    """SHA-256 (hex) of what a publish of `data` would do: its text and date, the version it follows and
    the number it gets, and every planned change (which carries `declare_removed`'s effect, but none of the
    confirmations, so a preview of the bare body gives the token its confirmed publish must send). A
    different text, date, latest version or rule catalog gives another token."""
    plan = {
        "text": data.text,
        "effective_on": data.effective_on.isoformat(),
        "latest": latest.number if latest else 0,
        "number": number,
        "diff": diff.model_dump(mode="json"),
        "rules_stopped": [r.model_dump(mode="json") for r in stopped],
        "rules_resumed": resumed,
        "reworded": [c.model_dump(mode="json") for c in reworded],
        "enforced_removed": [c.model_dump(mode="json") for c in removed],
    }
    return hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()


def _check_confirmations(data: PolicyVersionCreate, p: PublishPreview, previous_ids: set[str]) -> None:
    """422 naming the field and the ids for a confirmation that matches nothing in the plan: a
    confirmation carried over from another text's preview confirms nothing here, and silently ignoring it
    would hide that."""
    planned = {
        "confirm_rules_stopped": {r.rule_id for r in p.rules_stopped},
        "confirm_reworded": {c.clause_id for c in p.reworded},
        "confirm_removed": {c.clause_id for c in p.enforced_removed},
        "declare_removed": previous_ids,
    }
    errors = [
        FieldError(
            field=field,
            message=f"{field} names {', '.join(unknown)}, which this version's plan does not have: "
            "preview again",
            type="value_error",
        )
        for field, sent in (
            ("confirm_rules_stopped", data.confirm_rules_stopped),
            ("confirm_reworded", data.confirm_reworded),
            ("confirm_removed", data.confirm_removed),
            ("declare_removed", data.declare_removed),
        )
        if (unknown := sorted(set(sent) - planned[field]))
    ]
    if errors:
        raise Unprocessable("Confirmations that match nothing in the plan", errors=errors)


def _planned(session: Session, caller: Principal, data: PolicyVersionCreate) -> _Plan:
    """`_plan` in a transaction that does not take SQLite's write lock (a POST's transactions otherwise do
    from their first statement: api/db.py `may_write`): the reading and matching take seconds for a long
    text against a long text, and sign-ins and other writes must not queue behind them. A publish's write
    transaction then checks that no other version was published meanwhile."""
    session.commit()
    reading = may_write.set(False)
    try:
        return _plan(session, caller, data)
    finally:
        session.commit()
        may_write.reset(reading)


def _lock_versions(session: Session) -> None:
    """Lock every version's row for the rest of the transaction (PostgreSQL; SQLite's write transactions
    are serial already), so a publish and a withdrawal never both act on what they read before the other
    wrote: the second waits, then re-reads. Versions are few (one a year or so)."""
    with session.no_autoflush:
        session.execute(
            sa.select(col(PolicyVersion.id)).order_by(col(PolicyVersion.number)).with_for_update()
        ).all()


def _latest_live_number(session: Session) -> int | None:
    found = session.execute(sa.select(sa.func.max(col(PolicyVersion.number))).where(live())).scalar()
    return int(found) if found is not None else None


def preview(*, session: Session, caller: Principal, data: PolicyVersionCreate) -> PublishPreview:
    """What publishing `data` would do, storing nothing: the clause difference from the latest version, the
    rules that would stop being applied, the enforced clauses reworded (with a hint where a negation came
    or went), the enforced clauses left out, which of those the body leaves unconfirmed, and the `token` a
    confirmed publish of this body must send. The same 422s and 409s as `publish`, except the 409s for
    confirmations."""
    return _planned(session, caller, data).preview


def publish(*, session: Session, caller: Principal, data: PolicyVersionCreate) -> PublishedPolicy:
    """Publish a new version: each sentence keeps the clause id of the same or reworded words among every
    clause any version (not withdrawn) has had, each id with its latest words, so a sentence that comes back
    gets its id back; a new sentence gets a new id (`V<number>-<position>`). Audited (numbers and dates only)
    and announced (`policy.version_published`). Every staff declaration made for an earlier version is due
    again.

    Nothing a rule keeps changes without a person saying so: every rule that would stop being applied (each
    sentence it cites left out) must be named in `confirm_rules_stopped`, every enforced clause whose
    words change in `confirm_reworded` (the rules still enforce the new words) or `declare_removed` (the new
    words are another promise: a new id), and every enforced clause left out or given a new id (a rule citing
    others too included) in `confirm_removed` or `declare_removed`; else a 409 listing them (`rules_stopped`,
    `reworded`, `removed`), nothing stored. Confirmations name ids, not words, so a publish needing any
    must also send the preview's `token` for this very body as `preview_token` (409 naming it otherwise,
    with the current token); a confirmation naming what the plan does not have is a 422 naming the field.
    `preview` answers the same without storing.

    Errors: 422 `effective_on` in the past, more than `MAX_DAYS_AHEAD` days ahead, or not after the latest
    version's (not withdrawn); 422 `text` with no sentence; 422 a confirmation naming nothing planned; 409
    when the text is the latest version's word for word, a confirmation or the preview token is missing or
    wrong, or another publish or a withdrawal came between (the versions' rows are locked while checked)."""
    plan = _planned(session, caller, data)
    p = plan.preview
    unconfirmed = p.unconfirmed_rules_stopped or p.unconfirmed_reworded or p.unconfirmed_removed
    if unconfirmed:
        raise Conflict(
            "The new version would change what rules enforce: confirm each rule that stops being applied "
            "(confirm_rules_stopped), each enforced clause reworded (confirm_reworded, or declare_removed) "
            "and each enforced clause removed (confirm_removed), with the preview's token (preview_token)",
            code=ProblemCode.confirmation_required,
            extra={
                "rules_stopped": p.unconfirmed_rules_stopped,
                "reworded": p.unconfirmed_reworded,
                "removed": p.unconfirmed_removed,
                "preview_token": p.token,
            },
        )
    needs_token = p.rules_stopped or p.reworded or p.enforced_removed
    if (needs_token or data.preview_token is not None) and data.preview_token != p.token:
        raise Conflict(
            "preview_token is not this body's preview token: the confirmations were given for another plan "
            "(another text, date or latest version). Preview this body and confirm what it lists",
            code=ProblemCode.confirmation_required,
            extra={"field": "preview_token", "preview_token": p.token},
        )
    version, number, changed = plan.version, plan.number, p.diff
    _lock_versions(session)
    highest = session.execute(sa.select(sa.func.max(col(PolicyVersion.number)))).scalar()
    if int(highest or 0) != number - 1 or _latest_live_number(session) != (
        plan.latest.number if plan.latest else None
    ):
        raise Conflict(
            f"Version {highest} was published or a version withdrawn meanwhile: preview again and publish "
            "against the versions as they are"
        )
    counts = {
        kind: sum(c.change == kind for c in changed.changes) for kind in ("added", "removed", "reworded")
    }
    # The text and summary stay out of the log: free text, and the version itself keeps them for ever.
    audit.record(
        session,
        actor=caller,
        action="policy_version.publish",
        entity=version,
        changes={
            "number": number,
            "effective_on": data.effective_on.isoformat(),
            **counts,
            "rules_stopped": [r.rule_id for r in p.rules_stopped],
            "reworded_confirmed": [c.clause_id for c in p.reworded],
        },
    )
    webhooks.emit(
        session,
        WebhookEvent.policy_version_published,
        {"number": number, "effective_on": data.effective_on, "published_on": version.published_on, **counts},
    )
    try:
        # The version first: its clauses refer to it (no relationship tells the session the order).
        session.add(version)
        session.flush()
        session.add_all(plan.clauses)
        session.flush()
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            f"Version {number} was published by someone else meanwhile: read the versions again"
        ) from exc
    return PublishedPolicy(version=public(session=session, version=version), diff=changed)


def withdraw(
    *, session: Session, caller: Principal, number: int, data: PolicyVersionWithdraw
) -> PolicyVersionPublic:
    """Withdraw a version that is not yet in force: it stays on record (with the day, the reason and who),
    never comes into force, and no longer bounds a later version's effective date. Audited (number and
    dates, not the reason) and announced (`policy.version_withdrawn`).

    Errors: 404 unknown version; 409 already withdrawn, already in force (its effective day has come: a
    correction is a new version), or a later version not withdrawn exists (withdraw it first: its changes
    were confirmed against this one). Checked and written in one transaction holding the versions' rows, so
    a publish cannot come between."""
    _lock_versions(session)
    version = get(session=session, number=number)
    today = clock.today()
    if version.withdrawn_on is not None:
        raise Conflict(f"Version {number} was already withdrawn on {version.withdrawn_on}")
    if version.effective_on <= today:
        raise Conflict(
            f"Version {number} has been in force since {version.effective_on}: publish a new version instead"
        )
    later = _latest_live_number(session)
    if later is not None and later > number:
        # Version `later`'s confirmations were judged against this one: withdrawing it under a later version
        # would leave that version stopping and rewording what nobody confirmed against its predecessor.
        raise Conflict(
            f"Version {later} was published after version {number} and is not withdrawn: withdraw version "
            f"{later} first (its changes were confirmed against version {number})"
        )
    version.withdrawn_on = today
    version.withdrawn_reason = data.reason
    version.withdrawn_by_label = caller.label
    session.add(version)
    audit.record(
        session,
        actor=caller,
        action="policy_version.withdraw",
        entity=version,
        changes={
            "number": number,
            "effective_on": version.effective_on.isoformat(),
            "withdrawn_on": today.isoformat(),
        },
    )
    webhooks.emit(
        session,
        WebhookEvent.policy_version_withdrawn,
        {"number": number, "effective_on": version.effective_on, "withdrawn_on": today},
    )
    session.commit()
    session.refresh(version)
    return public(session=session, version=version)
