"""Logging that never carries a child's details: access lines keep the path but drop the query string
(a search such as `?q=<name>` would otherwise write a name into the log)."""

from __future__ import annotations

import logging
from typing import Any


class DropQueryString(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn.access passes (client, method, path_with_query, http_version, status) as args.
        if isinstance(record.args, tuple) and len(record.args) == 5:
            args = list(record.args)
            if isinstance(args[2], str) and "?" in args[2]:
                args[2] = args[2].split("?", 1)[0] + "?…"
            record.args = tuple(args)
        return True


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {**LOGGING_CONFIG}
    config["filters"] = {"drop_query": {"()": "api.logging.DropQueryString"}}
    config["handlers"] = {k: dict(v) for k, v in LOGGING_CONFIG["handlers"].items()}
    config["handlers"]["access"]["filters"] = ["drop_query"]
    config["loggers"] = {k: dict(v) for k, v in LOGGING_CONFIG["loggers"].items()}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        config["loggers"].setdefault(name, {})["level"] = level
    return config
