"""Settings, read once from the environment (prefix-free names, as in the README)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./esafety.db"
    secret_key: str = DEV_SECRET
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # argon2 cost: the defaults take ~0.25 s a hash on 2 cores; tests lower them.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    api_key_rate_per_minute: int = Field(default=600, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    log_level: str = "INFO"
    # Sync routes run in the threadpool; a smaller pool measured faster for CPU-bound evaluation.
    threadpool_size: int = Field(default=40, ge=1)
    gc_threshold0: int = Field(default=700, ge=100)

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
