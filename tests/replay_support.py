"""Stored, live-decided events for period replays: ingested and decided by the pipeline's own
functions (no broker needed: decide_stored is what the worker task calls)."""

from __future__ import annotations

import json
import random
import uuid
from typing import Any

from engine.config import PROJECT_ROOT

# a designated entity of the test lists below, and a shipment to a consignee that is its name
# written differently (the same party record every time: only the pinned snapshot differs)
ACME = "ACME OCEAN TRADING CORPORATION"


def un_list_xml(generated: str, entities: list[tuple[str, str, str]]) -> bytes:
    """A UN Consolidated List document of ``entities`` (name, reference number, listed on),
    generated at ``generated``, in the list's own XML form."""
    rows = "".join(
        f"<ENTITY><DATAID>9{ref[-3:]}</DATAID><VERSIONNUM>1</VERSIONNUM>"
        f"<FIRST_NAME>{name}</FIRST_NAME><UN_LIST_TYPE>DPRK</UN_LIST_TYPE>"
        f"<REFERENCE_NUMBER>{ref}</REFERENCE_NUMBER><LISTED_ON>{listed}</LISTED_ON>"
        "<COMMENTS1></COMMENTS1><LIST_TYPE><VALUE>UN List</VALUE></LIST_TYPE></ENTITY>"
        for name, ref, listed in entities
    )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><CONSOLIDATED_LIST dateGenerated="
        f"'{generated}'><INDIVIDUALS></INDIVIDUALS><ENTITIES>{rows}</ENTITIES>"
        "</CONSOLIDATED_LIST>"
    ).encode()


def acme_shipment(event_id: str, day: int) -> dict[str, Any]:
    return {
        "event_id": event_id, "event_type": "shipment", "source": "tms-7",
        "occurred_at": f"2024-06-{day:02d}T09:00:00Z",
        "shipment": {"mode": "sea", "origin": {"country": "SG"}, "destination": {"country": "AE"},
                     "goods": [{"hs_code": "847130", "description": "laptops", "quantity": 10,
                                "unit": "pcs"}],
                     "parties": [{"role": "consignee", "name": "Acme Ocean Trading Corp.",
                                  "country": "AE"}]},
    }  # fmt: skip


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
        ingest_batch(chunk, channel="cli", publish=lambda _ids: False)  # decided here, not queued
        ids += decide_stored([e["event_id"] for e in chunk])
    return ids
