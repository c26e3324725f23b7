"""POST /api/v1/ais: raw AIS over HTTP is stored as a batch before it is queued, then derived
by the AIS worker's code into ordinary events."""

from __future__ import annotations

import base64
import json

from pipeline_support import redis_client

from engine.ais import batches
from engine.ais.process import Derivation, derive_batch
from engine.ais.queueing import AIS_QUEUE
from engine.ais.synthetic import scenario_lines
from engine.storage import repository


def _drop_queued(broker_url: str, batch_id: str) -> int:
    """Remove this test's ais_derive message from the (possibly shared) broker; how many."""
    client = redis_client(broker_url)
    mine = [
        item
        for item in client.lrange(AIS_QUEUE, 0, -1)
        if batch_id in base64.b64decode(json.loads(item)["body"]).decode()
    ]
    for item in mine:
        client.lrem(AIS_QUEUE, 0, item)
    return len(mine)


def test_post_ais_stores_queues_and_derives(api_client, broker_url: str) -> None:
    body = "\n".join(["garbage", *scenario_lines("gap")])
    resp = api_client.post("/api/v1/ais", data=body, headers={"Content-Type": "text/plain"})
    assert resp.status_code == 202, resp.get_json()
    out = resp.get_json()
    assert out["status"] == "accepted" and out["queued"] is True and out["lines"] == 139
    bid = out["batch_id"]
    try:
        row = batches.load_batch(bid)
        assert row is not None and row.channel == "http" and row.status == "received"
        assert row.body.split("\n")[0] == "garbage"  # stored as received, bad line included
        again = api_client.post("/api/v1/ais", data=body, headers={"Content-Type": "text/plain"})
        assert again.status_code == 202 and again.get_json()["status"] == "duplicate"
    finally:
        assert _drop_queued(broker_url, bid) == 1  # queued once, on ais
    summary = derive_batch(bid, Derivation(), publish=None)
    assert summary["problems"] == {"nmea_invalid": 1}
    assert summary["events"]["accepted"] == 1
    (event_id,) = summary["event_ids"]
    assert event_id.startswith("ais:ais_gap:511000333:")
    assert repository.event_with_decision(event_id) is not None


def test_post_ais_refuses_what_cannot_be_stored(api_client) -> None:
    assert api_client.post("/api/v1/ais", data=b"\xff\xfe!AIVDM").status_code == 400
    assert api_client.post("/api/v1/ais", data=b"  \n").status_code == 400
    too_many = "\n".join(["x"] * (batches.MAX_LINES + 1))
    assert api_client.post("/api/v1/ais", data=too_many).status_code == 413
