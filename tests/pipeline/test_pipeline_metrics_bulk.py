"""Bulk histogram writes (engine.pipeline.metrics.observe_many) give the same buckets, count and
sum as prometheus_client's own one-by-one observe."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import CollectorRegistry, Histogram

from engine.pipeline import metrics


def _samples(h: Histogram) -> dict[tuple[str, str], float]:
    out = {}
    for family in h.collect():
        for s in family.samples:
            if s.name.endswith("_created"):  # creation time, not an observation
                continue
            out[(s.name.rsplit("_", 1)[-1], s.labels.get("le", ""))] = s.value
    return out


@pytest.mark.parametrize(
    "values",
    [
        [0.0001, 0.003, 0.003, 0.2, 7.5, 7.5, 7.5, 1000.0, 0.0],
        [0.0004] * 100,
        [],
    ],
)
def test_observe_many_matches_observing_one_by_one(values: list[float]) -> None:
    registry = CollectorRegistry()
    name = f"perf_bulk_{uuid.uuid4().hex[:8]}"
    one = Histogram(f"{name}_one", "one by one", buckets=metrics.FAST_BUCKETS, registry=registry)
    bulk = Histogram(f"{name}_bulk", "bulk", buckets=metrics.FAST_BUCKETS, registry=registry)
    for v in values:
        one.observe(v)
    metrics.observe_many(bulk, values)
    expected, got = _samples(one), _samples(bulk)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key
    assert got[("count", "")] == len(values)
