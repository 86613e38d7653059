"""The collector held off while a bulk load builds its facts (api/gc_paused.py): off inside, back as it was
after, whatever the nesting, the threads or an exception."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from api import gc_paused
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


def test_pauses_that_keep_overlapping_still_collect_once_the_longest_has_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cold load after another, each begun before the last ended: the collector would never run again.
    One ending more than `LONGEST` after it last ran collects the young generations itself."""
    gc.enable()
    monkeypatch.setattr(gc_paused, "LONGEST", 0.0)
    collected: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "stop":
            collected.append(info["generation"])

    gc.callbacks.append(seen)
    try:
        with collection_paused():  # the first load: held for the whole test
            with collection_paused():  # a second, overlapping
                pass
            assert collected == [1]  # it ended while the first held: a collection of its own
            assert not gc.isenabled()
        assert gc.isenabled()
    finally:
        gc.callbacks.remove(seen)
    monkeypatch.setattr(gc_paused, "LONGEST", 3600.0)
    collected.clear()
    gc.callbacks.append(seen)
    try:
        with collection_paused():
            with collection_paused():
                pass
            inside = list(collected)  # read while held off: no collection of the collector's own
        assert inside == []  # within the longest: none
    finally:
        gc.callbacks.remove(seen)
