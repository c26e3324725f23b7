"""Stored, live-decided events for period replays: ingested and decided by the pipeline's own
functions (no broker needed: decide_stored is what the worker task calls)."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from engine.config import PROJECT_ROOT

COUNTRIES = ["JP", "US", "DE", "FR", "SG", "AE", "CN", "BR", "IN", "NL"]
ORDINARY = ["847130", "870323", "300490", "610910"]
# (origin, destination, hs_code, description, unit): the sanctioned trade among the events
SANCTIONED = [
    ("KP", "RU", "9306", "artillery ammunition", "container"),
    ("KP", "CN", "7108", "gold, unwrought", "kg"),
    ("IR", "SY", "9301", "military weapons", "pcs"),
    ("RU", "KP", "2710", "refined petroleum products", "bbl"),
    ("CN", "KP", "8703", "motor cars", "pcs"),
]


def demo_events() -> list[dict[str, Any]]:
    return list(json.loads((PROJECT_ROOT / "demo" / "events.json").read_text()))


def generated_events(n: int, seed: int = 15) -> list[dict[str, Any]]:
    """Shipments over 2024, as bench/throughput.py mixes them: one in ten sanctioned trade
    (arms, gold, luxury goods, petroleum against the DPRK cap...), the rest ordinary."""
    rnd = random.Random(seed)
    run = uuid.uuid4().hex[:8]
    out = []
    for i in range(n):
        if i % 10 == 0:
            a, b, hs, desc, unit = SANCTIONED[(i // 10) % len(SANCTIONED)]
        else:
            a, b = rnd.sample(COUNTRIES, 2)
            hs, desc, unit = rnd.choice(ORDINARY), "general cargo", "pcs"
        out.append(
            {
                "event_id": f"gen-{run}-{i}",
                "event_type": "shipment",
                "occurred_at": f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}T"
                f"{rnd.randint(0, 23):02d}:00:00Z",
                "source": "replay-test",
                "shipment": {
                    "mode": "sea",
                    "origin": {"country": a},
                    "destination": {"country": b},
                    "goods": [
                        {
                            "hs_code": hs,
                            "description": desc,
                            "quantity": rnd.randint(1, 500),
                            "unit": unit,
                        }
                    ],
                },
            }
        )
    return out


def ingest_and_decide(events: list[dict[str, Any]], batch: int = 500) -> list[str]:
    from engine.pipeline.decide import decide_stored, get_evaluator
    from engine.pipeline.ingest import ingest_batch
    from engine.replay import ensure_pack_stored

    # the worker stores its pack once per process; tests empty the tables in between
    ensure_pack_stored(get_evaluator().pack)

    ids: list[str] = []
    for i in range(0, len(events), batch):
        chunk = events[i : i + batch]
        ingest_batch(chunk, channel="cli", publish=lambda _ids: None)
        ids += decide_stored([e["event_id"] for e in chunk])
    return ids
