"""The lock files stay in step with pyproject.toml and with each other (the image installs requirements.lock
with --no-deps, so a runtime dependency missing from it would only show when the container starts)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        if line and not line.startswith("#"):
            package, version = line.split("==")
            pins[_norm(package)] = version.strip()
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    return _norm(re.split(r"[\[<>=!~; ]", spec, maxsplit=1)[0])


def test_every_runtime_dependency_is_pinned_for_the_image() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _pins("requirements.lock")
    missing = [d for d in project["dependencies"] if _requirement_name(d) not in runtime]
    assert not missing, f"pinned nowhere in requirements.lock (run make lock): {missing}"


def test_the_dev_lock_agrees_with_the_runtime_lock() -> None:
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    differing = {p: (v, dev.get(p)) for p, v in runtime.items() if dev.get(p) != v}
    assert not differing, (
        f"requirements-dev.lock disagrees with requirements.lock (run make lock): {differing}"
    )
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    dev_tools = [d for d in project["optional-dependencies"]["dev"] if _requirement_name(d) not in dev]
    assert not dev_tools, f"dev tools not pinned in requirements-dev.lock: {dev_tools}"


def test_the_image_installs_the_runtime_lock_only() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-deps -r requirements.lock" in dockerfile
    assert "requirements-dev.lock" not in dockerfile
