"""The app as `esafety serve` serves it (`api.main:app`), on the test run's clock (tests/kit/run_clock.py):
what the tests' uvicorn processes import, each worker installing the offset its parent recorded. It answers
its parent's nonce (tests/kit/server_nonce.py) so that the parent knows the server on its port is this one."""

from tests.kit import run_clock
from tests.kit.server_nonce import answering_nonce

run_clock.install()

from api.main import app as _app  # noqa: E402

app = answering_nonce(_app)

__all__ = ["app"]
