"""Publish-after-commit retries: stored events whose publish failed are re-published as soon as
the broker answers again, instead of waiting for the sweeper's grace period.

Ingest commits an event before publishing it. When the publish fails (broker down), the ids go
into this process's outbox; a daemon thread retries every ``interval`` seconds (backing off to
``max_interval``) and empties it once the broker is back, typically a second after it returns.
The outbox is in memory and bounded: if this process dies or the outbox is full, the sweeper
(engine.pipeline.sweeper, which re-queues every stored event still undecided after its grace period) is
the backstop, so nothing is lost either way. Re-publishing an event that was queued after all
is harmless: deciding is idempotent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

log = logging.getLogger(__name__)

LIMIT = 200_000  # ids held at most; beyond that the sweeper takes over


class Outbox:
    def __init__(self, interval: float = 1.0, max_interval: float = 5.0, limit: int = LIMIT):
        self.interval = interval
        self.max_interval = max_interval
        self.limit = limit
        self._pending: dict[str | None, list[str]] = {}  # broker URL (None: configured) -> ids
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def __len__(self) -> int:
        with self._lock:
            return sum(len(ids) for ids in self._pending.values())

    def add(self, event_ids: Sequence[str], broker: str | None = None) -> None:
        with self._lock:
            held = sum(len(ids) for ids in self._pending.values())
            room = max(0, self.limit - held)
            if room < len(event_ids):
                log.warning(
                    "outbox full: %d stored events left to the sweeper", len(event_ids) - room
                )
            if room:
                self._pending.setdefault(broker, []).extend(event_ids[:room])
            self._ensure_thread()

    def flush(self) -> int:
        """Try to publish everything held now; return how many were published."""
        from engine.pipeline.publish import enqueue_event_ids

        with self._lock:
            pending, self._pending = self._pending, {}
        published = 0
        failed: dict[str | None, list[str]] = {}
        for broker, ids in pending.items():
            if enqueue_event_ids(ids, broker=broker, quiet=True):
                published += len(ids)
            else:
                failed[broker] = ids
        if failed:
            with self._lock:
                for broker, ids in failed.items():
                    self._pending.setdefault(broker, [])[:0] = ids
        if published:
            log.warning("outbox published %d stored events after a broker outage", published)
        return published

    def _ensure_thread(self) -> None:  # under self._lock
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="sanctions-outbox", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        delay = self.interval
        while True:
            self._wake.wait(delay)
            self._wake.clear()
            if not len(self):
                delay = self.interval
                continue
            try:
                self.flush()
            except Exception:
                log.exception("outbox flush failed")
            delay = self.interval if not len(self) else min(self.max_interval, delay * 2)


_outbox = Outbox()


def outbox() -> Outbox:
    """This process's outbox."""
    return _outbox
