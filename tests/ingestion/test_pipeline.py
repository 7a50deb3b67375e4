"""prefetched: the items in order, an error raised after the items before it, the producer stopped and its
generator closed when the consumer stops early, and an import through it the same as one without it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ingestion.pipeline import prefetched


def test_items_come_out_in_order_and_all_of_them() -> None:
    assert list(prefetched(iter(range(1000)), depth=3)) == list(range(1000))


def test_the_items_are_produced_in_another_thread() -> None:
    threads: list[str] = []

    def produce() -> Iterator[int]:
        for i in range(3):
            threads.append(threading.current_thread().name)
            yield i

    assert list(prefetched(produce(), name="prefetch-test")) == [0, 1, 2]
    assert set(threads) == {"prefetch-test"}


def test_an_error_while_producing_is_raised_after_the_items_before_it() -> None:
    def produce() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("file damaged after line 2")

    received: list[int] = []
    with pytest.raises(ValueError, match="damaged after line 2"):
        for item in prefetched(produce()):
            received.append(item)
    assert received == [1, 2]


def test_a_consumer_that_stops_early_stops_the_producer_and_closes_its_generator() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def produce() -> Iterator[int]:
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
        finally:
            closed.set()

    items = prefetched(produce(), depth=2)
    assert next(items) == 0
    items.close()  # the consumer's loop ended (an error while loading, say)

    assert closed.is_set()
    assert len(produced) <= 5  # at most the queue's depth ahead, not the whole file
    assert not any(t.name == "import-prefetch" for t in threading.enumerate())
