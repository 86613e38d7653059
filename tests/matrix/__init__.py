"""The permission matrix as the tests expect it: (METHOD, path) -> the callers allowed through.

One file per domain, each defining ROUTES. A route the app serves with no entry here fails the matrix test.
"Allowed" means the role check lets the call through (the answer may still be 404 for a record out of the
caller's reach, or 422 for the empty body the test sends); anyone else gets 403, and anonymous 401.
"""

from __future__ import annotations

import importlib
import pkgutil

from tests.matrix.roles import Caller

EXPECTED: dict[tuple[str, str], frozenset[Caller]] = {}
for _module in pkgutil.iter_modules(__path__):
    if _module.name == "roles":
        continue
    routes = importlib.import_module(f"{__name__}.{_module.name}").ROUTES
    for key, callers in routes.items():
        assert key not in EXPECTED, f"{key} is listed twice in tests/matrix"
        EXPECTED[key] = frozenset(callers)
