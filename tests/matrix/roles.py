from __future__ import annotations

from enum import StrEnum


class Caller(StrEnum):
    anonymous = "anonymous"
    coordinator = "coordinator"
    staff = "staff"
    trustee = "trustee"
    integration = "integration"


C, S, T, I = Caller.coordinator, Caller.staff, Caller.trustee, Caller.integration  # noqa: E741
ANON = Caller.anonymous
OPEN = frozenset(Caller)  # no authentication at all
USERS = frozenset({C, S, T})
EVERYONE = frozenset({C, S, T, I})
