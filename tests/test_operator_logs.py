"""For operators (issue 18): a request id on every answer, and JSON log lines carrying it, with no child's
details in any line, whatever the request carried."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from api.logging import log_config
from api.request_context import new_request_id
from tests.kit.auth import Actor

URL = "/api/v1/participants"
# A child's and her carer's details that must never reach a log line (each distinctive, so a hit is real).
CHILD = "Zephyrine Quillfeather"
CARER_EMAIL = "wilhelmina.quillfeather@example.org"
PHONE = "+44 7700 900456"
CREATE_ID = "0b8f4f0e-2f43-4d8e-9a55-3f1f6c1d2e01"
REQ_ID = "4BF92F3577B34DA6A3CE929D0E0E4736"
SECRETS = ("Zephyrine", "Quillfeather", "wilhelmina", "900456", "7700 9")


def participant(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "full_name": CHILD,
        "date_of_birth": "2012-05-06",
        "carer_name": "Wilhelmina Quillfeather",
        "carer_email": CARER_EMAIL,
        "carer_phone": PHONE,
        "joined_on": "2024-09-01",
    }
    data.update(overrides)
    return data


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Every line the app would write with its production logging (api/logging.py, at DEBUG), captured."""
    buffer = io.StringIO()
    names = ("", "api", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (lg.handlers[:], lg.level, lg.propagate, lg.disabled)
        for name, lg in ((n, logging.getLogger(n)) for n in names)
    }
    config = log_config("DEBUG")
    config["handlers"]["default"] = {
        "()": lambda: logging.StreamHandler(buffer),
        "formatter": "json",
        "filters": ["request_id"],
    }
    logging.config.dictConfig(config)
    try:
        yield buffer
    finally:
        for name, (handlers, level, propagate, disabled) in saved.items():
            lg = logging.getLogger(name)
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate, lg.disabled = propagate, disabled


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def access_lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in lines(buffer) if line["logger"] == "api.access"]


def test_the_caller_s_request_id_is_kept_and_a_bad_one_replaced(client: TestClient) -> None:
    # A UUID in either case, and a W3C trace id (32 hex digits), are kept as sent.
    for given in (str(uuid.uuid4()), str(uuid.uuid4()).upper(), "4bf92f3577b34da6a3ce929d0e0e4736"):
        assert client.get("/health", headers={"X-Request-ID": given}).headers["x-request-id"] == given
    bad_ids = ("has space", "x" * 129, "semi;colon", "ünï".encode(), b"new\\nline", "", "lb-7f3a.42:abc_DEF")
    for bad in bad_ids:
        answered = client.get("/health", headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert answered != bad
        assert uuid.UUID(answered).version == 4
    # No id sent: a fresh one each time.
    first, second = (client.get("/health").headers["x-request-id"] for _ in range(2))
    assert first != second


# Ids a caller might build from a person: a name, a phone number, both, a UUID with a name in its place.
PERSONAL_IDS = (
    "Zebedee.Quillfeather",
    "name:07700900999",
    "07700900999",
    "447700900999447700900999447700900",  # 33 digits: no trace id
    "Zebedee-Quillfeather-0770-0900-999999999999",
    "7700900999",
)


@pytest.mark.parametrize("given", PERSONAL_IDS)
def test_a_request_id_that_could_hold_a_name_or_a_phone_is_neither_echoed_nor_logged(
    client: TestClient, coordinator: Actor, logs: io.StringIO, given: str
) -> None:
    answer = client.get(URL, headers={**coordinator.headers, "X-Request-ID": given})
    assert answer.status_code == 200
    answered = answer.headers["x-request-id"]
    assert uuid.UUID(answered).version == 4
    assert given not in answer.headers.values()
    text = logs.getvalue()
    assert given.lower() not in text.lower()
    for part in ("zebedee", "quillfeather", "0770", "900999"):
        assert part not in text.lower(), part
    (line,) = access_lines(logs)
    assert line["request_id"] == answered


def test_a_fresh_request_id_is_a_random_uuid() -> None:
    ids = [new_request_id() for _ in range(200)]
    assert len(set(ids)) == len(ids)
    for text_form in ids:
        parsed = uuid.UUID(text_form)
        assert str(parsed) == text_form
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_every_kind_of_answer_carries_a_request_id(app: FastAPI, coordinator: Actor) -> None:
    def boom() -> None:
        raise RuntimeError("unexpected")

    app.add_api_route("/boom-for-test", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        answers = {
            "ok": client.get(URL, headers=coordinator.headers),
            "401": client.get(URL),
            "404 unknown path": client.get("/no/such/path"),
            "404 record": client.get(f"{URL}/{uuid.uuid4()}", headers=coordinator.headers),
            "422": client.post(URL, json={"full_name": 3}, headers=coordinator.headers),
            "500": client.get("/boom-for-test"),
            "dashboard": client.get("/dashboard/sign-in"),
        }
    assert answers["500"].status_code == 500
    for what, answer in answers.items():
        assert uuid.UUID(answer.headers["x-request-id"]), what


def test_logs_are_json_lines_with_the_request_id_and_no_personal_data(
    client: TestClient, coordinator: Actor, logs: io.StringIO
) -> None:
    headers = coordinator.headers
    created = client.post(URL, json=participant(), headers={**headers, "X-Request-ID": CREATE_ID})
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    sent = [
        created,
        # A bad body holding the name: the 422 quotes nothing of it into a log.
        client.post(URL, json=participant(date_of_birth="the 6th of May"), headers=headers),
        client.patch(f"{URL}/{pid}", json={"carer_name": "Wilhelmina Q. Quillfeather"}, headers=headers),
        client.get(f"{URL}/{pid}", headers=headers),
        client.get(URL, params={"q": CHILD, "carer_email": CARER_EMAIL}, headers=headers),
        # A path holding the name and the email: a 404 from no route, and one from a route.
        client.get(f"/api/v1/{CHILD}/{CARER_EMAIL}", headers=headers),
        client.get(f"{URL}/{CHILD}", headers=headers),
    ]
    assert [r.status_code for r in sent][1] == 422
    assert sent[-2].status_code == 404

    text = logs.getvalue()
    for secret in (*SECRETS, coordinator.user.email if coordinator.user else "?"):
        assert secret.lower() not in text.lower(), secret

    access = access_lines(logs)
    assert len(access) == len(sent)
    for answer, line in zip(sent, access, strict=True):
        assert line["request_id"] == answer.headers["x-request-id"]
        assert line["status"] == answer.status_code
        assert line["caller_kind"] in ("user", "anonymous")
        assert isinstance(line["duration_ms"], float)
    assert access[0]["request_id"] == CREATE_ID
    assert access[0]["method"] == "POST"
    assert access[0]["route"] == URL
    assert access[0]["caller_role"] == "coordinator"
    assert access[2]["route"] == URL + "/{participant_id}"
    assert access[5]["route"] == "unmatched"
    assert {"time", "level", "logger", "message"} <= set(access[0])


def test_a_log_line_made_inside_a_request_carries_its_id(
    app: FastAPI, client: TestClient, logs: io.StringIO
) -> None:
    def speak() -> dict[str, str]:
        logging.getLogger("api.test").warning("inside the request")
        return {}

    app.add_api_route("/speak-for-test", speak)
    answer = client.get("/speak-for-test", headers={"X-Request-ID": REQ_ID})
    (said,) = [line for line in lines(logs) if line["logger"] == "api.test"]
    assert said["request_id"] == REQ_ID == answer.headers["x-request-id"]
    assert said["level"] == "WARNING"
    # Outside a request there is no id to give.
    logging.getLogger("api.test").warning("outside")
    assert "request_id" not in lines(logs)[-1]


def test_a_database_error_s_text_leaves_the_parameters_out(session: Session) -> None:
    # What an unexpected error's traceback would print into the log.
    with pytest.raises(DBAPIError) as raised:
        session.execute(text("SELECT no_such_column FROM staff WHERE full_name = :name"), {"name": CHILD})
    session.rollback()
    assert "Zephyrine" not in str(raised.value)
    assert CHILD in str(raised.value.params)  # still there for the code that handles it
