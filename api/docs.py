"""Swagger UI at /docs, served offline from the app (the script, style and icon bundled by the
`fastapi-swagger` package), under a Content-Security-Policy that lets the page load only those.

Asset URLs are paths on this app (after the ASGI `root_path`, which the server sets) or under PUBLIC_URL
when that is configured, never built from the request's `Host` header: a forged Host must not be able to
make the page (or a cache in front of it) load a script from another host. The token is not persisted by
Swagger UI (`persistAuthorization: false`), so it never reaches the browser's localStorage.
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import cache
from importlib import resources

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, RedirectResponse

from api.config import get_settings

TITLE = "E-safety API"
ASSETS = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
SWAGGER_UI_PARAMETERS = {
    "persistAuthorization": False,  # the bearer token stays in the page's memory, never in localStorage
    "tryItOutEnabled": True,
    "filter": True,
    "displayRequestDuration": True,
    "validatorUrl": None,  # no badge fetched from an outside validator
}
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def _base(request: Request) -> str:
    """Where this app's paths start: PUBLIC_URL if set, else the server's root_path (a path, no host)."""
    public = get_settings().public_url
    return public or str(request.scope.get("root_path", "")).rstrip("/")


def policy(html: str, base: str) -> str:
    """The page's Content-Security-Policy: its own assets (and PUBLIC_URL's origin, if assets come from
    there), the one inline script that starts Swagger UI by its hash (CSP Level 3, 'hash-source'), calls
    to this app only, and no framing."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in INLINE_SCRIPT.findall(html)
    )
    origin = base if base.startswith("http") else ""
    own = f"'self' {origin}".strip()
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src {own} {hashes}",
            f"style-src {own}",
            f"img-src {own} data:",  # Swagger UI's stylesheet draws its icons from data: URLs
            "connect-src 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


@router.get("/")
def redirect_to_docs(request: Request) -> RedirectResponse:
    # A path, not an absolute URL: the Location never names the Host the request claimed.
    return RedirectResponse(url=f"{_base(request)}/docs")


@router.get("/docs")
def swagger_ui_html(request: Request) -> HTMLResponse:
    base = _base(request)
    root = str(request.scope.get("root_path", "")).rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=root + (request.app.openapi_url or "/openapi.json"),
        title=TITLE,
        swagger_js_url=f"{base}/swagger/swagger-ui-bundle.js",
        swagger_css_url=f"{base}/swagger/swagger-ui.css",
        swagger_favicon_url=f"{base}/swagger/favicon-32x32.png",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": policy(html, base)})


@cache
def _read(name: str) -> bytes:
    return resources.files("fastapi_swagger.resources").joinpath(name).read_bytes()


def _asset(name: str) -> Response:
    return Response(content=_read(name), media_type=ASSETS[name])


@router.get("/swagger/swagger-ui-bundle.js")
def swagger_ui_bundle_js() -> Response:
    return _asset("swagger-ui-bundle.js")


@router.get("/swagger/swagger-ui.css")
def swagger_ui_css() -> Response:
    return _asset("swagger-ui.css")


@router.get("/swagger/favicon-32x32.png")
def swagger_favicon_png() -> Response:
    return _asset("favicon-32x32.png")


def install_docs(app: FastAPI) -> None:
    """Serve Swagger UI at /docs (and redirect / there)."""
    app.include_router(router)
