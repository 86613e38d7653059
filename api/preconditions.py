"""Entity tags and preconditions (RFC 9110 §8.8.3, §13.1.1): a record's ETag from its version, and the
If-Match a change may send, read in one place so every route compares tags the same way."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from api.errors import PreconditionFailed, PreconditionRequired


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = "!" / %x23-7E / obs-text.
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')


def if_match_tags(value: str | None) -> frozenset[str] | None:
    """The strong entity tags an If-Match header lists (RFC 9110 §13.1.1), each with its quotes; None when
    the header is absent or `*` (any current representation). A weak tag (`W/"3"`) is dropped: If-Match
    compares strongly, so it never matches. A list may hold empty members (RFC 9110 §5.6.1).
    Errors: 412 naming the header as malformed when it is neither `*` nor a comma-separated list of quoted
    tags (an unquoted `3`, a stray `*` in a list, an unclosed quote)."""
    if value is None or value.strip() == "*":
        return None
    strong: set[str] = set()
    members = [m.strip() for m in value.split(",")]
    for member in members:
        found = _ENTITY_TAG.fullmatch(member)
        if member and found is None:
            raise PreconditionFailed(
                f"If-Match {value!r} is malformed: send * or a comma-separated list of quoted ETags "
                '(for example "3"), as they were given'
            )
        if found is not None and not found[1]:
            strong.add(member)
    if not [m for m in members if m]:
        raise PreconditionFailed(f"If-Match {value!r} is malformed: it lists no ETag")
    return frozenset(strong)


class ETags(int):
    """The versions an If-Match list names where it names more than one: equal to each of them, so a check
    `expected_version != record.version` holds exactly when no member matches (RFC 9110 §13.1.1)."""

    versions: frozenset[int]

    def __new__(cls, versions: frozenset[int]) -> ETags:
        made = super().__new__(cls, min(versions))
        made.versions = versions
        return made

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ETags):
            return bool(self.versions & other.versions)
        return isinstance(other, int) and other in self.versions

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = int.__hash__

    def __str__(self) -> str:
        return " or ".join(str(v) for v in sorted(self.versions))

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def if_match(
    request: Request,
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The ETag you read (e.g. "3"), or a list of them: the change is refused with 412 if '
            "the record is at none of them (a weak tag never matches; a malformed header is a 412 saying so)",
        ),
    ] = None,
) -> int | None:
    """The version the client expects, from an If-Match header (RFC 9110 §13.1.1); `*` or no header means
    any. Several tags: an `ETags`, matching a record at any of them. Errors: 412 for a malformed header,
    and for one that lists no strong tag this service issues (a weak tag, a tag that is not a version);
    428 from an API key created with `require_if_match` (RFC 6585 §3) with no header, except on a PUT by
    external id, which may create the record (its service answers 428 if the record exists:
    `crud.upsert_by_external_id`), and with `If-Match: *`, which matches any version and so does not show
    the record was read."""
    strict = _requires_if_match(request)
    if value is None and request.method != "PUT" and strict:
        raise PreconditionRequired(
            'This API key changes a record only with If-Match: send the ETag you read (for example "3")'
        )
    if strict and value is not None and value.strip() == "*":
        raise PreconditionRequired(
            "This API key changes a record only with the ETag it read: If-Match: * matches any version, so "
            'it does not show the record was read; send the ETag itself (for example "3")'
        )
    tags = if_match_tags(value)
    if tags is None:
        return None
    versions = frozenset(int(t[1:-1]) for t in tags if t[1:-1].isascii() and t[1:-1].isdigit())
    if not versions:
        raise PreconditionFailed(
            f"If-Match {value!r} names no ETag this service issued: a weak ETag (W/) never matches, "
            'send the ETag as it was given (for example "3")'
        )
    return next(iter(versions)) if len(versions) == 1 else ETags(versions)


def _requires_if_match(request: Request) -> bool:
    # The caller, as api/auth/principal.py left it on the request (every route that changes a record names
    # its permission, and so resolves the caller, before If-Match). Read by attribute: the kernel imports
    # no domain.
    return bool(getattr(getattr(request.state, "principal", None), "require_if_match", False))


IfMatch = Annotated[int | None, Depends(if_match)]
