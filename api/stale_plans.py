"""Statements psycopg keeps prepared between requests (`db.release` ends a read in COMMIT, which keeps them)
against a schema a migration changed while the app serves."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import Engine, event


def drop_connections_on_stale_plans(engine: Engine) -> None:
    """A kept statement whose result's columns a migration has since changed (a type, a length) fails on the
    server ("cached plan must not change result type", whichever language the server speaks), and so would
    every other connection's copy of it. Taken as a lost connection: the pool replaces every connection it
    holds from before the failure, and the request gets the 503 a retry gets past (api/errors.py), not a
    plain-text 500."""

    @event.listens_for(engine, "handle_error")
    def _stale(ctx: sa.engine.ExceptionContext) -> BaseException | None:
        diag = getattr(ctx.original_exception, "diag", None)
        if getattr(diag, "source_function", None) != "RevalidateCachedQuery":
            return None
        ctx.is_disconnect = True
        return sa.exc.OperationalError(
            ctx.statement, ctx.parameters, ctx.original_exception, hide_parameters=True
        )
