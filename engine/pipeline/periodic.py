"""One daemon thread per process that runs a few steps every ``interval`` seconds.

The sweeper (re-queueing, journal sequencing, SLA breaches) and the notification dispatcher both
run this way inside each worker's main process. A failing step is logged and tried again next
round: it never ends the thread, and it never stops the steps after it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)


class Periodic:
    def __init__(self, name: str, steps: Sequence[tuple[str, Callable[[], object]]]) -> None:
        self.name = name
        self.steps = steps  # (what, step): ``what`` names the step in the log
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self, interval: float) -> threading.Thread | None:
        """Start the thread unless it runs already (or ``interval`` <= 0 turns it off)."""
        if interval <= 0 or (self._thread is not None and self._thread.is_alive()):
            return self._thread
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                for what, step in self.steps:
                    try:
                        step()
                    except Exception:
                        log.exception("%s failed; retrying in %.1f s", what, interval)

        self._thread = threading.Thread(target=loop, name=self.name, daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        self._stop.set()
