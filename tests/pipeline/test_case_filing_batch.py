"""Case filing of a whole batch at once: events are filed in occurrence order, so a later event
of the batch joins the case an earlier one opened; and two workers filing a new key at the same
instant open one case between them, losing no occurrence."""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from web_seed import NAJIN_DUNAY, store_event_row, violation

from engine.alerts import alert_rows, open_alerts
from engine.cases.tables import CaseAlertRow, CaseEventRow, CaseRow
from engine.models.decisions import Decision
from engine.storage.db import get_engine, session_scope
from engine.storage.repository import save_decisions
from engine.storage.tables import AlertRow


def _raw(event_id: str, imo: str, hour: int) -> dict[str, Any]:
    raw = copy.deepcopy(NAJIN_DUNAY)
    raw["event_id"] = event_id
    raw["occurred_at"] = f"2025-03-01T{hour:02d}:00:00+00:00"
    raw["shipment"]["vessel"] = {"name": "SHIP " + event_id, "imo": imo}
    return raw


def _store_event(raw: dict[str, Any]) -> datetime:
    event, _findings = store_event_row(raw)
    return event.occurred_at.astimezone(UTC)


def _flagged(event_id: str, severity: str = "high") -> Decision:
    return Decision(
        event_id=event_id,
        status="flagged",
        violations=[violation("A", severity=severity)],
        rule_pack_version="test-pack-1",
        engine_version="test",
        evaluated_at=datetime.now(UTC),
    )


def _case_of(event_id: str) -> int:
    with session_scope() as s:
        case_id = s.scalar(
            select(CaseAlertRow.case_id)
            .join(AlertRow, AlertRow.id == CaseAlertRow.alert_id)
            .where(AlertRow.event_id == event_id)
        )
    assert case_id is not None
    return case_id


def _events(case_id: int) -> list[tuple[str, str, str | None]]:
    with session_scope() as s:
        rows = s.scalars(
            select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id)
        )
        return [(r.event_id, r.role, r.joined_by) for r in rows]


def test_one_batch_files_in_occurrence_order_and_joins_open_cases(db: None) -> None:
    before = _raw("z-0", "9000003", 6)
    save_decisions([_flagged("z-0")], {"z-0": _store_event(before)})
    old_case = _case_of("z-0")
    raws = [
        _raw("b-2", "9179842", 10),  # listed first, occurred after b-1
        _raw("b-1", "9179842", 8),
        _raw("b-3", "9000001", 9),
        _raw("b-4", "9000001", 11),
        _raw("b-5", "9000003", 7),
    ]
    occurred = {r["event_id"]: _store_event(r) for r in raws}
    severities = {"b-4": "critical"}
    decisions = [_flagged(r["event_id"], severities.get(r["event_id"], "high")) for r in raws]
    save_decisions(decisions, occurred)

    first, second = _case_of("b-1"), _case_of("b-3")
    assert _case_of("b-2") == first and _case_of("b-4") == second
    assert len({first, second, old_case}) == 3
    assert _case_of("b-5") == old_case
    assert _events(first) == [("b-1", "first", None), ("b-2", "occurrence", "imo:9179842")]
    assert _events(second) == [("b-3", "first", None), ("b-4", "occurrence", "imo:9000001")]
    assert _events(old_case) == [("z-0", "first", None), ("b-5", "occurrence", "imo:9000003")]
    with session_scope() as s:
        assert s.scalar(select(CaseRow.severity).where(CaseRow.id == second)) == "critical"
        last = s.scalar(select(CaseRow.last_occurred_at).where(CaseRow.id == first))
        assert last is not None and last.replace(tzinfo=UTC) == datetime(2025, 3, 1, 10, tzinfo=UTC)
        assert s.scalar(select(CaseRow.id).order_by(CaseRow.id.desc()).limit(1)) == max(
            first, second
        )


def _alerts_of(event_id: str, occurred: datetime) -> list[dict[str, Any]]:
    v = violation("A").model_dump(mode="json")
    return alert_rows(event_id, [v], occurred_at=occurred, origin="live", now=datetime.now(UTC))


def _waiting_on_a_lock() -> bool:
    with get_engine().connect() as conn:
        if conn.dialect.name != "postgresql":
            return True  # SQLite: the second writer waits for the first's commit anyway
        return bool(
            conn.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))  # any waiter
        )


def test_two_workers_filing_a_new_key_at_once_open_one_case(db: None) -> None:
    at_a = _store_event(_raw("w-a", "9179842", 8))
    at_b = _store_event(_raw("w-b", "9179842", 9))
    errors: list[BaseException] = []
    with get_engine().connect() as a:
        tx = a.begin()
        open_alerts(a, _alerts_of("w-a", at_a))  # A's new case, not committed yet

        def worker_b() -> None:
            try:
                with get_engine().connect() as b, b.begin():
                    open_alerts(b, _alerts_of("w-b", at_b))
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        thread = threading.Thread(target=worker_b)
        thread.start()
        deadline = time.monotonic() + 20
        while not _waiting_on_a_lock() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # let B reach its wait (SQLite cannot be asked)
        tx.commit()
    thread.join(60)
    assert not thread.is_alive() and not errors, errors
    case_id = _case_of("w-a")
    assert _case_of("w-b") == case_id
    assert _events(case_id) == [("w-a", "first", None), ("w-b", "occurrence", "imo:9179842")]
