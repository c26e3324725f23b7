"""Party, vessel and entity screening against UN list snapshots and the designated-vessel register.

``engine.screening.default_screener()`` is what the evaluator looks up (see
engine.rules.evaluator.default_evaluator); the implementation is engine.screening.service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.screening.service import Screener


def default_screener() -> Screener:
    from engine.screening.service import default_screener as build

    return build()
