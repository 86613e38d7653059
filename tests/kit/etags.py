"""The entity tag a single-record GET answers (issue 18): the record's version and a digest of the very
bytes answered, computed here on their own so a test checks the tag names the body it came with."""

from __future__ import annotations

import hashlib

import httpx


def read_tag(version: int, answer: httpx.Response) -> str:
    """`"<version>.<16 hex of BLAKE2b over the answer's body>"`: the ETag a GET answering `answer`'s body
    for a record at `version` carries."""
    return f'"{version}.{hashlib.blake2b(answer.content, digest_size=8).hexdigest()}"'
