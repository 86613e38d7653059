from __future__ import annotations

import logging

from api.logging import DropQueryString, uvicorn_log_config


def _access_record(path: str) -> logging.LogRecord:
    return logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", path, "1.1", 200),
        None,
    )


def test_access_log_drops_the_query_string() -> None:
    record = _access_record("/api/v1/participants?q=Maya%20Okafor")
    assert DropQueryString().filter(record)
    line = record.getMessage()
    assert "Maya" not in line
    assert "/api/v1/participants?…" in line


def test_access_log_keeps_plain_paths() -> None:
    record = _access_record("/api/v1/groups")
    DropQueryString().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/v1/groups HTTP/1.1" 200'


def test_uvicorn_config_installs_the_filter_on_access_lines() -> None:
    config = uvicorn_log_config("WARNING")
    assert config["handlers"]["access"]["filters"] == ["drop_query"]
    assert config["loggers"]["uvicorn.access"]["level"] == "WARNING"
