"""Moved to tests/kit (tests/kit/servers.py, tests/kit/databases.py): kept for the tests that still import it
from here until they move to the kit."""

from tests.kit.servers import live_app, live_server, served_by_workers

__all__ = ["live_app", "live_server", "served_by_workers"]
