"""Swagger UI works offline: /docs loads its script, style and icon from the app itself, never another host.

(scripts/check-docs.sh renders the page in a headless browser, for a check by eye.)
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

URL = re.compile(r"""https?://[^\s"'<>)]+""")
ATTRS = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
SPEC_URL = re.compile(r"""url:\s*['"]([^'"]+)['"]""")
APP = "http://testserver"


def _docs(client: TestClient) -> str:
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    return str(r.text)


def test_docs_reference_no_outside_host(client: TestClient) -> None:
    html = _docs(client)
    outside = [u for u in URL.findall(html) if f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != APP]
    assert outside == [], f"/docs loads from outside hosts: {outside}"


def test_docs_assets_are_served_by_the_app(client: TestClient) -> None:
    html = _docs(client)
    assets = ATTRS.findall(html)
    kinds = {urlsplit(a).path.rsplit(".", 1)[-1] for a in assets}
    assert {"js", "css", "png"} <= kinds, assets
    expected_type = {"js": "javascript", "css": "text/css", "png": "image/png"}
    for asset in assets:
        r = client.get(urlsplit(asset).path)
        assert r.status_code == 200, asset
        assert expected_type[urlsplit(asset).path.rsplit(".", 1)[-1]] in r.headers["content-type"], asset
        assert len(r.content) > 0, asset


def test_docs_load_the_spec_the_app_serves(client: TestClient) -> None:
    spec_urls = SPEC_URL.findall(_docs(client))
    assert spec_urls == ["/openapi.json"]
    r = client.get(spec_urls[0])
    assert r.status_code == 200
    assert r.json()["paths"]


def test_root_redirects_to_the_docs(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code in (302, 307)
    assert urlsplit(r.headers["location"]).path == "/docs"
