"""What API tests share about requests: bodies made from defaults, a list's pages, and the answers to bad
input, to an unknown id and as problem details."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from api.problems import PROBLEM_JSON


def request_body(defaults: dict[str, Any], **more: Any) -> Callable[..., dict[str, Any]]:
    """A maker of request bodies: a fresh copy of `defaults` (with `more`) each call, each field a test names
    by keyword put in its place or added at the end."""
    values = {**defaults, **more}

    def body(**overrides: Any) -> dict[str, Any]:
        return {**copy.deepcopy(values), **overrides}

    return body


def unknown_record_not_found(
    client: TestClient,
    headers: dict[str, str],
    url: str,
    *,
    patch: dict[str, Any],
    action: tuple[str, dict[str, Any]],
) -> None:
    """A record of the collection at `url` under an id that names nothing: its GET, its PATCH (with `patch`)
    and its POST action (`action`: the path's last part and the body) each answer 404 with the `not_found`
    code."""
    missing = f"{url}/{uuid.uuid4()}"
    name, body = action
    for method, path, json in (
        ("GET", missing, None),
        ("PATCH", missing, patch),
        ("POST", f"{missing}/{name}", body),
    ):
        r = client.request(method, path, json=json, headers=headers)
        assert r.status_code == 404, (method, path)
        assert r.json()["code"] == "not_found"


def created_body(r: Response) -> dict[str, Any]:
    """The body of a 201 answer; fails unless `r` is one."""
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def paged(
    client: TestClient, url: str, headers: dict[str, str], *, limit: int, offset: int
) -> dict[str, Any]:
    """The page of the list at `url` from `offset`, at most `limit` items; fails unless it answers 200
    naming that limit and offset, or if the list takes a limit of 0 (422 expected)."""
    r = client.get(url, params={"limit": limit, "offset": offset}, headers=headers)
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    assert (page["limit"], page["offset"]) == (limit, offset)
    assert client.get(url, params={"limit": 0}, headers=headers).status_code == 422
    return page


def problem_answer(r: Response, status: int) -> dict[str, Any]:
    """The problem-details body of `r`; fails unless `r` answers `status` as application/problem+json with
    that status in its body too."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    return body


def refused_field(r: Response) -> str:
    """The field a 422 answer names first; fails unless the answer is a 422."""
    assert r.status_code == 422, r.text
    return str(r.json()["errors"][0]["field"])
