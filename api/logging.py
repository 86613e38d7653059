"""Logs as JSON lines, each carrying the request id, and none carrying a child's details.

One JSON object per line on standard error (python-json-logger): `time` (UTC, ISO 8601), `level`,
`logger`, `message`, `request_id` (the request being served, api/request_context.py; absent outside a
request) and whatever fields the record was given (the access line's `method`, `route`, `status`,
`duration_ms`, `caller_kind`, `caller_role`).

The access line is the app's own (`api.access`, written by api/request_context.py with the route's
template), so uvicorn's access log, which writes the path as sent (`/api/v1/participants?q=<a name>`), is
turned off. Nothing here filters personal data out of messages: the rule is that no code logs it (ids and
outcomes only), and tests/test_operator_logs.py drives requests full of a child's details and reads
every line.
"""

from __future__ import annotations

import logging
import logging.config
import time
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from api.request_context import current_request_id


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it was made in (unless it names one itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = current_request_id()
            if request_id is not None:
                record.request_id = request_id
        return True


def json_formatter() -> JsonFormatter:
    """The formatter every handler uses: `time`, `level`, `logger`, `message`, then the record's extras."""
    formatter = JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        # uvicorn's own copy of each message with terminal colours in it: noise in a JSON line.
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],
    )
    # ISO 8601 in UTC with milliseconds: lines from several hosts sort together.
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    return formatter


def log_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` document: JSON lines on standard error for the app's loggers
    (`api.*` at `level`), uvicorn's server messages, and anything else at WARNING; uvicorn's access log off.
    Also what `uvicorn.run(log_config=...)` takes."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "api.logging.RequestIdFilter"}},
        "formatters": {"json": {"()": "api.logging.json_formatter"}},
        "handlers": {"default": handler},
        "loggers": {
            "api": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Replaced by the app's own access line (route templates, not raw paths).
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
        "root": {"handlers": ["default"], "level": "WARNING"},
    }


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """The configuration `esafety serve` hands uvicorn (the same as every other process's)."""
    return log_config(level)


def configure(level: str = "INFO") -> None:
    """Log as JSON lines in a process uvicorn does not start (the webhook worker)."""
    logging.config.dictConfig(log_config(level))
