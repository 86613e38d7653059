"""The cyclic garbage collector held off while a bulk load builds its facts (issue 19).

The organisation report's first evaluation builds a few hundred thousand small containers (rows, tuples of
facts, lists) that live until its answer is kept, and none of them in a reference cycle. Each collection
the allocations trigger walks every young object and finds nothing to free; every tenth also walks the
older generation, where the kept answers of earlier reports live. Pausing the collector for the load lets
the one collection that follows walk them once (bench/README.md has the figures).

Reference counting, which frees everything not in a cycle, is untouched: only cycles made meanwhile, by this
thread or another, wait until the last pause ends. Pauses nest and overlap across threads: the collector runs
again when the last one ends, and only if it ran before the first began (a process that turned it off keeps
it off). Loads that keep overlapping would hold it off for good: a pause that ends while others still hold
it, more than `LONGEST` after the collector last ran, runs a collection of the young generations itself.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Seconds the collector may stay held off by overlapping pauses before one of them runs it (a few loads).
LONGEST = 1.0

_lock = threading.Lock()
_holders = 0
_was_enabled = False
_since = 0.0  # when the collector was held off, or last run by a pause (`time.monotonic`)


@contextmanager
def collection_paused() -> Iterator[None]:
    """Hold off `gc`'s automatic collections for the block (see the module's docstring)."""
    global _holders, _was_enabled, _since
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
            _since = time.monotonic()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
            elif _holders and _was_enabled and time.monotonic() - _since > LONGEST:
                _since = time.monotonic()
                # The young generations: cycles made since it last ran are there (and whatever they hold).
                gc.collect(1)
