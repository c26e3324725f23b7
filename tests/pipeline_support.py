"""Event factories and helpers shared by the pipeline tests (tests/test_pipeline_*.py)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import redis

QUEUE = "sanctions"


def flagged_event(event_id: str) -> dict[str, Any]:
    """Arms (HS 9306) shipped out of the DPRK: UNSCR 1718 / 1874 arms embargo (issue example)."""
    return {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": "2023-09-07T06:00:00+09:00",
        "source": "tms-test",
        "shipment": {
            "mode": "sea",
            "vessel": {"name": "ANGARA", "flag": "RU"},
            "origin": {"country": "KP", "name": "Najin"},
            "destination": {"country": "RU", "name": "Dunay"},
            "goods": [
                {
                    "hs_code": "9306",
                    "description": "artillery ammunition",
                    "quantity": 1000,
                    "unit": "container",
                }
            ],
        },
    }


def clear_event(event_id: str) -> dict[str, Any]:
    """Laptops from Japan to the United States: no UN measure applies."""
    return {
        "event_id": event_id,
        "event_type": "shipment",
        "occurred_at": "2025-01-15T12:00:00+00:00",
        "source": "erp-test",
        "shipment": {
            "mode": "sea",
            "origin": {"country": "JP", "locode": "JPYOK", "name": "Yokohama"},
            "destination": {"country": "US", "locode": "USLGB", "name": "Long Beach"},
            "goods": [
                {
                    "hs_code": "847130",
                    "description": "laptop computers",
                    "quantity": 200,
                    "unit": "pcs",
                }
            ],
        },
    }


def mixed_events(prefix: str, n: int, flag_every: int = 10) -> list[dict[str, Any]]:
    return [
        flagged_event(f"{prefix}-{i}") if i % flag_every == 0 else clear_event(f"{prefix}-{i}")
        for i in range(n)
    ]


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url.replace("redis+socket://", "unix://"))


def queued_event_ids(client: redis.Redis, queue: str = QUEUE) -> list[str]:
    """The event_ids carried by the evaluate_events tasks waiting on the queue (not consumed)."""
    out: list[str] = []
    for item in client.lrange(queue, 0, -1):
        message = json.loads(item)
        if message.get("headers", {}).get("task") != "sanctions.evaluate_events":
            continue
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        out.extend(args[0])
    return out


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> Any:
    """Poll until ``predicate()`` is truthy; return its value, or the last one at timeout."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value
