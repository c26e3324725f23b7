"""The vessel_sightings index (engine/vessels/index.py): written with the events, what the
history rules read, and derived data that a rebuild restores to the same decisions."""

from __future__ import annotations

import shutil
from datetime import UTC
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import delete, func, select

from engine.models.events import Event
from engine.replay import ensure_pack_stored, replay
from engine.rules.evaluator import Evaluator
from engine.rules.loader import load_pack
from engine.vessels.history import StoredHistory, VesselHistory
from engine.vessels.tables import VesselSightingRow

RULES = Path(__file__).resolve().parents[2] / "rules"
IMO = "9123453"


def small_pack(tmp_path: Path):
    root = tmp_path / "rules"
    for part in ("dprk/arms", "dprk/history"):
        shutil.copytree(RULES / part, root / part)
    return load_pack(root)


def store(raws: list[dict]) -> list[Event]:
    from engine.storage import repository

    events = [(r, Event.model_validate(r), repository.sha256_of(r)) for r in raws]
    repository.store_events(events)
    return [e for _r, e, _h in events]


def store_and_decide(evaluator: Evaluator, raws: list[dict]) -> None:
    from engine.storage import repository

    events = store(raws)
    repository.save_decisions(
        evaluator.evaluate_many(events), {e.event_id: e.occurred_at.astimezone(UTC) for e in events}
    )


def arms_voyage(event_id: str, when: str) -> dict:
    return {
        "event_id": event_id, "event_type": "shipment", "occurred_at": when, "source": "t",
        "shipment": {"mode": "sea", "vessel": {"name": "ANGARA", "imo": IMO, "flag": "RU",
                                               "owner": "Angara Shipping LLC"},
                     "origin": {"country": "KP", "name": "Najin"},
                     "destination": {"country": "RU", "name": "Dunay"},
                     "goods": [{"hs_code": "930690", "description": "artillery ammunition"}]},
    }  # fmt: skip


def sts(event_id: str, when: str) -> dict:
    return {
        "event_id": event_id, "event_type": "vessel_movement", "occurred_at": when, "source": "t",
        "vessel_movement": {"kind": "ship_to_ship", "cargo_operation": "load",
                            "vessel": {"name": "ANGARA", "imo": IMO, "mmsi": "273123450"},
                            "counterpart_vessel": {"name": "SAM JONG 2", "flag": "KP",
                                                   "mmsi": "445123000"},
                            "position": {"lat": 38.5, "lon": 124.2},
                            "cargo": [{"hs_code": "2710", "description": "diesel"}]},
    }  # fmt: skip


def port_call(event_id: str, when: str, name: str = "ANGARA", flag: str = "RU") -> dict:
    return {
        "event_id": event_id, "event_type": "vessel_movement", "occurred_at": when, "source": "t",
        "vessel_movement": {"kind": "port_call", "vessel": {"name": name, "imo": IMO, "flag": flag},
                            "port": {"country": "CN", "name": "Zhoushan", "locode": "CNZOS"}},
    }  # fmt: skip


def index_rows() -> list[tuple]:
    from engine.storage.db import session_scope

    t = VesselSightingRow
    with session_scope() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(
                    t.event_id, t.seq, t.role, t.kind, t.imo, t.mmsi, t.name, t.flag, t.owner,
                    t.port_locode, t.other_name, t.other_flag,
                ).order_by(t.event_id, t.seq)
            )
        ]  # fmt: skip


def test_the_store_indexes_each_vessel_an_event_names(db):
    entity = {
        "event_id": "ix-entity", "event_type": "entity", "occurred_at": "2019-01-01T00:00:00Z",
        "source": "t", "entity": {"action": "onboard", "id": "c1", "kind": "organization",
                                  "name": "Acme"},
    }  # fmt: skip
    store([arms_voyage("ix-arms", "2018-09-07T06:00:00Z"), sts("ix-sts", "2019-01-02T00:00:00Z")])
    store([port_call("ix-call", "2019-06-01T08:00:00Z"), entity])
    store([port_call("ix-call", "2019-06-01T08:00:00Z")])  # a duplicate adds nothing
    assert index_rows() == [
        ("ix-arms", 0, "vessel", "shipment", IMO, None, "ANGARA", "RU", "Angara Shipping LLC",
         None, None, None),
        ("ix-call", 0, "vessel", "port_call", IMO, None, "ANGARA", "RU", None, "CNZOS", None, None),
        ("ix-sts", 0, "vessel", "ship_to_ship", IMO, "273123450", "ANGARA", None, None, None,
         "SAM JONG 2", "KP"),
        ("ix-sts", 1, "counterpart", "ship_to_ship", None, "445123000", "SAM JONG 2", "KP", None,
         None, "ANGARA", None),
    ]  # fmt: skip


def test_history_is_read_from_the_index_and_sees_all_of_an_events_vessels(db):
    """The look-up rebuilds each sighting whole from the index: the STS counterpart (found by
    the event, not by its own number), its position and cargo."""
    store([sts("ix-sts", "2019-01-02T00:00:00Z")])
    src = StoredHistory()
    call = Event.model_validate(port_call("ix-call", "2019-06-01T08:00:00Z"))
    found = src.sightings_naming([IMO], call.occurred_at.replace(year=2018), call.occurred_at, None)
    assert [(s.event_id, s.role) for s in found] == [
        ("ix-sts", "vessel"),
        ("ix-sts", "counterpart"),
    ]
    mine = found[0]
    assert (mine.other.name, mine.other.flag) == ("SAM JONG 2", "KP")
    assert (mine.position.lat, mine.position.lon) == (38.5, 124.2)
    assert mine.cargo == ("2710",) and mine.cargo_operation == "load"
    assert mine.received_from_other
    # a look-up by the counterpart's MMSI finds the same event
    by_mmsi = src.sightings_naming(["445123000"], found[0].occurred_at, found[0].occurred_at, None)
    assert [s.role for s in by_mmsi] == ["vessel", "counterpart"]


def test_drop_and_rebuild_the_index_gives_the_same_decisions(db, tmp_path):
    from engine.cli import main
    from engine.storage.db import get_engine, session_scope

    pack = small_pack(tmp_path)
    ensure_pack_stored(pack)
    ev = Evaluator(pack, history=VesselHistory(StoredHistory()))
    store_and_decide(ev, [arms_voyage("rb-arms", "2018-09-07T06:00:00+09:00")])
    store_and_decide(ev, [port_call("rb-call", "2019-06-01T08:00:00Z", "NEW NAME", "SL")])
    before = index_rows()
    later = Event.model_validate(port_call("rb-later", "2019-07-01T08:00:00Z"))

    def fresh() -> set[str]:
        d = Evaluator(pack, history=VesselHistory(StoredHistory())).evaluate(later)
        return {v.rule_id for v in d.violations}

    assert "UNSCR-2397-OP9-PORT" in fresh()
    with get_engine().begin() as conn:
        conn.execute(delete(VesselSightingRow.__table__))
    # without the index there is no history: the rule does not fire
    assert "UNSCR-2397-OP9-PORT" not in fresh()
    result = CliRunner().invoke(main, ["vessels", "reindex"])
    assert result.exit_code == 0, result.output
    assert "2 sightings from 2 stored events" in result.output
    assert index_rows() == before
    assert "UNSCR-2397-OP9-PORT" in fresh()
    for event_id in ("rb-arms", "rb-call"):
        replayed = replay(event_id, history=VesselHistory(StoredHistory()))
        assert replayed.identical, replayed.diff
    assert replay("rb-call", history=VesselHistory(StoredHistory())).replayed.status == "flagged"
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(VesselSightingRow)) == 2


def test_a_batch_reads_the_same_history_as_one_event_at_a_time(db, tmp_path):
    """evaluate_many reads the batch's vessels in one query (VesselHistory.prepare); the
    decisions equal those of evaluating each event alone."""
    pack = small_pack(tmp_path)
    ensure_pack_stored(pack)
    ev = Evaluator(pack, history=VesselHistory(StoredHistory()))
    store_and_decide(
        ev, [arms_voyage("bt-arms", "2018-09-07T06:00:00Z"), sts("bt-sts", "2019-01-02T00:00:00Z")]
    )
    calls = [
        Event.model_validate(port_call("bt-call-1", "2019-06-01T08:00:00Z", "NEW NAME", "SL")),
        Event.model_validate(port_call("bt-call-0", "2018-01-01T08:00:00Z")),  # before all
        Event.model_validate({**port_call("bt-call-2", "2019-06-02T08:00:00Z"),
                              "vessel_movement": {"kind": "port_call",
                                                  "vessel": {"mmsi": "273123450"},
                                                  "port": {"country": "CN"}}}),
    ]  # fmt: skip
    batch = Evaluator(pack, history=VesselHistory(StoredHistory())).evaluate_many(calls)
    alone = [Evaluator(pack, history=VesselHistory(StoredHistory())).evaluate(e) for e in calls]

    def shown(d):
        return d.status, [
            (v.rule_id, [(e.path, e.value) for e in v.evidence]) for v in d.violations
        ]

    assert [shown(d) for d in batch] == [shown(d) for d in alone]
    # the MMSI-only call reaches the STS sighting (same MMSI), not the IMO-only flagged voyage
    assert [d.status for d in batch] == ["flagged", "clear", "clear"]


def test_a_designated_manager_reported_earlier_flags_the_call_and_replays(db, tmp_path):
    """owner_designated against the real 2017-07-03 list: the manager an earlier event reported
    is OMM (KPe.020); the later call fires UNSCR-2270-OP22-OWNER naming that event, and
    its replay against the pinned list snapshot is identical after a later clean report."""
    from lists_support import parsed

    from engine.screening.service import Screener

    p = parsed("2017-07-03")
    screener = Screener.from_entries(p.entries, p.sha256, p.date_generated)
    pack = small_pack(tmp_path)
    ensure_pack_stored(pack)
    history = VesselHistory(StoredHistory())
    ev = Evaluator(pack, screener=screener, history=history)
    earlier = port_call("ow-earlier", "2018-11-02T00:00:00Z")
    earlier["vessel_movement"]["vessel"]["manager"] = "Ocean Maritime Management Company, Ltd"
    clean = port_call("ow-clean", "2018-12-01T00:00:00Z")
    clean["vessel_movement"]["vessel"]["owner"] = "Longkou Harbour Shipping Co"
    store_and_decide(ev, [earlier, clean])
    store_and_decide(ev, [port_call("ow-call", "2019-06-01T08:00:00Z")])

    from engine.storage.db import session_scope
    from engine.storage.tables import DecisionRow

    with session_scope() as s:
        row = s.scalar(select(DecisionRow).where(DecisionRow.event_id == "ow-call"))
        assert row is not None
        violations = {v["rule_id"]: v for v in row.violations}
    owner = violations["UNSCR-2270-OP22-OWNER"]
    relied = [
        (e["value"], e["note"]) for e in owner["evidence"] if e["path"].startswith("history.")
    ]
    assert [r[0] for r in relied] == ["ow-earlier"]
    assert "KPe.020" in relied[0][1] and "manager Ocean Maritime" in relied[0][1]
    # a later report under a clean manager changes nothing in the replay
    later = port_call("ow-later", "2019-05-01T00:00:00Z")
    later["vessel_movement"]["vessel"]["manager"] = "Longkou Harbour Shipping Co"
    store_and_decide(ev, [later])
    result = replay("ow-call", screener=screener, history=VesselHistory(StoredHistory()))
    assert result.identical, result.diff
    # the same call of another hull with no such report is clear
    other = Event.model_validate(
        {**port_call("ow-other", "2019-06-01T08:00:00Z"),
         "vessel_movement": {"kind": "port_call",
                             "vessel": {"name": "ANGARA", "imo": "9135793", "flag": "RU"},
                             "port": {"country": "CN"}}}
    )  # fmt: skip
    assert ev.evaluate(other).status == "clear"
