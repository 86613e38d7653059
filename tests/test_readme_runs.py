"""README.md runs as written: every shell and Python block is marked, and every block marked `run` is run,
in order, in one shell, against a live server started exactly as `make run` starts it (the Makefile's own
`run` recipe: migrate, load the demo, serve on 127.0.0.1:8000) on a throwaway database.

A reader follows the README top to bottom in one terminal, so a variable one block sets (`TOKEN`, `KEY`) is
there for the blocks after it, and a block that uses one nobody set fails (`set -u`). Every `curl` in a run
block fails on an HTTP error (`--fail-with-body`), so a 4xx the text did not mean stops the run and is shown.
A block the suite cannot run (it starts a server forever, needs a Docker engine) says why in its marker.

Markers, on the line before the fence: `<!-- readme: run -->` or `<!-- readme: not run: <why> -->`.
"""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.kit.databases import throwaway_database
from tests.kit.servers import wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PORT = 8000  # the README's own address, http://127.0.0.1:8000: the blocks run as written
_FENCE = re.compile(r"^```(\w+)\s*$")
_MARKER = re.compile(r"^<!-- readme: (run|not run: .+) -->$")
_LANGUAGES = {"sh", "python"}


@dataclass(frozen=True)
class Block:
    """One fenced block of README.md: its language, first line number (1-based), marker and text."""

    language: str
    line: int
    marker: str | None
    text: str

    @property
    def runs(self) -> bool:
        return self.marker == "run"


def readme_blocks(text: str) -> list[Block]:
    """The `sh` and `python` blocks of `text`, each with the marker on the line before it (or None)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        if fence.group(1) in _LANGUAGES:
            before = lines[index - 1].strip() if index else ""
            marker = _MARKER.match(before)
            body = "\n".join(lines[index + 1 : end])
            blocks.append(Block(fence.group(1), index + 1, marker.group(1) if marker else None, body))
        index = end + 1
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def test_every_block_is_marked() -> None:
    unmarked = [f"README.md:{b.line} ({b.language})" for b in BLOCKS if b.marker is None]
    assert not unmarked, f"mark each as `<!-- readme: run -->` or `<!-- readme: not run: why -->`: {unmarked}"


def test_markers_find_blocks_and_a_reason_is_given() -> None:
    # A marker with no block after it (a typo in the fence) would let a block go unrun without a word.
    lines = README.read_text(encoding="utf-8").splitlines()
    orphans = [
        n + 1
        for n, line in enumerate(lines)
        if line.startswith("<!-- readme:") and (n + 1 >= len(lines) or not _FENCE.match(lines[n + 1]))
    ]
    assert not orphans, f"markers not followed by a fenced block at README.md lines {orphans}"
    assert sum(b.runs for b in BLOCKS) >= len(BLOCKS) // 2, "most blocks should run"


def test_every_curl_in_a_run_block_fails_on_an_http_error() -> None:
    silent = [
        f"README.md:{b.line}"
        for b in BLOCKS
        if b.runs and b.language == "sh"
        for command in re.findall(r"\bcurl\b[^|;&)]*", b.text.replace("\\\n", " "))
        if "--fail-with-body" not in command
    ]
    assert not silent, f"each curl in a run block needs --fail-with-body, so an error stops the run: {silent}"


def _run_recipe() -> list[str]:
    """The commands of the Makefile's `run` target, with `$(BIN)` as this interpreter's bin folder."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    start = makefile.index(next(line for line in makefile if line.startswith("run:")))
    commands: list[str] = []
    for line in makefile[start + 1 :]:
        if not line.startswith("\t"):
            break
        commands.append(line.strip().replace("$(BIN)", str(Path(sys.executable).parent)))
    return commands


def _script(blocks: list[Block]) -> str:
    """One bash script that runs `blocks` in order and says which one it is in before each."""
    parts = ["set -euo pipefail"]
    for block in blocks:
        parts.append(f"echo '@@ README.md:{block.line}' >&2")
        if block.language == "python":
            # A Python block runs in the README's virtual environment, with the shell's exported variables.
            parts.append(f".venv/bin/python - <<'README_PYTHON_BLOCK'\n{block.text}\nREADME_PYTHON_BLOCK")
        else:
            parts.append(block.text)
    parts.append("echo '@@ done' >&2")
    return "\n".join(parts) + "\n"


@pytest.fixture
def readers_folder() -> Iterator[Path]:
    """A folder that looks like a fresh checkout after `make install`: the repository's top-level entries
    linked in, `.venv` the environment running the tests; what the blocks write (a CSV, a generated
    client) lands here, not in the checkout."""
    with tempfile.TemporaryDirectory(prefix="esafety-readme-") as folder:
        here = Path(folder)
        for entry in ROOT.iterdir():
            if entry.name not in {".venv", ".git"}:
                (here / entry.name).symlink_to(entry)
        (here / ".venv").symlink_to(sys.prefix)
        yield here


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_the_readme_runs_against_the_demo(readers_folder: Path) -> None:
    assert _port_free(PORT), f"127.0.0.1:{PORT} is taken: stop `make run` to let the README's blocks run"
    with ExitStack() as stack:
        url = stack.enter_context(throwaway_database())
        # Metrics on, as the README's "For operators" says to start the server before scraping it.
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT), "METRICS_ENABLED": "true"}
        *setup, serve = _run_recipe()
        for command in setup:
            subprocess.run(shlex.split(command), env=env, check=True, cwd=readers_folder, timeout=300)
        log = stack.enter_context(tempfile.TemporaryFile())
        server = subprocess.Popen(shlex.split(serve), env=env, cwd=readers_folder, stdout=log, stderr=log)
        try:
            wait_until_healthy(f"http://127.0.0.1:{PORT}", server, log, seconds=60)
            script = _script([b for b in BLOCKS if b.runs])
            done = subprocess.run(
                ["bash", "-c", script],
                env=env,
                cwd=readers_folder,
                capture_output=True,
                text=True,
                timeout=600,
            )
        finally:
            server.terminate()
            server.wait(timeout=15)
    where = re.findall(r"^@@ (.*)$", done.stderr, re.MULTILINE)
    stopped = (
        f"the README stopped in the block at {where[-1] if where else '?'}:\n"
        f"--- stdout (last 3,000 characters)\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )
    assert done.returncode == 0, stopped
    assert where[-1:] == ["done"], stopped
