"""The app as `esafety serve` serves it (`api.main:app`), on the test run's clock (tests/kit/run_clock.py):
what the tests' uvicorn processes import, each worker installing the offset its parent recorded."""

from tests.kit import run_clock

run_clock.install()

from api.main import app  # noqa: E402

__all__ = ["app"]
