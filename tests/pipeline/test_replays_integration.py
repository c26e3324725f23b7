"""A replay requested on the web page and run by a REAL worker process (`celery -A engine.pipeline.tasks
worker`, started by the pipeline tests' ``workers`` fixture) on the run's real broker and database,
for a Najin-Dunay-like shipment that went through the real pipeline (API -> queue -> worker)
with the 2026-05-08 UN list imported (so the decision carries screening hits too)."""

from __future__ import annotations

import copy
import re

import pytest
import web_seed
from lists_support import list_file
from pipeline_support import wait_for
from sqlalchemy import select
from test_pipeline_integration import evaluator_available, workers  # noqa: F401 - fixtures

from engine.lists.importer import import_list
from engine.storage.db import session_scope
from engine.storage.replay_tables import ReplayRow
from engine.storage.tables import AlertRow, DecisionRow

pytestmark = pytest.mark.integration


def _decision(event_id: str) -> DecisionRow | None:
    with session_scope() as s:
        return s.scalar(select(DecisionRow).where(DecisionRow.event_id == event_id))


def _replay(replay_id: int) -> ReplayRow:
    with session_scope() as s:
        return s.get(ReplayRow, replay_id)


def test_replay_requested_on_the_web_is_run_by_a_worker_and_identical(
    workers,  # noqa: F811 - the fixture imported above
    api_client,
    login_as,
) -> None:
    import_list(str(list_file("2026-05-08")), retro=False)
    proc = workers()
    raw = copy.deepcopy(web_seed.NAJIN_DUNAY)
    raw["event_id"] = "tms-7:BL-0917-replay"
    assert api_client.post("/api/v1/events", json=raw).status_code == 202
    decision = wait_for(lambda: _decision(raw["event_id"]), timeout=120)
    assert decision is not None, proc.log_path.read_text(errors="replace")[-4000:]
    assert decision.status == "flagged" and decision.rule_pack_version and decision.list_version
    rules = {v["rule_id"] for v in decision.violations}
    assert "UNSCR-1718-OP8b" in rules  # munitions out of the DPRK
    assert "UNSCR-1718-OP8d" in rules  # asset freeze: the consignor is KPe.001 (KOMID) on the list

    from web import create_app

    client = create_app({"TESTING": True}).test_client()
    login_as(client, "auditor")
    with session_scope() as s:
        alert_id = s.scalar(
            select(AlertRow.id).where(
                AlertRow.event_id == raw["event_id"], AlertRow.rule_id == "UNSCR-1718-OP8b"
            )
        )
    page = client.get(f"/alerts/{alert_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post(
        "/replays",
        data={"csrf_token": token, "event_id": raw["event_id"], "alert_id": str(alert_id)},
    )
    assert resp.status_code == 303
    with session_scope() as s:
        (replay_id,) = s.scalars(select(ReplayRow.id))

    finished = wait_for(lambda: _replay(replay_id).status in ("done", "failed"), timeout=120)
    row = _replay(replay_id)
    assert finished, (
        f"replay still {row.status}\n" + proc.log_path.read_text(errors="replace")[-4000:]
    )
    assert row.status == "done", row.error
    assert row.identical is True and row.diff == []
    assert row.rule_pack_version == decision.rule_pack_version
    assert row.list_version == decision.list_version
    assert {v["rule_id"] for v in row.replayed["violations"]} == rules
    assert row.requested_by == "auditor" and row.alert_id == alert_id

    html = client.get("/replays").text
    assert re.search(
        rf'<tr id="replay-{replay_id}">.*?replay-done.*?<b class="identical">yes</b>', html, re.S
    )
    assert proc.poll() is None
