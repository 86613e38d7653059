"""Entity tags and preconditions (RFC 9110 §8.8.3, §13.1.1): a record's ETag from its version, the tag a
GET's answer carries (its version and a digest of the body), and the If-Match a change may send, read in
one place so every route compares tags the same way."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from api.errors import PreconditionFailed, PreconditionRequired, Responses

# Declared on every single-record GET: its ETag, and the 304 an If-None-Match naming it gets
# (api/standard_headers.py answers it).
CONDITIONAL_GET: Responses = {
    200: {
        "description": "Successful Response",
        "headers": {
            "ETag": {
                "description": "The entity tag of this answer: the record's version, a dot and a digest of "
                'the body (e.g. "3.5f0c2d9e8a1b4c7d"), so it moves whenever the answer does, also where a '
                "count or the day changes it and the version does not. Send it back in If-None-Match to be "
                "answered 304 while the answer is unchanged, or in If-Match to change the record (checked "
                'against its version, the part before the dot; a write answers the bare version, "4")',
                "schema": {"type": "string"},
            }
        },
    },
    304: {
        "description": "Not modified: the answer is still the one whose ETag If-None-Match named (no body)"
    },
}


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


# A tag `etag(version)` gives: what a GET's answer is re-tagged from.
_VERSION_TAG = re.compile(r'"([0-9]+)"')
# A tag this service issues for a record: its version, then, on a GET's answer, a dot and 16 hex digits of
# the body's digest (the roster's tag, api/rosters/etags.py, has the same form: its version before the dot).
_ISSUED = re.compile(r"([0-9]+)(?:\.[0-9a-f]{16})?")


def is_version_etag(tag: str) -> bool:
    """Whether `tag` is a record's version as `etag` gives it (`"3"`)."""
    return _VERSION_TAG.fullmatch(tag) is not None


def representation_etag(tag: str, body: bytes) -> str | None:
    """The entity tag of a GET's answer whose ETag is the record's version `tag` (`"3"`): `"3.<digest>"`,
    the digest 16 hex digits of BLAKE2b over the body's bytes, so the tag moves whenever the body does,
    also where the version does not (a member count, `is_current` on a new day: RFC 9110 §8.8.3, an entity
    tag tells representations apart, not versions). None when `tag` is not a version tag (a roster's)."""
    found = _VERSION_TAG.fullmatch(tag)
    if found is None:
        return None
    return f'"{found[1]}.{hashlib.blake2b(body, digest_size=8).hexdigest()}"'


def issued_version(opaque: str) -> int | None:
    """The version an entity tag's opaque part (without its quotes) names: `3` for `3` and for
    `3.5f0c…` (a GET's tag); None for a value this service never issues."""
    found = _ISSUED.fullmatch(opaque)
    return int(found[1]) if found is not None else None


# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = "!" / %x23-7E / obs-text.
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')


def names_any(value: str | None) -> bool:
    """Whether an If-Match header is `*`: any current representation (RFC 9110 §13.1.1). The one test for
    it: `if_match` answers it as `AnyVersion()`, as does the roster's own If-Match (api/rosters/etags.py)."""
    return value is not None and value.strip() == "*"


def if_match_tags(value: str | None) -> frozenset[str] | None:
    """The strong entity tags an If-Match header lists (RFC 9110 §13.1.1), each with its quotes; None when
    the header is absent or `*` (any current representation). A weak tag (`W/"3"`) is dropped: If-Match
    compares strongly, so it never matches. A list may hold empty members (RFC 9110 §5.6.1).
    Errors: 412 naming the header as malformed when it is neither `*` nor a comma-separated list of quoted
    tags (an unquoted `3`, a stray `*` in a list, an unclosed quote)."""
    if value is None or names_any(value):
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
            description='The ETag you read (e.g. "3", or "3.5f0c2d9e8a1b4c7d" from a GET), or a list of '
            "them: the change is refused with 412 if the record is at none of their versions (a weak tag "
            "never matches; a malformed header is a 412 saying so)",
        ),
    ] = None,
) -> int | None:
    """The version the client expects, from an If-Match header (RFC 9110 §13.1.1): None without the header;
    `AnyVersion()` for `*`, which every route reads from here alone, so it matches a record at any version
    and, on a push by external id, creates none (412 where there is no record: `crud.upsert_by_external_id`;
    a route by id answers 404 for a missing record before any precondition, RFC 9110 §13.2.1). Several
    tags: an `ETags`, matching a record at any of them. Errors: 412 for a malformed header, for
    `If-None-Match: *` on a route that does not create (`refuse_create_only`),
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
    if strict and names_any(value):
        raise PreconditionRequired(
            "This API key changes a record only with the ETag it read: If-Match: * matches any version, so "
            'it does not show the record was read; send the ETag itself (for example "3")'
        )
    refuse_create_only(request)
    if names_any(value):
        return AnyVersion()
    tags = if_match_tags(value)
    if tags is None:
        return None
    # A GET's tag (`"3.5f0c…"`) guards a change by its version: the body it digests may differ for reasons
    # no write is checked against (the day, a count of other records).
    versions = frozenset(v for t in tags if (v := issued_version(t[1:-1])) is not None)
    if not versions:
        raise PreconditionFailed(
            f"If-Match {value!r} names no ETag this service issued: a weak ETag (W/) never matches, "
            'send the ETag as it was given (for example "3")'
        )
    return next(iter(versions)) if len(versions) == 1 else ETags(versions)


def refuse_create_only(request: Request) -> None:
    """412 for `If-None-Match: *` on a change whose route does not read it (every change by id, a verb,
    the policy settings; `if_match` calls it, and the roster's routes, which read their own If-Match,
    depend on it): the record it changes exists, so the condition is false and the change is not made (RFC
    9110 §13.1.2, §13.2.2). A push by external id reads it itself (`if_none_match`, `create_only`)."""
    # Taken for no header before, so a client asking "create only" overwrote a record.
    if request.method in ("GET", "HEAD") or not if_none_match(request.headers.get("If-None-Match")):
        return
    if not _reads_if_none_match(request.scope.get("route")):
        raise PreconditionFailed(
            "If-None-Match: * asks that no record exist, and this change is to one that does: nothing was "
            "written. Only a push by external id creates; send If-Match (or nothing) to change a record"
        )


def _reads_if_none_match(route: object) -> bool:
    """Whether `route` (an APIRoute) takes the If-None-Match header itself. Walked only for a request
    sending `If-None-Match: *` to a change, so not cached (an APIRoute is not hashable)."""
    found, todo = False, [getattr(route, "dependant", None)]
    while todo and not found:
        dependant = todo.pop()
        if dependant is None:
            continue
        found = any((p.alias or p.name).lower() == "if-none-match" for p in dependant.header_params)
        todo.extend(dependant.dependencies)
    return found


def _requires_if_match(request: Request) -> bool:
    # The caller, as api/auth/principal.py left it on the request (every route that changes a record names
    # its permission, and so resolves the caller, before If-Match). Read by attribute: the kernel imports
    # no domain.
    return bool(getattr(getattr(request.state, "principal", None), "require_if_match", False))


IfMatch = Annotated[int | None, Depends(if_match)]


class CreateOnly(int):
    """The expected version of a push sent with `If-None-Match: *` (RFC 9110 §13.1.2: the write holds only
    where no current representation exists): equal to no version, so a record found is never written;
    `crud.upsert_by_external_id` refuses it with 412 before anything is changed, and creates one where
    none is found."""

    def __new__(cls) -> CreateOnly:
        return super().__new__(cls, 0)

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__

    def __str__(self) -> str:
        return "none (If-None-Match: *)"

    __repr__ = __str__


class AnyVersion(int):
    """The expected version of a write sent with `If-Match: *` (RFC 9110 §13.1.1: the write holds only where
    a current representation exists), as `if_match` gives it: equal to every version, so any record found is
    written as without the header (`pinned` gives None for it), but not None, so
    `crud.upsert_by_external_id` refuses with 412, and creates nothing, where none is found."""

    def __new__(cls) -> AnyVersion:
        return super().__new__(cls, 0)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = int.__hash__

    def __str__(self) -> str:
        return "any (If-Match: *)"

    __repr__ = __str__


def pinned(expected_version: int | None) -> int | None:
    """The version a write's If-Match pins the record to: None for no header and for `*` (`AnyVersion`),
    which name no version the record could have moved on from. Where a concurrent writer changed the record
    since it was read, a pinned version is a 412 (read it again), an unpinned one a retry or 409."""
    return None if isinstance(expected_version, AnyVersion) else expected_version


def if_none_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-None-Match",
            description="`*` to create only: the push is refused with 412, and nothing written, when a "
            "record already has this external id (RFC 9110 §13.1.2). A list of ETags is not checked on a "
            "write",
        ),
    ] = None,
) -> bool:
    """Whether a write asks to create only (`If-None-Match: *`)."""
    return value is not None and value.strip() == "*"


def create_only(expected_version: int | None, wanted: bool) -> int | None:
    """The expected version a push goes on with: `CreateOnly()` when `wanted` (If-None-Match: *), else the
    If-Match one. Errors: 412 when both an If-Match tag and `If-None-Match: *` are sent (no record can be
    both at a version and absent)."""
    if not wanted:
        return expected_version
    if expected_version is not None:
        raise PreconditionFailed(
            "If-Match asks for a record that exists and If-None-Match: * for none: both cannot hold, send one"
        )
    return CreateOnly()


CreateOnlyWanted = Annotated[bool, Depends(if_none_match)]
