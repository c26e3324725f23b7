"""Set-up shared by the tests that screen against imported list snapshots (replays, allowlist,
retro-screening): small list files in the official layout, their import, and deciding a stored
event as the worker does with a given evaluator. The ``fresh_screening`` fixture is in
tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def list_xml(generated: str, entities: Iterable[tuple[int, str, str, str, str]]) -> bytes:
    """A consolidated list with DPRK entities (dataid, reference, name, listed_on, comment)."""
    rows = "".join(
        f"<ENTITY><DATAID>{dataid}</DATAID><VERSIONNUM>1</VERSIONNUM><FIRST_NAME>{name}</FIRST_NAME>"
        f"<UN_LIST_TYPE>DPRK</UN_LIST_TYPE><REFERENCE_NUMBER>{ref}</REFERENCE_NUMBER>"
        f"<LISTED_ON>{listed}</LISTED_ON><COMMENTS1>{comment}</COMMENTS1>"
        f"<LIST_TYPE><VALUE>UN List</VALUE></LIST_TYPE></ENTITY>"
        for dataid, ref, name, listed, comment in entities
    )
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><CONSOLIDATED_LIST dateGenerated='{generated}'>"
        f"<INDIVIDUALS></INDIVIDUALS><ENTITIES>{rows}</ENTITIES></CONSOLIDATED_LIST>"
    ).encode()


def import_xml(tmp_path: Path, name: str, data: bytes, retro: bool = False) -> Any:
    """Write the list file and import it (the importer's result)."""
    from engine.lists.importer import import_list

    path = tmp_path / name
    path.write_bytes(data)
    return import_list(str(path), retro=retro)


def decide_with(raw: dict[str, Any], evaluator: Any) -> None:
    """Store and decide as the worker does, with this evaluator."""
    import engine.pipeline.decide as decide_module
    from engine.pipeline.ingest import ingest_batch
    from engine.replay import ensure_pack_stored

    ensure_pack_stored(evaluator.pack)
    assert ingest_batch([raw], channel="cli")[0].accepted
    previous, decide_module._evaluator = decide_module._evaluator, evaluator
    try:
        assert decide_module.decide_stored([raw["event_id"]]) == [raw["event_id"]]
    finally:
        decide_module._evaluator = previous


def store_decided(raw: dict[str, Any]) -> None:
    """A stored event row as the pipeline writes it (validated, raw JSON kept), marked decided:
    what retro-screening reads."""
    from engine.models.events import Event
    from engine.storage.db import get_engine
    from engine.storage.repository import EVENTS, sha256_of

    event = Event.model_validate(raw)
    with get_engine().begin() as conn:
        conn.execute(
            EVENTS.insert().values(
                event_id=raw["event_id"],
                event_type=raw["event_type"],
                source=raw["source"],
                contract_version="1",
                occurred_at=event.occurred_at,
                received_at=datetime.now(UTC),
                sha256=sha256_of(raw),
                raw=raw,
                status="decided",
            )
        )
