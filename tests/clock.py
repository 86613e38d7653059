"""Moved to tests/kit (tests/kit/clock.py): kept for the tests that still import it from here until they move
to the kit."""

from tests.kit.clock import LONDON_JUST_AFTER_MIDNIGHT, FixedClock

__all__ = ["LONDON_JUST_AFTER_MIDNIGHT", "FixedClock"]
