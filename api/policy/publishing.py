"""Publishing and withdrawing a policy version: the plan of what a new text would change (api/policy/
publish_plan.py) checked and confirmed before anything is stored, under a lock on the versions' rows; reading
the versions is api/policy/version_service.py."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from api import clock
from api.audit import service as audit
from api.auth.principal import Principal
from api.db import may_write
from api.errors import Conflict
from api.policy import publish_plan
from api.policy.publish_plan import Plan
from api.policy.version_service import get, live, public
from api.policy.versions import (
    PolicyVersion,
    PolicyVersionCreate,
    PolicyVersionPublic,
    PolicyVersionWithdraw,
    PublishedPolicy,
    PublishPreview,
)
from api.problems import ProblemCode
from api.webhooks import service as webhooks
from api.webhooks.models import WebhookEvent


def _planned(session: Session, caller: Principal, data: PolicyVersionCreate) -> Plan:
    """`publish_plan.plan` in a transaction that does not take SQLite's write lock (a POST's transactions
    otherwise do from their first statement: api/db.py `may_write`): the reading and matching take seconds
    for a long text against a long text, and sign-ins and other writes must not queue behind them. A
    publish's write transaction then checks that no other version was published or withdrawn meanwhile."""
    session.commit()
    reading = may_write.set(False)
    try:
        return publish_plan.plan(session, caller, data)
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
            "removed_confirmed": [c.clause_id for c in p.enforced_removed],
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
    webhooks.emit(
        session,
        WebhookEvent.policy_version_withdrawn,
        {"number": number, "effective_on": version.effective_on, "withdrawn_on": today},
    )
    changes = {
        "number": number,
        "effective_on": version.effective_on.isoformat(),
        "withdrawn_on": today.isoformat(),
    }
    audit.commit_recorded(session, version, actor=caller, action="policy_version.withdraw", changes=changes)
    return public(session=session, version=version)
