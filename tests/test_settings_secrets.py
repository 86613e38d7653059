"""A refused setting names the problem, never its value: not in a refusal, a traceback, a log line or a repr
(SECRET_KEY and the database password in DATABASE_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.config import Settings

ESAFETY = Path(sys.executable).parent / "esafety"
REAL_KEY = "Kq3v9ZfT1mWc8xLr2pYh6NbD4sGj7UeA0oIw5tRk"  # 40 characters: long enough for production
SHORT_KEY = "short-Secret-9f8e7d"
DB_PASSWORD = "Db-Passw0rd-Zx81qv"
PG_URL = f"postgresql+psycopg://esafety:{DB_PASSWORD}@db.internal:5432/esafety"


def run(command: list[str], env: dict[str, str], cwd: Path) -> str:
    """stdout and stderr of a command run with only these settings (from an empty directory: no .env)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    result = subprocess.run(
        command, env={**keep, **env}, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode != 0, result
    return result.stdout + result.stderr


def assert_hidden(output: str, secret: str) -> None:
    assert secret not in output
    # Nor a tail of it (a truncated repr keeps the end) nor a head.
    for part in (secret[-12:], secret[:12], secret[len(secret) // 3 : len(secret) // 3 + 10]):
        assert part not in output, output


SERVE = [str(ESAFETY), "serve", "--port", "8121"]
UVICORN = [sys.executable, "-m", "uvicorn", "api.main:app", "--port", "8122"]  # a traceback, not the CLI


@pytest.mark.parametrize(
    ("command", "env", "named"),
    [
        (SERVE, {"SECRET_KEY": SHORT_KEY, "DATABASE_URL": PG_URL}, "SECRET_KEY"),
        (UVICORN, {"SECRET_KEY": SHORT_KEY, "DATABASE_URL": PG_URL}, "SECRET_KEY"),
        (SERVE, {"SECRET_KEY": REAL_KEY, "DATABASE_URL": "sqlite:///./esafety.db"}, "DATABASE_URL"),
        (UVICORN, {"SECRET_KEY": REAL_KEY, "DATABASE_URL": "sqlite:///./esafety.db"}, "DATABASE_URL"),
        (SERVE, {"SECRET_KEY": REAL_KEY, "DATABASE_URL": PG_URL.replace(":5432", ":port")}, "DATABASE_URL"),
    ],
)
def test_a_refused_production_start_never_prints_a_secret(
    tmp_path: Path, command: list[str], env: dict[str, str], named: str
) -> None:
    output = run(command, {"ENVIRONMENT": "production", **env}, tmp_path)
    assert named in output, output
    assert_hidden(output, env["SECRET_KEY"])
    assert DB_PASSWORD not in output


def test_the_settings_repr_hides_the_key_and_the_database_password() -> None:
    s = Settings(environment="production", secret_key=REAL_KEY, database_url=PG_URL)
    for shown in (repr(s), str(s), repr(s.database_url_object()), str(s.database_url_object())):
        assert_hidden(shown, REAL_KEY)
        assert DB_PASSWORD not in shown
    assert s.database_url_masked == "postgresql+psycopg://esafety:***@db.internal:5432/esafety"
    assert DB_PASSWORD in s.database_connect_url()  # the engine still gets it


def test_the_database_password_may_come_on_its_own() -> None:
    s = Settings(
        database_url="postgresql+psycopg://esafety@db.internal/esafety",
        database_password="from-a-secrets-file",
    )
    assert s.database_connect_url() == "postgresql+psycopg://esafety:from-a-secrets-file@db.internal/esafety"
    assert "from-a-secrets-file" not in repr(s)


def test_a_refusal_in_python_names_the_setting_only() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(environment="production", secret_key=SHORT_KEY, database_url=PG_URL)
    assert "SECRET_KEY" in str(refused.value)
    assert_hidden(str(refused.value), SHORT_KEY)
    assert DB_PASSWORD not in str(refused.value)
