"""The cyclic collector's thresholds while a period replay runs (its own process or its workers).

A replay process holds many long-lived objects (compiled packs, the caps index, parsed events
waiting for their page) and allocates a great many short-lived ones per event. With Python's
default thresholds (700, 10, 10) the full collections re-walking the long-lived ones took about
40% of a replay worker's CPU (bench/replay.py). Reference counting frees almost everything a
replay allocates; the collector still runs, only less often.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

REPLAY_GC = (50_000, 50, 100)


def set_replay_thresholds() -> None:
    """For a process that only replays (a worker of engine.replay_parallel)."""
    gc.set_threshold(*REPLAY_GC)


_LOCK = threading.Lock()
_ACTIVE: list[tuple[int, ...]] = []  # the process's own thresholds, once per running replay


@contextmanager
def replay_thresholds() -> Iterator[None]:
    """The replay's thresholds for the duration of a replay, the process's own afterwards (with
    replays overlapping in threads: when the last one ends)."""
    with _LOCK:
        _ACTIVE.append(_ACTIVE[0] if _ACTIVE else gc.get_threshold())
        gc.set_threshold(*REPLAY_GC)
    try:
        yield
    finally:
        with _LOCK:
            own = _ACTIVE.pop()
            if not _ACTIVE:
                gc.set_threshold(*own)
