"""Reach as data: which records each role reaches, decided here (its table: reach_table.py), nowhere else.

`api/auth/roles.py` says what a role may *do* (a permission per route); this module says *which records*
it may do it to. Each role has a row in `READ_REACH` (what it may see: lists, single reads, filters, ids in
a body, evidence in a compliance finding) and in `WRITE_REACH` (what it may change or add to, and on whose
behalf it may sign a record). The table is in api/auth/reach_table.py; this module turns a row of it into
SQL conditions.

A `Reach` is built once per request from the principal and the organisation's day (`ReachDep`). Services
take it and ask it for SQL conditions (`reach.participants(Participant.id)`) or about one id
(`reach.has(session, Record.participant, pid)`). They never compare a role by name: a test fails if one
does. A record outside reach answers exactly as an unknown one (404 on its URL, the same 422 in a body).

Source: the policy's aim to "protect children and young people who receive More Music's services", and the
principle of least privilege (OWASP ASVS V4 access control: deny by default, enforce on every request).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Protocol, TypeVar

import sqlalchemy as sa
from fastapi import Depends
from sqlalchemy import ColumnElement
from sqlmodel import Session

from api import clock
from api.auth.principal import Principal, current_principal
from api.auth.reach_table import READ_PERMISSION, READ_REACH, UNANCHORED, WRITE_REACH
from api.auth.reach_table import Extent as Extent  # re-exported: services name reach by its kinds
from api.auth.reach_table import Record as Record
from api.common import WriteOutcome, WriteReceipt
from api.errors import AppError, Forbidden, Unprocessable
from api.memberships.models import MemberRole, Membership
from api.staff.models import Staff


class _Versioned(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def version(self) -> int: ...


_W = TypeVar("_W", bound=_Versioned)

R, X = Record, Extent


def _groups_of(staff_id: Any, on: Any, *, admin: bool = False) -> sa.Select[tuple[uuid.UUID]]:
    """Ids of the groups a member of staff is in on `on` (as an admin, if asked); end dates exclusive."""
    m = Membership.__table__.c  # type: ignore[attr-defined]
    where = [
        m.staff_id == staff_id,
        m.started_on <= on,
        sa.or_(m.ended_on.is_(None), m.ended_on > on),
    ]
    if admin:
        where.append(m.role == MemberRole.admin.value)
    return sa.select(m.group_id).where(*where)


def _participants_in(groups: sa.Select[tuple[uuid.UUID]], on: date) -> sa.Select[tuple[uuid.UUID]]:
    """Ids of the participants currently in any of `groups` on `on`."""
    m = Membership.__table__.c  # type: ignore[attr-defined]
    return sa.select(m.participant_id).where(
        m.participant_id.is_not(None),
        m.group_id.in_(groups),
        m.started_on <= on,
        sa.or_(m.ended_on.is_(None), m.ended_on > on),
    )


# The same own-groups condition with named parameters, for statements built once and kept compiled (the
# compliance loads): `Reach.own_groups_params()` gives the values.
_STAFF_PARAM = sa.bindparam("reach_staff_id", type_=sa.Uuid())
_TODAY_PARAM = sa.bindparam("reach_today", type_=sa.Date())
OWN_GROUPS_PARAMETRISED = _groups_of(_STAFF_PARAM, _TODAY_PARAM)


@dataclass(frozen=True, slots=True)
class Reach:
    """What one caller reaches today. Build it with `Reach.of(principal)` (or take `ReachDep`).

    Every method answers for one kind of record: a SQL condition over the column that holds that record's
    id (or its group's id), `true()` for every record, `false()` for none.
    """

    caller: Principal
    today: date
    read: Mapping[Record, Extent]
    write: Mapping[Record, Extent]

    @classmethod
    def of(cls, principal: Principal, today: date | None = None) -> Reach:
        read = {
            record: extent if READ_PERMISSION[record] in principal.permissions else X.none
            for record, extent in READ_REACH[principal.role].items()
        }
        # A staff-shaped extent needs a staff record to anchor it; an account without one reaches nothing.
        if principal.staff_id is None:
            read = {r: (e if e in UNANCHORED else X.none) for r, e in read.items()}
        write = dict(WRITE_REACH[principal.role])
        if principal.staff_id is None:
            write = {r: (e if e in UNANCHORED else X.none) for r, e in write.items()}
        return cls(caller=principal, today=today or clock.today(), read=read, write=write)

    # --- whole-kind questions ---------------------------------------------------------------------------

    def reads(self, record: Record) -> bool:
        """Whether the caller reaches any record of this kind (e.g. may see a record's fields at all)."""
        return self.read[record] is not X.none

    def reads_every(self, record: Record) -> bool:
        """Whether the caller reaches every record of this kind (no condition needed)."""
        return self.read[record] is X.every

    def writes_every(self, record: Record) -> bool:
        return self.write[record] is X.every

    def reads_counts_only(self, record: Record) -> bool:
        """Whether the caller reaches only the counts of this kind of record, never its contents."""
        return self.read[record] is X.counts

    # --- SQL conditions ---------------------------------------------------------------------------------

    def _staff_id(self) -> uuid.UUID:
        assert self.caller.staff_id is not None  # Reach.of leaves no staff-shaped extent without one
        return self.caller.staff_id

    def _group_condition(self, extent: Extent, group_id: Any) -> ColumnElement[bool]:
        if extent is X.every or extent is X.counts:
            return sa.true()
        if extent is X.own_groups:
            return group_id.in_(_groups_of(self._staff_id(), self.today))  # type: ignore[no-any-return]
        if extent is X.admined_groups:
            return group_id.in_(_groups_of(self._staff_id(), self.today, admin=True))  # type: ignore[no-any-return]
        return sa.false()

    def groups(self, group_id: Any) -> ColumnElement[bool]:
        """Groups the caller may see, over a column holding a group id."""
        return self._group_condition(self.read[R.group], group_id)

    def own_groups_params(self) -> dict[str, Any] | None:
        """The parameters of `OWN_GROUPS_PARAMETRISED` when the caller reaches groups through their own
        memberships; None when they reach every group or none (use `groups` for those)."""
        if self.read[R.group] is not X.own_groups:
            return None
        return {"reach_staff_id": self._staff_id(), "reach_today": self.today}

    def managed_groups(self, group_id: Any) -> ColumnElement[bool]:
        """Groups whose memberships and records the caller may change (staff: the groups they admin)."""
        return self._group_condition(self.write[R.membership], group_id)

    def recorded_groups(self, group_id: Any) -> ColumnElement[bool]:
        """Groups the caller may add reviews and risk assessments to."""
        return self._group_condition(self.write[R.group], group_id)

    def memberships(self, group_id: Any) -> ColumnElement[bool]:
        """Memberships the caller may see, over the membership's group id column."""
        return self._group_condition(self.read[R.membership], group_id)

    def waivers(self, group_id: Any) -> ColumnElement[bool]:
        """Waivers the caller may see, over the waiver's group id column."""
        return self._group_condition(self.read[R.waiver], group_id)

    def rosters(self, group_id: Any) -> ColumnElement[bool]:
        """Rosters the caller may see (or count, for `counts`), over the roster's group id column."""
        return self._group_condition(self.read[R.roster], group_id)

    def roster_writes(self, group_id: Any) -> ColumnElement[bool]:
        """Groups whose rosters the caller may upload, resolve and apply."""
        return self._group_condition(self.write[R.roster], group_id)

    def _participant_condition(self, extent: Extent, participant_id: Any) -> ColumnElement[bool]:
        if extent is X.every:
            return sa.true()
        if extent is X.own_groups:
            groups = _groups_of(self._staff_id(), self.today)
            return participant_id.in_(_participants_in(groups, self.today))  # type: ignore[no-any-return]
        return sa.false()

    def participants(self, participant_id: Any) -> ColumnElement[bool]:
        """Participants the caller may see (name, date of birth, carers), over a participant id column."""
        return self._participant_condition(self.read[R.participant], participant_id)

    def consents(self, participant_id: Any) -> ColumnElement[bool]:
        """Consents the caller may see, over the consent's participant id column."""
        return self._participant_condition(self.read[R.consent], participant_id)

    def consent_writes(self, participant_id: Any) -> ColumnElement[bool]:
        """Participants the caller may record or withdraw consents for."""
        return self._participant_condition(self.write[R.consent], participant_id)

    def participant_writes(self, participant_id: Any) -> ColumnElement[bool]:
        """Participants whose record the caller may change (whether or not they may read it)."""
        return self._participant_condition(self.write[R.participant], participant_id)

    def incidents(self, reported_by_id: Any) -> ColumnElement[bool]:
        """Incidents the caller may see, over the incident's `reported_by_id` column (their own: those they
        reported)."""
        return self._own_condition(self.read[R.incident], reported_by_id)

    def staff(self, staff_id: Any) -> ColumnElement[bool]:
        """Staff records the caller may see."""
        return self._own_condition(self.read[R.staff], staff_id)

    def staff_writes(self, staff_id: Any) -> ColumnElement[bool]:
        """Staff records the caller may change (the CRM's keys and coordinators)."""
        extent = self.write[R.staff]
        return sa.true() if extent is X.every else sa.false()

    def staff_reports(self, staff_id: Any) -> ColumnElement[bool]:
        """Members of staff whose compliance report the caller may see."""
        return self._own_condition(self.read[R.staff_compliance], staff_id)

    def _own_condition(self, extent: Extent, staff_id: Any) -> ColumnElement[bool]:
        if extent is X.every:
            return sa.true()
        if extent is X.own:
            return staff_id == self._staff_id()  # type: ignore[no-any-return]
        return sa.false()

    # --- one id -----------------------------------------------------------------------------------------

    def holds(
        self, session: Session, condition: Callable[[Any], ColumnElement[bool]], id_: uuid.UUID
    ) -> bool:
        """Whether one id passes one of the conditions above, e.g. `reach.holds(session, reach.participants,
        pid)`: no query when the answer is every or none, else one `SELECT :id IN (...)`."""
        clause = condition(sa.literal(id_, type_=sa.Uuid()))
        if isinstance(clause, sa.sql.elements.True_):
            return True
        if isinstance(clause, sa.sql.elements.False_):
            return False
        return bool(session.execute(sa.select(clause)).scalar())

    def writes_staff_record(self, staff_id: uuid.UUID) -> bool:
        """Whether the caller may change details of this member of staff (every: a coordinator or the CRM;
        own: their own, such as their platform identities)."""
        extent = self.write[R.staff]
        return extent is X.every or (extent is X.own and staff_id == self.caller.staff_id)

    def signs_for(self, staff_id: uuid.UUID) -> bool:
        """Whether the caller may sign a record (a review, a risk assessment, an incident report) as made by
        `staff_id`: a coordinator for any member of staff, anyone else only as themselves."""
        extent = self.write[R.staff]
        return extent is X.every or (extent is X.own and staff_id == self.caller.staff_id)

    def reads_declaration_answers(self, staff_id: uuid.UUID | None) -> bool:
        """Whether the caller may read what this member of staff declared: a coordinator (every) anyone's,
        and anyone who reaches declarations at all their own, whatever the extent (the README: "only they
        and the coordinator see their answers": a trustee declaring as the member of staff their account is
        linked to reads their own answers back). Others who reach declarations (`counts`, trustees; staff
        for a colleague) see only whether a current declaration stands."""
        extent = self.read[R.declaration]
        own = staff_id is not None and staff_id == self.caller.staff_id
        return extent is X.every or (own and self.reads(R.declaration))

    def declares_for(self, staff_id: uuid.UUID) -> bool:
        """Whether the caller may record a declaration as made by `staff_id`: a coordinator for anyone (a
        declaration made on paper), anyone else only for the staff record their account is linked to."""
        extent = self.write[R.declaration]
        return extent is X.every or (extent is X.own and staff_id == self.caller.staff_id)

    def signer(self, session: Session, given: uuid.UUID | None, on: date, field: str) -> uuid.UUID:
        """Who a record (a review, a risk assessment, an incident report, a parent notification) is signed
        by: the caller, unless one who may sign for others (a coordinator) names another member of staff.
        Either way the signer must be current staff on `on`, the day the record speaks for: a departed or
        future member of staff cannot have done it.

        Errors: 403 when the caller may not sign for another; 422 naming `field` for an unknown id or one
        who was not current staff on `on`."""
        signer = given if given is not None else self.caller.staff_id
        if signer is None:
            raise Unprocessable.field(field, f"{field} is required: this caller is not a member of staff")
        if not self.signs_for(signer):
            raise Forbidden(f"{field}: you record this as yourself; a coordinator may record it for another")
        staff = session.get(Staff, signer)
        if staff is None:
            raise Unprocessable.field(field, f"No staff member with id {signer}")
        if staff.started_on > on or (staff.left_on is not None and staff.left_on <= on):
            left = f", left {staff.left_on}" if staff.left_on else ""
            raise Unprocessable.field(
                field, f"{staff.full_name} was not current staff on {on} (started {staff.started_on}{left})"
            )
        return signer

    # --- answers ----------------------------------------------------------------------------------------

    def answer(self, record: Record, written: _W, outcome: WriteOutcome) -> _W | WriteReceipt:
        """What a write route answers: the record itself to a caller who may read this kind of record, and
        only its id, version and what the write did (`WriteReceipt`) to one who may not."""
        if self.reads(record):
            return written
        return WriteReceipt(id=written.id, version=written.version, status=outcome)

    @contextmanager
    def blind(self, record: Record) -> Iterator[None]:
        """Around a write: a caller who may not read this kind of record gets errors that quote nothing
        stored (`AppError.blinded`), as they get a receipt rather than the record when the write succeeds."""
        try:
            yield
        except AppError as exc:
            if self.reads(record) or exc.status_code in (401, 403, 404):
                raise
            raise exc.blinded() from None


async def current_reach(principal: Annotated[Principal, Depends(current_principal)]) -> Reach:
    """The caller's reach, built once per request (FastAPI caches `current_principal` per request). Async:
    no I/O, so no hand-off to the thread pool."""
    return Reach.of(principal)


ReachDep = Annotated[Reach, Depends(current_reach)]
