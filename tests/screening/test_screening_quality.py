"""Precision and recall floors over real list names (drawn from the real snapshots at test time)
under realistic variations, and look-alikes that must stay clear. bench/screening.py prints the
same figures."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from lists_support import parsed

from engine.screening.quality import build_probes, evaluate
from engine.screening.service import Screener

PRECISION_FLOOR = 0.95
RECALL_FLOOR = 0.93


@pytest.mark.parametrize("day", ["2020-11-30", "2026-05-08"])
def test_precision_and_recall_floors(day: str) -> None:
    p = parsed(day)
    s = Screener.from_entries(p.entries, p.sha256, p.date_generated)
    probes = build_probes(p.entries, n=400, seed=int(day[:4]))
    kinds = Counter(pr.variation for pr in probes)
    assert sum(1 for pr in probes if pr.reference) == 400
    assert sum(1 for pr in probes if pr.reference is None) >= 300  # look-alikes
    assert {"typo", "reorder", "suffix", "cyrillic", "variant", "case"} <= set(kinds)
    when = datetime(2030, 1, 1, tzinfo=UTC)
    quality, misses = evaluate(probes, lambda q: s.screen_name(q, when))
    assert quality.precision >= PRECISION_FLOOR, (quality, misses[:10])
    assert quality.recall >= RECALL_FLOOR, (quality, misses[:10])


def test_a_stricter_threshold_trades_recall_for_precision() -> None:
    from engine.screening.settings import ScreeningSettings

    p = parsed("2026-05-08")
    probes = build_probes(p.entries, n=300, seed=7)
    when = datetime(2030, 1, 1, tzinfo=UTC)
    results = {}
    for t in (0.80, 0.97):
        s = Screener.from_entries(
            p.entries,
            p.sha256,
            p.date_generated,
            settings=ScreeningSettings(SANCTIONS_SCREENING_THRESHOLD=t),
        )
        results[t], _ = evaluate(probes, lambda q, s=s: s.screen_name(q, when))
    assert results[0.97].recall < results[0.80].recall
    assert results[0.97].precision >= results[0.80].precision


def test_per_regime_threshold_override() -> None:
    from engine.screening.settings import ScreeningSettings

    p = parsed("2026-05-08")
    strict = ScreeningSettings(SANCTIONS_SCREENING_THRESHOLDS={"DPRK": 0.99})
    s = Screener.from_entries(p.entries, p.sha256, p.date_generated, settings=strict)
    when = datetime(2030, 1, 1, tzinfo=UTC)
    fuzzy = "Korea Minig Developmnet Trading Corp"
    assert s.screen_name(fuzzy, when) == []
    assert [h.reference for h in s.screen_name("KOMID", when)] == ["KPe.001"]  # exact still hits
    loose = Screener.from_entries(p.entries, p.sha256, p.date_generated)
    assert [h.reference for h in loose.screen_name(fuzzy, when)] == ["KPe.001"]
