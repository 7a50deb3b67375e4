"""Overlap the Python work of an import with the database's: the next batch is parsed and normalised in a
background thread while the caller loads the current one (the database driver releases the GIL while it
waits, so the two proceed together). Order, errors and what is loaded are exactly as without it: the items
come out in order, an exception raised while producing is raised to the caller after the items before it,
and the thread stops when the caller stops early."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterator[T], *, depth: int = 2, name: str = "import-prefetch") -> Iterator[T]:
    """The items of `items`, produced up to `depth` ahead in a thread. The producer must not use the
    database (Django connections belong to their thread)."""
    handoff: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, raised there
            put((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name=name, daemon=True)
    thread.start()
    try:
        while True:
            ok, item = handoff.get()
            if not ok:
                raise item
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()
