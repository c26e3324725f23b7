"""The cyclic collector's thresholds in the long-lived processes: the pipeline's worker (its
pool processes, and its main process, where the sweeper and the journal's sequencer run), the
web workers (web/gunicorn_conf.py post_fork) and a period replay (its own process or workers).

Such a process holds many long-lived objects (compiled packs, screening indexes, the caps index,
parsed events waiting for their page) and allocates a great many short-lived ones per event.
With Python's default thresholds (700, 10, 10) the full collections re-walking the long-lived
ones took about 40% of a replay worker's CPU (bench/replay.py) and about as much of the live
path's (ingest and decide in one process: 462-508 -> 264-275 CPU-us/event); a web worker spent
0.10-0.12 ms CPU per batched event with the defaults, 0.064 with these (bench/throughput.py).
Reference counting frees almost everything an event allocates; the collector still runs, only
less often, and the pool's memory backstop (worker_max_memory_per_child) still replaces a
process that grows.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

GC_THRESHOLDS = (50_000, 50, 100)


def set_long_lived_thresholds() -> None:
    """For the life of a long-lived process (a pipeline pool or main process, a web worker, a
    replay worker)."""
    gc.set_threshold(*GC_THRESHOLDS)


_LOCK = threading.Lock()
_ACTIVE: list[tuple[int, ...]] = []  # the process's own thresholds, once per running replay


@contextmanager
def replay_thresholds() -> Iterator[None]:
    """The replay's thresholds for the duration of a replay, the process's own afterwards (with
    replays overlapping in threads: when the last one ends). Also a decorator: a fresh context
    for each call."""
    with _LOCK:
        _ACTIVE.append(_ACTIVE[0] if _ACTIVE else gc.get_threshold())
        gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        with _LOCK:
            own = _ACTIVE.pop()
            if not _ACTIVE:
                gc.set_threshold(*own)
