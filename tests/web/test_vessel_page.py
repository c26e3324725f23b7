"""The vessel page: identity history and timeline from the stored events, linked from alerts."""

from __future__ import annotations

import re
import shutil
from datetime import UTC
from pathlib import Path

from sqlalchemy import select

from engine.models.events import Event
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack
from engine.storage.db import session_scope
from engine.storage.tables import AlertRow
from engine.vessels.history import StoredHistory, VesselHistory

RULES = Path(__file__).resolve().parents[2] / "rules"
IMO = "9123453"


def seed(tmp_path: Path) -> None:
    from engine.storage import repository

    root = tmp_path / "rules"
    for part in ("dprk/arms", "dprk/history"):
        shutil.copytree(RULES / part, root / part)
    ev = Evaluator(load_pack(root), history=VesselHistory(StoredHistory()))
    raws = [
        {"event_id": "vp-voyage", "event_type": "shipment", "occurred_at": "2018-09-07T06:00:00Z",
         "source": "t", "shipment": {"mode": "sea",
         "vessel": {"name": "ANGARA", "imo": IMO, "flag": "RU", "owner": "Gudzon Shipping"},
         "origin": {"country": "KP", "name": "Najin"}, "destination": {"country": "RU", "name": "Dunay"},
         "goods": [{"hs_code": "930690", "description": "artillery ammunition"}]}},
        {"event_id": "vp-gap", "event_type": "vessel_movement", "occurred_at": "2019-01-05T00:00:00Z",
         "source": "t", "vessel_movement": {"kind": "ais_gap",
         "vessel": {"name": "ANGARA", "imo": IMO, "mmsi": "273123450", "flag": "RU"},
         "position": {"lat": 42.2, "lon": 130.4}}},
        {"event_id": "vp-call", "event_type": "vessel_movement", "occurred_at": "2019-06-01T08:00:00Z",
         "source": "t", "vessel_movement": {"kind": "port_call",
         "vessel": {"name": "SOLAR", "imo": IMO, "flag": "SL", "call_sign": "9LX12"},
         "port": {"country": "CN", "name": "Zhoushan"}}},
        {"event_id": "vp-other", "event_type": "vessel_movement", "occurred_at": "2019-06-01T08:00:00Z",
         "source": "t", "vessel_movement": {"kind": "port_call",
         "vessel": {"name": "ANGARA", "imo": "9135793"}, "port": {"country": "CN"}}},
    ]  # fmt: skip
    for raw in raws:  # one by one: each decision reads the ones stored before it
        events = [(raw, Event.model_validate(raw), repository.sha256_of(raw))]
        repository.store_events(events)
        decisions = ev.evaluate_many([events[0][1]])
        repository.save_decisions(
            decisions, {raw["event_id"]: events[0][1].occurred_at.astimezone(UTC)}
        )


def test_vessel_page_shows_identities_and_timeline_linked_from_the_alert(client, tmp_path):
    seed(tmp_path)
    with session_scope() as s:
        alert_id = s.scalar(
            select(AlertRow.id).where(
                AlertRow.event_id == "vp-call", AlertRow.rule_id == "UNSCR-2397-OP9-PORT"
            )
        )
    assert alert_id is not None
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert f'href="/vessels/IMO{IMO}"' in detail

    page = client.get(f"/vessels/IMO{IMO}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = re.findall(
        r"<tr>\s*<td>(\d{4}-\d{2}-\d{2})</td><td>(\d{4}-\d{2}-\d{2})</td>\s*<td>([^<]*)</td><td>([^<]*)</td>",
        html,
    )
    # identities in time order: ANGARA (RU) from the voyage to the gap, then SOLAR (SL)
    assert rows == [
        ("2018-09-07", "2019-01-05", "ANGARA", "RU"),
        ("2019-06-01", "2019-06-01", "SOLAR", "SL"),
    ]
    assert "Gudzon Shipping" in html and "9LX12" in html and "273123450" in html
    # timeline newest first; the other hull of the same name is not in it
    order = [
        m
        for m in re.findall(r"vp-[a-z]+", html)
        if m in ("vp-voyage", "vp-gap", "vp-call", "vp-other")
    ]
    assert list(dict.fromkeys(order)) == ["vp-call", "vp-gap", "vp-voyage"]
    assert "flagged DPRK" in html  # the voyage's decision
    assert f'href="/alerts/{alert_id}"' in html  # the call's open alert

    assert client.get("/vessels/IMO9999999").status_code == 404
    assert client.get("/vessels/nonsense").status_code == 404
    assert client.get(f"/vessels?q=IMO+{IMO}").headers["Location"].endswith(f"/vessels/IMO{IMO}")
