"""Moved to tests/kit (tests/kit/databases.py): kept for the tests that still import it from here until they
move to the kit."""

from tests.kit.databases import engine_for as scratch_engine
from tests.kit.databases import throwaway_database as scratch_database

__all__ = ["scratch_database", "scratch_engine"]
