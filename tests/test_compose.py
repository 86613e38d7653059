"""docker-compose.yml is a Compose file Compose accepts, with no Docker engine (issue 18).

Validated by `docker-compose config` (Debian's `docker-compose` package; .ci/run installs it as it does
Chromium), which reads the file, checks it against the Compose schema, resolves every `${...}` from an env
file and checks the references between services, without reaching an engine. Outside CI the tests skip,
saying why, when the tool is missing; in CI (`CI` set) they run and fail without it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
EXAMPLE = ROOT / ".env.example"
TOOL = shutil.which("docker-compose")

pytestmark = pytest.mark.skipif(
    TOOL is None and not os.environ.get("CI"),
    reason="docker-compose is not installed (apt-get install -y docker-compose); CI installs it",
)


def config(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert TOOL is not None, "docker-compose is not installed: .ci/run installs it"
    return subprocess.run(
        [
            TOOL,
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE),
            "config",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        # Only what the env file says: nothing from the environment the tests run in.
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")},
        check=False,
    )


def filled_in(tmp_path: Path) -> Path:
    """.env.example with its two secrets filled in, as the README says to."""
    lines = []
    for line in EXAMPLE.read_text().splitlines():
        if line in ("POSTGRES_PASSWORD=", "SECRET_KEY="):
            line += secrets.token_urlsafe(48)
        lines.append(line)
    env = tmp_path / "compose.env"
    env.write_text("\n".join(lines) + "\n")
    return env


def test_the_example_filled_in_gives_a_valid_file_with_the_three_services(tmp_path: Path) -> None:
    env = filled_in(tmp_path)
    done = config(env)
    assert done.returncode == 0, done.stderr
    resolved: dict[str, Any] = yaml.safe_load(done.stdout)
    services = resolved["services"]
    assert set(services) == {"db", "api", "worker"}
    assert services["db"]["image"].startswith("postgres:")
    assert services["worker"]["command"] == ["python", "-m", "api.webhooks", "deliver-webhooks"]
    assert services["worker"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert services["api"]["depends_on"]["db"]["condition"] == "service_healthy"
    secret = dict(
        line.split("=", 1) for line in env.read_text().splitlines() if line.startswith("SECRET_KEY=")
    )
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgresql+psycopg://esafety@db:5432/")
        assert environment["SECRET_KEY"] == secret["SECRET_KEY"]
        assert environment["DATABASE_PASSWORD"] == services["db"]["environment"]["POSTGRES_PASSWORD"]


def test_the_example_as_it_stands_is_refused_until_the_secrets_are_set() -> None:
    done = config(EXAMPLE, "-q")
    assert done.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in done.stderr or "set SECRET_KEY in .env" in done.stderr


def test_a_broken_file_is_refused(tmp_path: Path) -> None:
    # The check is a real one: a service depending on one that does not exist fails it.
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE.read_text().replace("      api:\n        condition", "      apii:\n        condition")
    )
    assert broken.read_text() != COMPOSE.read_text()
    assert TOOL is not None
    done = subprocess.run(
        [
            TOOL,
            "--project-directory",
            str(ROOT),
            "--env-file",
            str(filled_in(tmp_path)),
            "-f",
            str(broken),
            "config",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "apii" in done.stderr
