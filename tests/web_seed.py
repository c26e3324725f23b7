"""Seed data for the web tests: event rows, then decisions and alerts written by the pipeline's own
``save_decisions``, so alerts look exactly like the worker's.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from engine.models.decisions import Citation, Decision, Evidence, Violation
from engine.models.validation import validate_event
from engine.storage.db import session_scope
from engine.storage.repository import save_decisions, sha256_of
from engine.storage.tables import AlertRow, EventRow

NAJIN_DUNAY = {
    "event_id": "tms-7:BL-0917",
    "event_type": "shipment",
    "occurred_at": "2023-09-07T06:00:00+09:00",
    "source": "tms-7",
    "shipment": {
        "reference": "BL-0917",
        "mode": "sea",
        "vessel": {"name": "ANGARA", "flag": "RU", "imo": "9179842"},
        "origin": {"country": "KP", "locode": "KPNJN", "name": "Najin"},
        "destination": {"country": "RU", "name": "Dunay"},
        "departure_date": "2023-09-07",
        "parties": [
            {
                "role": "consignor",
                "name": "Korea Mining Development Trading Corporation",
                "country": "KP",
            },
            {"role": "consignee", "name": "Dunay Logistics LLC", "country": "RU"},
        ],
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

DPRK_ARMS = Violation(
    rule_id="UNSCR-1718-OP8b",
    regime="DPRK",
    title="DPRK arms exports (heavy conventional arms and related materiel)",
    severity="critical",
    citations=[
        Citation(resolution="1718 (2006)", paragraph="8(b)"),
        Citation(resolution="1874 (2009)", paragraph="9"),
    ],
    evidence=[
        Evidence(path="shipment.origin.country", value="KP", note="origin in the DPRK"),
        Evidence(
            path="shipment.goods[0].hs_code",
            value="9306",
            note="HS chapter 93: arms and ammunition",
        ),
    ],
    reason="Munitions (HS 9306) shipped from Najin, DPRK, to Dunay, Russia: all States shall prohibit "
    "the procurement of arms and related materiel from the DPRK.",
    confidence="high",
)


def shipment(
    event_id: str,
    *,
    consignee: str = "Acme Trading",
    vessel: str = "SEA STAR",
    occurred_at: str = "2024-03-01T10:00:00+00:00",
    origin: tuple[str, str] = ("KP", "Najin"),
    destination: tuple[str, str] = ("RU", "Dunay"),
    consignor: str | None = None,
) -> dict[str, Any]:
    raw = copy.deepcopy(NAJIN_DUNAY)
    raw["event_id"] = event_id
    raw["occurred_at"] = occurred_at
    raw["shipment"]["vessel"] = {"name": vessel}
    raw["shipment"]["origin"] = {"country": origin[0], "name": origin[1]}
    raw["shipment"]["destination"] = {"country": destination[0], "name": destination[1]}
    raw["shipment"]["parties"][1]["name"] = consignee
    if consignor:
        raw["shipment"]["parties"][0].update(name=consignor, country=origin[0])
    return raw


def violation(
    rule_id: str = "UNSCR-1718-OP8b",
    *,
    regime: str = "DPRK",
    severity: str = "high",
    title: str | None = None,
    citations: list[tuple[str, str]] | None = None,
) -> Violation:
    v = DPRK_ARMS.model_copy(deep=True)
    v.rule_id, v.regime, v.severity = rule_id, regime, severity
    v.title = title or f"Measure {rule_id}"
    if citations:
        v.citations = [Citation(resolution=r, paragraph=p) for r, p in citations]
    return v


def store_event_row(raw: dict[str, Any]) -> tuple[Any, list[Any]]:
    """Validate ``raw`` and store it as a received event row, as the intake does; the event and
    its validation findings."""
    event, errors = validate_event(raw)
    assert event is not None, errors
    with session_scope() as s:
        s.add(
            EventRow(
                event_id=event.event_id,
                event_type=event.event_type.value,
                source=event.source,
                occurred_at=event.occurred_at.astimezone(UTC),
                received_at=datetime.now(UTC),
                sha256=sha256_of(raw),
                raw=raw,
                status="received",
            )
        )
    return event, errors


def store(
    raw: dict[str, Any],
    violations: list[Violation],
    *,
    origin: str = "live",
    created_at: datetime | None = None,
) -> list[int]:
    """Store an event row, then its flagged decision via the pipeline; return the new alert ids."""
    event, errors = store_event_row(raw)
    assert not errors, errors
    decision = Decision(
        event_id=event.event_id,
        status="flagged" if violations else "clear",
        violations=violations,
        rule_pack_version="test-pack-1",
        list_version="un-2024-01-01",
        engine_version="test",
        evaluated_at=datetime.now(UTC),
    )
    save_decisions([decision], {event.event_id: event.occurred_at.astimezone(UTC)})
    with session_scope() as s:
        ids = list(s.scalars(select(AlertRow.id).where(AlertRow.event_id == event.event_id)))
        values: dict[str, Any] = {}
        if origin != "live":
            values["origin"] = origin
        if created_at is not None:
            values.update(created_at=created_at, updated_at=created_at)
        if values:
            s.execute(update(AlertRow).where(AlertRow.id.in_(ids)).values(**values))
    return ids


def najin_dunay() -> int:
    """The Najin -> Dunay DPRK munitions shipment of September 2023 and its critical alert."""
    (alert_id,) = store(copy.deepcopy(NAJIN_DUNAY), [DPRK_ARMS])
    return alert_id
