"""The test kit: every helper the tests share, one module per part of `api/` (as full-stack-fastapi-template's
tests/utils/), so that there is one way to make each record, one statement counter and one throwaway
database.

What lives where:

- records.py: what the factories share: `add` (make a record from defaults and overrides, and commit it),
  `unique` (a name no other test uses) and `row` (one row for a bulk insert).
- One factory per record type, named `make_<record>(session, ..., **overrides)`; each makes a valid,
  current record with sensible defaults (read from the clock when called, so `fixed_clock` moves them),
  and any field can be overridden:
  staff.py `make_staff`; auth.py `make_user`, `make_api_key`, `make_actor` (a signed-in caller, `Actor`),
  `token_headers`, `signed_in_as`, `PASSWORD`; groups.py `make_group`, `make_risk_assessment`,
  `make_review`; participants.py `make_participant`; memberships.py `make_membership` (and
  `make_group_joined_by`, a new group a signed-in member of staff is in); consents.py
  `make_consent`; incidents.py `make_incident` (and the participants it names); declarations.py
  `make_declaration`; audit.py `make_audit_event`; rosters.py `make_roster`, `make_roster_entry`.
- compliance.py: `make_waiver`, and whole situations built from the factories: `make_compliant_group`
  (passes every rule), `group_fields` (how the compliance tests' groups differ from `make_group`'s),
  `bulk_members` and `bulk_groups` (many records in a few statements).
- requests.py: `request_body` (a maker of request bodies from defaults and a test's overrides) and
  `unknown_record_not_found` (a record's GET, PATCH and action on an unknown id answer 404 `not_found`),
  `refused_field` (the field a 422 names), `created_body` (the body of a 201), `paged` (a list's page at a
  limit and offset).
- audit.py: `patched_and_audited` (a PATCH that answers with the fields changed, version 2, and their
  audit event). sync.py: `assert_push_breaks_group` (a bulk push that reports a group falling out of
  compliance).
- statements.py: `count_statements(engine | connection | session)`, the statement counter for query-count
  assertions (the harness's savepoints left out unless `savepoints=True`).
- databases.py: `throwaway_database(url=None, *, migrated=False)`, a database of its own on the backend
  under test (SQLite, or PostgreSQL when TEST_DATABASE_URL is set), dropped afterwards; `engine_for(url)`.
  tests/conftest.py makes the run's database with it.
- servers.py: the app served for real on a throwaway database (`live_app`, `live_server`,
  `served_by_workers`), for committed data and concurrent requests.
- clock.py: `FixedClock` (behind the `fixed_clock` fixture), `LONDON_JUST_AFTER_MIDNIGHT`, `TODAY`.
- run_clock.py: the run's clock, at midday of the organisation's day the run began (installed by
  tests/conftest.py, handed to servers in other processes through run_clock_app.py), and `ServiceTime`
  for a library in the tests' process that reads the time as an outside party would.

Fixtures (`session`, `client`, `coordinator`, `fixed_clock`, `compliant_group`, ...) stay in
tests/conftest.py. Pure fact builders for the rule engine (no database) are in tests/compliance/builders.py.

To add a factory: put `make_<record>` in the module named after the `api/` package the model lives in
(a new module when there is none), built on `records.add` with defaults that make a valid, current
record; take the records it belongs to as positional arguments and everything else as overrides. Do not
write a second factory for the same record with other defaults: pass the fields that matter to the test
at the call, so that the test says what it depends on.

tests/factories.py, tests/clock.py, tests/live.py and tests/scratch.py only re-export from here, for the
tests that have not moved yet; add nothing to them.
"""
