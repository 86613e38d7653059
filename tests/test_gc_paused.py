"""The collector held off while a bulk load builds its facts (api/gc_paused.py): off inside, back as it was
after, whatever the nesting, the threads or an exception."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from api.gc_paused import collection_paused


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    (gc.enable if was else gc.disable)()


def _failing_load(inside: list[bool]) -> None:
    with collection_paused():
        inside.append(gc.isenabled())
        with collection_paused():
            inside.append(gc.isenabled())
        inside.append(gc.isenabled())  # the outer pause still holds
        raise RuntimeError("a load fails")


def test_the_collector_is_off_inside_and_back_after_even_on_an_error() -> None:
    gc.enable()
    inside: list[bool] = []
    with pytest.raises(RuntimeError):
        _failing_load(inside)
    assert inside == [False, False, False]
    assert gc.isenabled()


def test_a_process_that_turned_the_collector_off_keeps_it_off() -> None:
    gc.disable()
    with collection_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_pauses_in_two_threads_end_with_the_last() -> None:
    gc.enable()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    states: dict[str, bool] = {}

    def first() -> None:
        with collection_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second() -> None:
        first_in.wait(5)
        with collection_paused():
            second_in.set()
            first_out.wait(5)
            states["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert states == {"after the first ended": False}
    assert gc.isenabled()
