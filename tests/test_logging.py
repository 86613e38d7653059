from __future__ import annotations

import json
import logging

from api.logging import RequestIdFilter, json_formatter, log_config


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("api.x", logging.INFO, __file__, 1, message, (), None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_line_is_one_json_object_with_the_fields_named() -> None:
    record = _record("hello", route="/api/v1/groups", status=200)
    RequestIdFilter().filter(record)
    line = json_formatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "hello"
    assert data["level"] == "INFO"
    assert data["logger"] == "api.x"
    assert data["route"] == "/api/v1/groups"
    assert data["time"].endswith("Z")
    assert "request_id" not in data  # made outside a request


def test_uvicorn_s_access_log_is_off_and_the_app_s_own_is_on() -> None:
    config = log_config("WARNING")
    assert config["loggers"]["uvicorn.access"]["handlers"] == []
    assert config["loggers"]["api"]["level"] == "WARNING"
    assert config["handlers"]["default"]["formatter"] == "json"
