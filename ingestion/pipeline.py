"""Overlap the Python work of an import with the database's: the next batch is parsed and normalised in a
background thread while the caller loads the current one (the database driver releases the GIL while it
waits, so the two proceed together). Order, errors and what is loaded are exactly as without it: the items
come out in order, an exception raised while producing is raised to the caller after the items before it,
and the thread stops when the caller stops early."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

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


def forked(
    make_items: Callable[[], Iterator[T]], *, stage_seconds: Counter[str] | None = None, name: str = "import-child"
) -> Iterator[T]:
    """The items of `make_items()`, made in a child process forked for them (POSIX): parsing and normalising are
    pure Python, and in a thread they hold the same interpreter lock as the loading they are meant to overlap.
    Items, an error raised while producing them (after the items before it) and, at the end, what the child
    added to `stage_seconds` come back pickled through a pipe; the pipe's buffer holds the child about one item
    ahead, so memory stays bounded. The child must not use the database (the parent's connection is shared
    with it by the fork): it never touches it and leaves with os._exit, so nothing of it is closed there.
    Stopping early (an error while loading) kills the child. A plain os.fork, not multiprocessing.Process: the
    django-q2 worker an import runs in is a daemonic process, which multiprocessing allows no children. Without
    fork (not POSIX), the items are made in a thread."""
    if not hasattr(os, "fork"):
        return prefetched(make_items(), name=name)
    return _forked(make_items, stage_seconds, name)


def _forked(make_items: Callable[[], Iterator[T]], stage_seconds: Counter[str] | None, name: str) -> Iterator[T]:
    receive, send = multiprocessing.Pipe(duplex=False)
    pid = os.fork()
    if pid == 0:  # the child
        receive.close()
        _child(make_items, send, stage_seconds)  # never returns
    send.close()
    finished = False
    try:
        while True:
            try:
                kind, payload = pickle.loads(receive.recv_bytes())
            except EOFError:
                raise RuntimeError(f"the {name} process (pid {pid}) ended without finishing its file") from None
            if kind == "item":
                yield payload
            elif kind == "error":
                finished = True
                raise payload
            else:  # "done"
                finished = True
                if stage_seconds is not None:
                    stage_seconds.update(payload)
                return
    finally:
        receive.close()
        if not finished:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def _child(make_items: Callable[[], Iterator[Any]], send: Any, stage_seconds: Counter[str] | None) -> NoReturn:
    status = 0
    try:
        before = Counter(stage_seconds or {})
        try:
            for item in make_items():
                send.send_bytes(pickle.dumps(("item", item), protocol=pickle.HIGHEST_PROTOCOL))
        except Exception as exc:  # noqa: BLE001 - handed to the parent, raised there
            try:
                message = pickle.dumps(("error", exc), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - an error that cannot travel: its text does
                message = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
            send.send_bytes(message)
        else:
            added = Counter(stage_seconds or {})
            added.subtract(before)
            send.send_bytes(pickle.dumps(("done", dict(added))))
    except BaseException:  # noqa: BLE001 - the parent has gone (broken pipe): nothing to tell
        status = 1
    finally:
        with contextlib.suppress(Exception):
            send.close()
        os._exit(status)  # no interpreter clean-up: it would close what belongs to the parent
