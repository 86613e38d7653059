"""Swagger UI's Authorize button, checked for real in headless Chromium (run by the README's test too).

Migrates and seeds a throwaway SQLite database with the demo, serves the app on 127.0.0.1 on a free port, then
drives /docs: Authorize, sign in as the demo coordinator through the OAuth2 password form, close the dialog,
run GET /api/v1/auth/me and GET /api/v1/compliance with "Try it out" then "Execute", and check each answer is
a 200 with the expected content. It also opens POST /api/v1/groups to check "Try it out" starts from the
model's example. A screenshot is saved at each step; any failure exits non-zero (with a screenshot of the
page as it was). The browser may reach nothing but the app: every other host is refused.

Playwright (in the development environment) drives the system's Chromium; no `playwright install`:

    .venv/bin/python scripts/check-swagger-authorize.py

Options: --python (the project's interpreter, default .venv/bin/python), --chromium (default
/usr/bin/chromium), --out (screenshot folder, default /tmp/swagger-authorize).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, Request, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: Chromium renders Swagger UI's spec on a CPU that a test run (pytest-xdist workers) may be
# saturating; a slow render is not the failure this check looks for.
TIMEOUT_MS = 60_000


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(python: str, env: dict[str, str], *args: str) -> str:
    # `python -m api.cli` (not an installed script) so the code of this checkout is what runs.
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [python, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise CheckFailed(f"esafety {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def coordinator_sign_in(seed_output: str) -> tuple[str, str]:
    """The demo coordinator's email and password, as `esafety seed-demo` printed them."""
    for line in seed_output.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "coordinator":
            return words[1], words[2]
    raise CheckFailed(f"no coordinator sign-in in the seed-demo output:\n{seed_output}")


def wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CheckFailed(f"the server stopped:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1) as r:  # noqa: S310 - our own server
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise CheckFailed(f"the server did not answer /health within 30 s:\n{log.read_text()}")


class Steps:
    """Screenshots numbered in the order taken."""

    def __init__(self, page: Page, out: Path) -> None:
        self.page, self.out, self.n = page, out, 0

    def shot(self, name: str, *, full_page: bool = False) -> Path:
        self.n += 1
        path = self.out / f"{self.n:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        print(f"  screenshot {path}")
        return path


def operation(page: Page, method: str, path: str) -> Locator:
    block = page.locator(f".opblock-{method.lower()}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]')
    )
    if block.count() != 1:
        raise CheckFailed(f"{method} {path}: found {block.count()} operations in Swagger UI")
    return block


def open_and_try(page: Page, method: str, path: str) -> Locator:
    """Expand an operation and put it in "Try it out" mode."""
    block = operation(page, method, path)
    block.locator(".opblock-summary").first.click()
    button = block.locator("button.try-out__btn")
    button.wait_for(timeout=TIMEOUT_MS)
    # With tryItOutEnabled the operation may open ready to try (the button then reads "Cancel").
    if button.inner_text().strip() == "Try it out":
        button.click()
    block.locator("button.execute").wait_for(timeout=TIMEOUT_MS)
    block.scroll_into_view_if_needed()
    return block


def execute(page: Page, block: Locator) -> tuple[str, str]:
    """Press Execute; the status code and response body Swagger UI shows."""
    block.locator("button.execute").click()
    live = block.locator(".live-responses-table .response").first
    live.wait_for(timeout=TIMEOUT_MS)
    status = live.locator(".response-col_status").first.inner_text().strip()
    body = live.locator(".response-col_description pre").first.inner_text()
    live.scroll_into_view_if_needed()
    return status, body


def check(page: Page, base: str, out: Path, email: str, password: str, seen: dict[str, list[Any]]) -> None:
    steps = Steps(page, out)
    page.set_viewport_size({"width": 1280, "height": 1000})

    print("1. Open /docs")
    page.goto(f"{base}/docs")
    page.locator(".opblock").first.wait_for(timeout=TIMEOUT_MS)
    steps.shot("docs")

    print("2. Authorize: sign in through the OAuth2 password form")
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".dialog-ux .modal-ux")
    dialog.wait_for(timeout=TIMEOUT_MS)
    # Found by its heading: the username field goes once signed in, and the section must still be found.
    oauth = dialog.locator(".auth-container").filter(has_text="OAuth2PasswordBearer")
    if oauth.count() != 1 or oauth.locator("#oauth_username").count() != 1:
        raise CheckFailed("the Authorize dialog has no OAuth2 password form (username and password)")
    oauth.locator("#oauth_username").fill(email)
    oauth.locator("#oauth_password").fill(password)
    steps.shot("authorize-form-filled")
    oauth.locator("button.authorize").click()
    try:
        oauth.locator("button", has_text="Logout").wait_for(timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        steps.shot("authorize-failed")
        errors = oauth.locator(".errors").all_inner_texts()
        raise CheckFailed(f"sign-in did not complete in the dialog: {errors or 'no Logout button'}") from None
    token_answers = [s for u, s in seen["responses"] if u.endswith("/api/v1/auth/token")]
    if token_answers != [200]:
        raise CheckFailed(f"POST /api/v1/auth/token answered {token_answers}, expected one 200")
    steps.shot("authorized")
    oauth.locator("button.btn-done").click()  # each scheme has its own Close; any one closes the dialog
    dialog.wait_for(state="detached", timeout=TIMEOUT_MS)
    if "locked" not in page.locator(".auth-wrapper button.authorize").get_attribute(
        "class", timeout=TIMEOUT_MS
    ):
        raise CheckFailed("the Authorize button does not show the padlock closed after signing in")
    steps.shot("dialog-closed")

    print("3. GET /api/v1/auth/me: Try it out, Execute")
    block = open_and_try(page, "GET", "/api/v1/auth/me")
    steps.shot("auth-me-try-it-out")
    status, body = execute(page, block)
    steps.shot("auth-me-response")
    me = json.loads(body)
    if status != "200" or me.get("email") != email or me.get("role") != "coordinator":
        raise CheckFailed(f"GET /api/v1/auth/me showed {status}: {body[:300]}")
    sent = [h for u, h in seen["requests"] if u.endswith("/api/v1/auth/me")]
    if not sent or not sent[-1].get("authorization", "").startswith("Bearer "):
        raise CheckFailed("Swagger UI sent GET /api/v1/auth/me without the bearer token")
    print(f"   200, {me['email']} ({me['role']})")
    block.locator(".opblock-summary").first.click()  # fold it again, so the next one is in view

    print("4. GET /api/v1/compliance: Try it out, Execute")
    block = open_and_try(page, "GET", "/api/v1/compliance")
    steps.shot("compliance-try-it-out")
    status, body = execute(page, block)
    steps.shot("compliance-response")
    report = json.loads(body)
    totals = report.get("totals", {})
    if status != "200" or not report.get("groups") or "organisation" not in report:
        raise CheckFailed(f"GET /api/v1/compliance showed {status}: {body[:300]}")
    counts = {k: totals.get(k) for k in ("compliant", "at_risk", "non_compliant")}
    print(f"   200, {totals.get('groups')} groups: {counts}")
    block.locator(".opblock-summary").first.click()

    print("5. POST /api/v1/groups: Try it out starts from the example")
    block = open_and_try(page, "POST", "/api/v1/groups")
    text = block.locator("textarea.body-param__text").input_value()
    steps.shot("groups-example-body")
    if "Autumn Songwriters" not in text:
        raise CheckFailed(
            f"the POST /api/v1/groups body does not start from the model's example: {text[:300]}"
        )
    print("   the body starts from GroupCreate's example")

    outside = sorted(set(seen["refused"]))
    if outside:
        raise CheckFailed(f"the page tried to reach other hosts: {outside}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=os.environ.get("PYTHON", str(ROOT / ".venv/bin/python")))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", type=Path, default=Path("/tmp/swagger-authorize"))  # noqa: S108 - screenshots only
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.png"):
        old.unlink()

    with tempfile.TemporaryDirectory(prefix="swagger-authorize-") as work:
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{work}/swagger.db", "ENVIRONMENT": "development"}
        env.pop("WEB_CONCURRENCY", None)
        server: subprocess.Popen[bytes] | None = None
        log = Path(work) / "server.log"
        try:
            run(args.python, env, "migrate")
            email, password = coordinator_sign_in(run(args.python, env, "seed-demo"))
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            with log.open("wb") as sink:
                server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                    [args.python, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                    cwd=ROOT,
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                )
            wait_until_up(base, server, log)
            print(f"Serving the demo at {base}; signing in as {email}")

            seen: dict[str, list[Any]] = {"requests": [], "responses": [], "refused": []}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page()

                def only_the_app(route: Route, request: Request) -> None:
                    if request.url.startswith(base + "/"):
                        route.continue_()
                    else:
                        seen["refused"].append(re.sub(r"^(\w+://[^/]+).*", r"\1", request.url))
                        route.abort()

                page.route("**/*", only_the_app)
                page.on("request", lambda r: seen["requests"].append((r.url, r.headers)))
                page.on("response", lambda r: seen["responses"].append((r.url, r.status)))
                try:
                    check(page, base, args.out, email, password, seen)
                except (CheckFailed, PlaywrightError, ValueError) as exc:  # ValueError: a body not JSON
                    failure = args.out / "failure.png"
                    page.screenshot(path=str(failure), full_page=True)
                    print(f"FAILED: {exc}\n  screenshot {failure}", file=sys.stderr)
                    return 1
                finally:
                    browser.close()
        except CheckFailed as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=10)
    print(f"OK: Swagger UI's Authorize works; screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
