"""Security headers on every answer, errors included: added by the outermost middleware
(api/request_context.py `RequestContext`), which sees every answer, the plain 500 included.

Every answer of this API may carry a child's record or a token, so none may be cached, sniffed into
another type, framed or leak its URL as a referrer (OWASP REST Security Cheat Sheet, "Security headers").
A header the route set itself is kept (Swagger UI's page sets its own Content-Security-Policy).
"""

from __future__ import annotations

# For JSON answers nothing may load or run at all; a page that needs more (/docs) sets its own policy.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", API_POLICY.encode()),
)
