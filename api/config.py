"""Settings, read once from the environment (prefix-free names, as in the README)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEV_SECRET = "dev-only-insecure-secret-change-me"


class Settings(BaseSettings):
    # A refused setting never echoes its input: a refusal names the problem, not the value (which may be a
    # secret key or a URL with a password), in tracebacks too.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    environment: Literal["development", "test", "production"] = "development"
    # May hold the database password: kept out of repr; `database_url_masked` is the form to print.
    database_url: str = Field(default="sqlite:///./esafety.db", repr=False)
    # The password on its own (from a secrets file, say), so DATABASE_URL can be written without one; when
    # set it replaces any password in DATABASE_URL.
    database_password: SecretStr | None = None
    # Bounds on waiting for the database, so a database that is down, hung or saturated is a 503 within a
    # few seconds rather than a request that hangs: connecting (PostgreSQL), one statement (PostgreSQL's
    # statement_timeout; on SQLite how long a writer waits for another's lock), and a free connection.
    database_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    database_statement_timeout_seconds: float = Field(default=5.0, gt=0, le=3600)
    database_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    # The organisation's calendar: "today" for every decision (api/clock.py), an IANA zone name.
    organisation_timezone: str = "Europe/London"
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # argon2 cost: the defaults make a hash slow on purpose (bench/README.md); tests lower them.
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
    # Roster uploads a signed-in user may make a minute: each is up to 5,000 names, handles, emails and
    # phones matched against the records, so many a minute would be a directory lookup (api/rosters).
    roster_uploads_per_minute: int = Field(default=6, ge=1)
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
    # Private networks webhooks may still reach (a CRM on the organisation's own network), comma-separated
    # CIDR; every other internal address is refused (api/webhooks/destinations.py).
    webhook_allowed_networks: Annotated[
        tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...], NoDecode
    ] = ()
    # Where the app is reached from outside (https://esafety.example.org), for absolute links in /docs;
    # empty: links are relative to the page. Never taken from a request's Host header.
    public_url: str = ""
    # How often the webhook worker re-evaluates every active group and announces status changes that time
    # brought (a review falling due, a consent expiring); writes to a group announce at once.
    compliance_watch_seconds: float = Field(default=300.0, gt=0)
    # Prometheus metrics at GET /metrics (api/metrics.py): off unless asked for, since it needs no sign-in.
    metrics_enabled: bool = False
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "INFO"
    # Sync routes run in the threadpool; a smaller pool measured faster for CPU-bound evaluation. On SQLite
    # it also sizes the connection pool (api/db.py).
    threadpool_size: int = Field(default=40, ge=1)
    gc_threshold0: int = Field(default=50_000, ge=100)
    # Compliance answers kept per process (api/compliance/cache.py), of each kind; 0 turns the cache off.
    compliance_cache_entries: int = Field(default=512, ge=0)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> object:
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

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _networks(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        networks = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                networks.append(ipaddress.ip_network(part))
            except ValueError as exc:
                raise ValueError(
                    "WEBHOOK_ALLOWED_NETWORKS must be comma-separated networks such as 10.20.0.0/16, "
                    f"not {part!r}"
                ) from exc
        return tuple(networks)

    @field_validator("database_url")
    @classmethod
    def _parseable_url(cls, value: str) -> str:
        try:
            make_url(value)
        except (ArgumentError, ValueError):
            # Not the value, nor the parser's message (which may quote part of it): it may hold a password.
            raise ValueError(
                "DATABASE_URL is not a database URL (dialect://user:password@host/name)"
            ) from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("PUBLIC_URL must be an http(s) URL such as https://esafety.example.org")
        return value.rstrip("/")

    @property
    def database_url_masked(self) -> str:
        """DATABASE_URL with its password replaced by `***`: the form for logs and messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    def database_url_object(self) -> URL:
        """DATABASE_URL parsed, with DATABASE_PASSWORD in it if that is set (SQLAlchemy's URL: its repr
        and str mask the password)."""
        url = make_url(self.database_url)
        if self.database_password is not None:
            url = url.set(password=self.database_password.get_secret_value())
        return url

    def database_connect_url(self) -> str:
        """The URL to connect with, password included: for the engine only, never to print."""
        return self.database_url_object().render_as_string(hide_password=False)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production":
            secret = self.secret_key.get_secret_value()
            if secret == DEV_SECRET or len(secret) < 32:
                raise ValueError("SECRET_KEY must be set to at least 32 random characters in production")
            if self.database_url.startswith("sqlite"):
                # SQLite is the embedded default for development; production is PostgreSQL.
                raise ValueError("DATABASE_URL must point at PostgreSQL in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
