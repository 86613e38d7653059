"""Settings, read once from the environment (prefix-free names, as in the README)."""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./esafety.db"
    # Bounds on waiting for the database, so a database that is down, hung or saturated is a 503 within a
    # few seconds rather than a request that hangs: connecting (PostgreSQL), one statement (PostgreSQL's
    # statement_timeout; on SQLite how long a writer waits for another's lock), and a free connection.
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    database_statement_timeout_seconds: float = Field(default=5.0, gt=0, le=3600)
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    secret_key: str = DEV_SECRET
    # The organisation's calendar: "today" for every decision (api/clock.py), an IANA zone name.
    organisation_timezone: str = "Europe/London"
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # argon2 cost: the defaults take ~0.25 s a hash on 2 cores; tests lower them.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    # Failed sign-ins per account, and per client address across accounts, a window (api/auth/throttle.py)
    login_max_failures: int = Field(default=5, ge=1)
    login_client_max_failures: int = Field(default=10, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # Networks whose peers are proxies: only from them is X-Forwarded-For believed. Comma-separated CIDRs.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(default_factory=list)
    api_key_rate_per_minute: int = Field(default=600, ge=1)
    # The publication check must not work as a directory of children: a signed-in user may run this many a
    # minute, and a text with more phone-number- or email-shaped strings than this is refused as a lookup.
    publication_checks_per_minute: int = Field(default=30, ge=1)
    publication_max_contact_shapes: int = Field(default=50, ge=1)
    # ... and one whose words begin a protected name more often than this is refused as a list of names to try
    # (thousands of "Firstname Surname" guesses would otherwise find an out-of-reach child's span).
    publication_max_name_starts: int = Field(default=200, ge=1)
    # Idempotency-Key: how long a key's stored response is replayed, and how long a claim nobody renews (a
    # running request renews its own a few times within this) keeps the key before a retry may take it
    # over: a crashed worker's batch can be retried within a minute.
    idempotency_key_hours: int = Field(default=24, ge=1)
    idempotency_lock_seconds: int = Field(default=30, ge=3, le=3600)
    # The changes feed serves only events at least this old, so a transaction that wrote an earlier
    # sequence number but committed later is not skipped by a consumer (see api/changes/service.py).
    changes_settle_seconds: float = Field(default=2.0, ge=0)
    # Webhooks: run the delivery loop inside the app process (otherwise run `esafety deliver-webhooks`).
    webhook_worker: bool = False
    webhook_poll_seconds: float = Field(default=5.0, gt=0)
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # A claimed delivery that its worker never finished (a crash) becomes due again after this long.
    webhook_claim_seconds: int = Field(default=120, ge=1)
    # How often the webhook worker re-evaluates every active group and announces status changes that time
    # brought (a review falling due, a consent expiring); writes to a group announce at once.
    compliance_watch_seconds: float = Field(default=300.0, gt=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "INFO"
    # Sync routes run in the threadpool; a smaller pool measured faster for CPU-bound evaluation.
    threadpool_size: int = Field(default=40, ge=1)
    gc_threshold0: int = Field(default=50_000, ge=100)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return [ip_network(part.strip()) for part in value.split(",") if part.strip()]
            except ValueError as exc:
                raise ValueError("TRUSTED_PROXIES must be comma-separated networks, e.g. 10.0.0.0/8") from exc
        return value

    @field_validator("organisation_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"ORGANISATION_TIMEZONE must be an IANA time zone name, not {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
                raise ValueError("SECRET_KEY must be set to at least 32 random characters in production")
            if self.database_url.startswith("sqlite"):
                # SQLite is the embedded default for development; production is PostgreSQL.
                raise ValueError("DATABASE_URL must point at PostgreSQL in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
