"""Password hashing with passlib (the maintained `libpass` fork) and argon2."""

from __future__ import annotations

from functools import lru_cache

from passlib.context import CryptContext

from api.config import get_settings


@lru_cache
def _context() -> CryptContext:
    s = get_settings()
    # The cost is a setting: slow on purpose in production (bench/README.md), cheap in tests.
    return CryptContext(
        schemes=["argon2"],
        argon2__time_cost=s.argon2_time_cost,
        argon2__memory_cost=s.argon2_memory_kib,
        argon2__parallelism=1,
    )


def hash_password(password: str) -> str:
    return str(_context().hash(password))


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bool(_context().verify(password, password_hash))
    except (ValueError, TypeError):
        return False


@lru_cache
def dummy_hash() -> str:
    """Verified against when the email is unknown, so that case costs the same time as a wrong password."""
    return hash_password("not-a-real-password-only-for-timing")
